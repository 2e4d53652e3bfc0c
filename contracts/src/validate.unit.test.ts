import t, { type Test } from 'tap';
import { upcast } from './catalogue.js';
import { checkSubmission, unstorableTextErrors } from './validate.js';

type Json = Record<string, unknown>;

function envelope(type: string, schemaVersion: number, data: Json, over: Json = {}): Json {
  return {
    eventId: '3f1c9a52-8d0e-4c1b-9a53-0c2b8e6f7a10',
    type,
    schemaVersion,
    occurredAt: '2026-02-10T10:00:00Z',
    programmeId: 'mentoring-test',
    participantRef: 'P-000123',
    data,
    ...over,
  };
}
const session = (data: Json = {}, over: Json = {}) =>
  envelope(
    'SessionAttended',
    2,
    {
      sessionId: 'S-1',
      sessionDate: '2026-02-01',
      durationMinutes: 60,
      sessionType: 'one-to-one',
      deliveredBy: 'staff',
      ...data,
    },
    over,
  );
const measure = (data: Json) =>
  envelope('OutcomeMeasured', 2, {
    instrument: 'swemwbs',
    timepoint: 'baseline',
    measuredOn: '2026-02-01',
    score: 20,
    ...data,
  });
const referral = (data: Json) =>
  envelope('ParticipantReferred', 1, {
    referralDate: '2026-01-10',
    referralSource: 'school',
    gender: 'male',
    ethnicity: 'white-british',
    postcodeDistrict: 'DE23',
    riskFactors: [],
    ...data,
  });

/** The errors of a refused submission as [field, rule] pairs; fails the test if it was accepted. */
function errorsOf(t: Test, body: unknown): [string, string][] {
  const check = checkSubmission(body);
  if (check.ok) {
    t.fail('expected the submission to be refused');
    return [];
  }
  return check.errors.map((e) => [e.field, e.rule]);
}

t.test('When a submission matches the catalogue', async (t) => {
  t.test('should accept it as its type and version', async (t) => {
    const check = checkSubmission(session());
    t.equal(check.ok, true);
    if (check.ok) t.same([check.definition.type, check.submission.schemaVersion], ['SessionAttended', 2]);
  });
  t.test('should still accept a superseded version', async (t) => {
    const v1 = envelope('SessionAttended', 1, {
      sessionId: 'S-1',
      sessionDate: '2026-02-01',
      durationMinutes: 60,
      sessionType: 'group',
    });
    t.equal(checkSubmission(v1).ok, true);
  });
});

t.test('When a submission does not match the catalogue', async (t) => {
  t.test('should refuse a body that is not an object', async (t) => {
    t.same(errorsOf(t, [session()]), [['/', 'type']]);
    t.same(errorsOf(t, null), [['/', 'type']]);
  });
  t.test('should refuse an unknown or missing type', async (t) => {
    t.same(errorsOf(t, session({}, { type: 'ParticipantAbducted' })), [['/type', 'enum']]);
    t.same(
      errorsOf(t, session({}, { type: 'toString' })),
      [['/type', 'enum']],
      'an inherited property name is not a type',
    );
    const { type: _t, ...untyped } = session();
    t.same(errorsOf(t, untyped), [['/type', 'required']]);
  });
  t.test('should refuse an unsupported schemaVersion', async (t) => {
    t.same(errorsOf(t, session({}, { schemaVersion: 3 })), [['/schemaVersion', 'supported-version']]);
    t.same(errorsOf(t, session({}, { schemaVersion: '2' })), [['/schemaVersion', 'supported-version']]);
  });
  t.test(
    'should refuse text PostgreSQL cannot store: NUL and unpaired surrogates (found by the fuzz test as 500s)',
    async (t) => {
      // A correction's reason is still free text (sealed when stored).
      const correction = (reason: string) => ({
        eventId: '3f1c9a52-8d0e-4c1b-9a53-0c2b8e6f7a10',
        type: 'SpendCorrected',
        schemaVersion: 1,
        occurredAt: '2026-10-01T10:00:00Z',
        grantRef: 'G-1',
        data: { correctsEventId: '3f1c9a52-8d0e-4c1b-9a53-0c2b8e6f7a11', amountPence: 100, category: 'staff', reason },
      });
      for (const text of ['INV\u0000', 'INV\ud800', '\udc00INV', 'INV\udfff\ud800']) {
        t.same(errorsOf(t, correction(text)), [['/data/reason', 'unsupported-character']], JSON.stringify(text));
      }
      t.equal(
        checkSubmission(correction('INV 🧨 \u202e\u0001')).ok,
        true,
        'a surrogate pair, bidi and other control characters are stored as they are',
      );
    },
  );
  t.test('should name a missing field', async (t) => {
    const { sessionDate: _d, ...data } = session().data as Json;
    t.same(errorsOf(t, session({}, { data })), [['/data/sessionDate', 'required']]);
  });
  t.test('should name an unknown property, in data or the envelope', async (t) => {
    t.same(errorsOf(t, session({ participantName: 'Jo' })), [['/data/participantName', 'unknown-property']]);
    t.same(errorsOf(t, session({}, { note: 'x' })), [['/note', 'unknown-property']]);
  });
  t.test('should refuse a value outside an enum', async (t) => {
    t.same(errorsOf(t, session({ sessionType: 'lecture' })), [['/data/sessionType', 'enum']]);
  });
  t.test('should refuse a date that is not on the calendar', async (t) => {
    t.same(errorsOf(t, session({ sessionDate: '2026-02-30' })), [['/data/sessionDate', 'string-format']]);
    t.same(errorsOf(t, session({ sessionDate: '01/02/2026' })), [['/data/sessionDate', 'string-format']]);
    t.same(
      errorsOf(t, session({}, { occurredAt: '2026-02-10T10:00:00' })),
      [['/occurredAt', 'string-format']],
      'a time without a zone',
    );
  });
  t.test('should refuse a score outside the instrument range', async (t) => {
    t.same(errorsOf(t, measure({ score: 36 })), [['/data/score', 'instrument-range']]);
    t.same(errorsOf(t, measure({ score: 6.5 })), [['/data/score', 'instrument-range']]);
    t.equal(checkSubmission(measure({ score: 35 })).ok, true, 'the top of the range is allowed');
  });
  t.test('should refuse a custom instrument without its range', async (t) => {
    t.same(errorsOf(t, measure({ instrument: 'custom', scale: 'resilience' })), [['/data/customRange', 'required']]);
    t.same(
      errorsOf(
        t,
        measure({
          instrument: 'custom',
          scale: 'resilience',
          customRange: { min: 0, max: 10, higherIsBetter: true },
          score: 11,
        }),
      ),
      [['/data/score', 'instrument-range']],
    );
    t.equal(
      checkSubmission(
        measure({
          instrument: 'custom',
          scale: 'resilience',
          customRange: { min: 0, max: 100, higherIsBetter: true },
          score: 80,
        }),
      ).ok,
      true,
    );
  });
  t.test('should require an age or a birth month on a referral', async (t) => {
    t.same(errorsOf(t, referral({})), [['/data/ageAtReferral', 'age-or-birth-month-required']]);
    t.equal(checkSubmission(referral({ birthYearMonth: '2010-04' })).ok, true);
    t.equal(checkSubmission(referral({ ageAtReferral: 15 })).ok, true);
  });
});

t.test('When a stored event is of an older schema version', async (t) => {
  t.test('should read SessionAttended v1 as v2 with deliveredBy not-recorded', async (t) => {
    const data = { sessionId: 'S-1', sessionDate: '2026-02-01', durationMinutes: 60, sessionType: 'group' };
    const read = upcast('SessionAttended', 1, data);
    t.same(read, { schemaVersion: 2, data: { ...data, deliveredBy: 'not-recorded' } });
    t.notOk('deliveredBy' in data, 'the stored data is not changed');
    t.equal(checkSubmission(session(read.data)).ok, true, 'the upcast data is valid v2');
  });
  t.test('should leave the latest version as it is', async (t) => {
    const data = {
      sessionId: 'S-1',
      sessionDate: '2026-02-01',
      durationMinutes: 60,
      sessionType: 'group',
      deliveredBy: 'staff',
    };
    t.same(upcast('SessionAttended', 2, data), { schemaVersion: 2, data });
  });
  t.test('should read OffenceRecorded v1 as v2, not custodial', async (t) => {
    const data = {
      offenceDate: '2026-03-01',
      provenDate: '2026-03-20',
      disposal: 'conviction',
      offenceCategory: 'robbery',
      seriousViolence: true,
    };
    t.same(upcast('OffenceRecorded', 1, data), { schemaVersion: 2, data: { ...data, custodial: false } });
  });
});

t.test('When a field once free text is an id now', async (t) => {
  const spend = (evidenceRef: string, schemaVersion = 2) => ({
    eventId: '3f1c9a52-8d0e-4c1b-9a53-0c2b8e6f7a10',
    type: 'SpendRecorded',
    schemaVersion,
    occurredAt: '2026-10-01T10:00:00Z',
    grantRef: 'G-1',
    data: { amountPence: 100, category: 'staff', periodStart: '2026-07-01', periodEnd: '2026-09-30', evidenceRef },
  });
  const custom = (scale: string) =>
    measure({ instrument: 'custom', scale, customRange: { min: 0, max: 10, higherIsBetter: true }, score: 5 });
  t.test('should accept a scale id and refuse a name, a sentence, a date, a postcode or a reference', async (t) => {
    for (const scale of ['making-a-difference', 'resilience', 'sdq-2', 'hopes-and-dreams']) {
      t.equal(checkSubmission(custom(scale)).ok, true, scale);
    }
    for (const scale of [
      'Jane Doe',
      'jane doe',
      'Making a difference',
      'felt low after 2009-03-04',
      'de23-1ab',
      'men-1006',
      '2009-03-04',
      'a-b-c-d-e-f-g-h',
      '-confidence',
      'confidence-',
    ]) {
      t.same(errorsOf(t, custom(scale)), [['/data/scale', 'string-pattern']], JSON.stringify(scale));
    }
    t.same(
      errorsOf(t, custom('abcdefghij-'.repeat(4).slice(0, -1))),
      [['/data/scale', 'max-length']],
      'at most 40 characters',
    );
    const refused = checkSubmission(custom('Jane Doe'));
    t.match(
      refused.ok ? '' : refused.errors[0]!.message,
      /lowercase words joined by dashes/,
      'the message says what to enter',
    );
  });
  t.test('should accept an invoice number and refuse free text as an evidence reference', async (t) => {
    for (const ref of ['INV-2026-0042', 'B/2026/17', 'a.b_c']) t.equal(checkSubmission(spend(ref)).ok, true, ref);
    for (const ref of ['Jane Doe', 'INV 42', '-INV', '<script>', 'I'.repeat(65)]) {
      t.same(errorsOf(t, spend(ref)), [['/data/evidenceRef', 'string-pattern']], JSON.stringify(ref));
    }
  });
  t.test('should refuse the retired versions that allowed free text, naming the version to send', async (t) => {
    t.same(errorsOf(t, spend('Paid to Jane Doe', 1)), [['/schemaVersion', 'retired-version']]);
    t.same(errorsOf(t, spend('INV-1', 1)), [['/schemaVersion', 'retired-version']], 'whatever the data');
    const old = checkSubmission(
      envelope('OutcomeMeasured', 1, {
        instrument: 'swemwbs',
        timepoint: 'baseline',
        measuredOn: '2026-02-01',
        score: 20,
      }),
    );
    t.match(old, {
      ok: false,
      errors: [{ field: '/schemaVersion', rule: 'retired-version', message: /send schemaVersion 2/ }],
    });
  });
  t.test('should read a version 1 scale as its id where it normalises to one, and as stored otherwise', async (t) => {
    const v1 = (scale: string) =>
      upcast('OutcomeMeasured', 1, {
        instrument: 'outcomes-star',
        timepoint: 'baseline',
        measuredOn: '2026-02-01',
        score: 4,
        scale,
      });
    t.same(v1('Making a difference').data.scale, 'making-a-difference');
    t.same(v1('  Hopes & Dreams ').data.scale, 'hopes-dreams');
    t.same(v1('Jane Doe 2009-03-04').data.scale, 'Jane Doe 2009-03-04', 'kept as stored: the log is append-only');
    t.same(v1('Making a difference').schemaVersion, 2);
    t.same(upcast('SpendRecorded', 1, { evidenceRef: 'Paid to Jane' }), {
      schemaVersion: 2,
      data: { evidenceRef: 'Paid to Jane' },
    });
  });
});

t.test('When a comparison record is shared', async (t) => {
  const record = (data: Record<string, unknown>) =>
    checkSubmission({
      eventId: '3f1c9a52-8d0e-4c1b-9a53-0c2b8e6f7a10',
      type: 'ComparisonRecordSubmitted',
      schemaVersion: 1,
      occurredAt: '2026-03-21T10:00:00Z',
      dataPartnerId: 'derbyshire-police',
      comparisonRef: 'CMP-1',
      data: {
        poolId: 'derby-2025',
        indexDate: '2026-03-01',
        indexEvent: 'caution',
        gender: 'male',
        ethnicity: 'white-british',
        priorOffences: 0,
        priorSeriousViolence: false,
        priorCustody: false,
        definitionsVersion: 1,
        ...data,
      },
    });
  t.test('should accept an age or a birth month, and one area', async (t) => {
    t.equal(record({ ageAtIndex: 16, postcodeDistrict: 'DE23' }).ok, true);
    t.equal(record({ birthYearMonth: '2010-04', policeDistrict: 'derby-south' }).ok, true);
  });
  t.test('should refuse no age, two areas or none, and a full postcode', async (t) => {
    t.match(record({ postcodeDistrict: 'DE23' }), {
      ok: false,
      errors: [{ field: '/data/ageAtIndex', rule: 'age-or-birth-month-required' }],
    });
    t.match(record({ ageAtIndex: 16, postcodeDistrict: 'DE23', policeDistrict: 'derby-south' }), {
      ok: false,
      errors: [{ field: '/data/postcodeDistrict', rule: 'one-area-required' }],
    });
    t.match(record({ ageAtIndex: 16 }), { ok: false, errors: [{ rule: 'one-area-required' }] });
    t.match(record({ ageAtIndex: 16, postcodeDistrict: 'DE23 6AB' }), {
      ok: false,
      errors: [{ field: '/data/postcodeDistrict' }],
    });
  });
  t.test('should refuse a record without its partner or reference, or with a participant reference', async (t) => {
    const missing = checkSubmission({
      eventId: '3f1c9a52-8d0e-4c1b-9a53-0c2b8e6f7a10',
      type: 'ComparisonRecordErased',
      schemaVersion: 1,
      occurredAt: '2026-03-21T10:00:00Z',
      dataPartnerId: 'derbyshire-police',
      participantRef: 'P-1',
      data: { requestedOn: '2026-03-20', basis: 'data-subject-request' },
    });
    t.equal(missing.ok, false);
  });
});

t.test('When a data partner names the participant of an offence', async (t) => {
  const offence = (naming: Record<string, unknown>) =>
    checkSubmission({
      eventId: '3f1c9a52-8d0e-4c1b-9a53-0c2b8e6f7a10',
      type: 'OffenceRecorded',
      schemaVersion: 1,
      occurredAt: '2026-03-21T10:00:00Z',
      ...naming,
      data: {
        offenceDate: '2026-03-01',
        provenDate: '2026-03-20',
        disposal: 'conviction',
        offenceCategory: 'robbery',
        seriousViolence: true,
      },
    });
  const token = 'a'.repeat(64);
  t.test('should accept a match token, alone or narrowed by provider', async (t) => {
    t.equal(offence({ matchToken: token }).ok, true);
    t.equal(offence({ matchToken: token, providerId: 'prov-a' }).ok, true);
  });
  t.test('should accept the provider, programme and reference together', async (t) => {
    t.equal(offence({ providerId: 'prov-a', programmeId: 'mentoring', participantRef: 'P-1' }).ok, true);
  });
  t.test('should refuse both ways at once, neither, or a reference without its provider', async (t) => {
    const both = offence({ matchToken: token, providerId: 'prov-a', programmeId: 'mentoring', participantRef: 'P-1' });
    t.match(both, { ok: false, errors: [{ field: '/participantRef', rule: 'one-participant-identifier' }] });
    t.match(offence({}), {
      ok: false,
      errors: [
        { field: '/matchToken', rule: 'one-of-required' },
        { field: '/participantRef', rule: 'one-of-required' },
      ],
    });
    t.match(offence({ programmeId: 'mentoring', participantRef: 'P-1' }), {
      ok: false,
      errors: [{ field: '/providerId', rule: 'required' }],
    });
    t.match(
      offence({ matchToken: 'A'.repeat(64) }),
      { ok: false, errors: [{ field: '/matchToken' }] },
      'lower-case hex only',
    );
  });
});

t.test(
  'When a value is refused, the message says what to enter, with an example, beside the machine-readable rule',
  async (t) => {
    const check = checkSubmission(
      envelope(
        'ParticipantReferred',
        1,
        {
          referralDate: '2026-13-01',
          referralSource: 'skool',
          ageAtReferral: 1,
          gender: 'male',
          ethnicity: 'white-british',
          postcodeDistrict: 'DE23 6AB',
          riskFactors: [],
        },
        { participantRef: 'P 1' },
      ),
    );
    t.notOk(check.ok);
    const errors = check.ok ? [] : check.errors;
    t.same(
      errors.map((e) => [e.field, e.rule, e.message]),
      [
        [
          '/participantRef',
          'string-pattern',
          'Enter a reference of up to 64 letters, digits, dots, dashes or underscores, starting with a letter or digit, like P-000123 — no spaces',
        ],
        ['/data/referralDate', 'string-format', 'Enter a real date as year-month-day, like 2026-09-14'],
        [
          '/data/referralSource',
          'enum',
          'Choose referralSource from: police, school, hospital-navigator, youth-justice, probation, ' +
            'childrens-social-care, self, community, other',
        ],
        ['/data/ageAtReferral', 'minimum', 'Enter ageAtReferral as 5 or more'],
        [
          '/data/postcodeDistrict',
          'string-pattern',
          'Enter the postcode district only, like DE22 — not the full postcode',
        ],
      ],
    );
    const targets = checkSubmission({
      eventId: '3f1c9a52-8d0e-4c1b-9a53-0c2b8e6f7a10',
      type: 'DeliveryTargetsSet',
      schemaVersion: 1,
      occurredAt: '2026-02-10T10:00:00Z',
      grantRef: 'G-1',
      data: { quarter: '2026-Q3', referrals: -1, enrolments: 1.5, sessionsDelivered: 1, completions: 1, spendPence: 1 },
    });
    t.same(targets.ok ? [] : targets.errors.map((e) => e.message), [
      'Enter the quarter as the year, Q and the quarter number, like 2026Q3',
      'Enter referrals as 0 or more',
      'Enter enrolments as a whole number, like 12',
    ]);
  },
);

t.test('When a body is made large to make its check slow (an attacker with a provider key)', async (t) => {
  // A list's items are compared pairwise for uniqueness and each bad one is an error: before this pass, 20,000 items
  // (a 40 KB body) kept the check busy for 30 s.
  t.test('should refuse a list longer than its vocabulary by its length alone', async (t) => {
    for (const item of [1, 'weapon-carrying']) {
      t.same(
        errorsOf(t, referral({ riskFactors: Array.from({ length: 200_000 }, () => item) })),
        [['/data/riskFactors', 'max-items']],
        `200,000 × ${JSON.stringify(item)}`,
      );
    }
  });
  t.test('should name at most 50 of many unknown properties, the first ones, in data or the envelope', async (t) => {
    const junk = Object.fromEntries(Array.from({ length: 100_000 }, (_, i) => [`x${String(i)}`, i]));
    const expected = (at: string) => Array.from({ length: 50 }, (_, i) => [`${at}/x${String(i)}`, 'unknown-property']);
    t.same(errorsOf(t, { ...referral({}), ...junk }), expected(''));
    t.same(errorsOf(t, referral(junk)), expected('/data'));
  });
  t.test('should leave a list within its limit, and a few unknown properties, to the schema check', async (t) => {
    t.same(errorsOf(t, referral({ riskFactors: [1] })), [['/data/riskFactors/0', 'string']]);
    t.same(errorsOf(t, referral({ extra: 1 })), [['/data/extra', 'unknown-property']]);
  });
});

t.test('unstorable text is named by the JSON Pointer of its string or key, escaped, at any depth', async (t) => {
  const fields = (value: unknown) => unstorableTextErrors(value).map((e) => [e.field, e.rule]);
  t.same(fields('a\u0000b'), [['/', 'unsupported-character']]);
  t.same(
    fields({
      ok: 'fine',
      a: { 'x/y~z': 'bad\u0000', list: ['ok', 'half \ud800 pair', { deep: '\udc00' }] },
      'k\u0000': 1,
    }),
    [
      ['/a/x~1y~0z', 'unsupported-character'],
      ['/a/list/1', 'unsupported-character'],
      ['/a/list/2/deep', 'unsupported-character'],
      ['/k\u0000', 'unsupported-character'],
    ],
  );
  t.same(fields({ ok: ['a', { b: 'c', pair: '\ud83d\ude00' }] }), [], 'a paired surrogate is storable');
});
