import t from 'tap';
import { EventTypes } from './catalogue.js';
import { checkCsvHeader, csvColumns, csvRowErrors, csvRowToSubmission, csvTemplate, deriveEventId } from './csv.js';
import { checkSubmission } from './validate.js';

/** The template's two lines as a record; the template has no quoted commas, so a split is enough here. */
function templateRecord(type: string): Record<string, string> {
  const [header, row] = csvTemplate(type).trimEnd().split('\r\n');
  const names = header!.split(',');
  const cells = row!.split(',');
  return Object.fromEntries(names.map((n, i) => [n, cells[i] ?? '']));
}

const session = (over: Record<string, string> = {}) => ({
  programmeId: 'mentoring-test',
  participantRef: 'P-1',
  sessionId: 'S-1',
  sessionDate: '2026-02-01',
  durationMinutes: '60',
  sessionType: 'one-to-one',
  deliveredBy: 'staff',
  ...over,
});

t.test('When a template is downloaded', async (t) => {
  for (const type of EventTypes) {
    t.test(`${type}: its example row converts to a valid submission`, async (t) => {
      const record = templateRecord(type);
      t.same(
        Object.keys(record),
        csvColumns(type).map((c) => c.name),
        'the header lists the documented columns',
      );
      t.same(checkCsvHeader(type, Object.keys(record)), { unknown: [], missing: [], duplicate: [] });
      const check = checkSubmission(csvRowToSubmission(type, record));
      t.ok(check.ok, check.ok ? 'valid' : JSON.stringify(check.errors));
    });
  }
  t.end();
});

t.test('When a row is read', async (t) => {
  t.test('should read numbers, booleans, lists, nested objects and blanks', async (t) => {
    const s = csvRowToSubmission('OutcomeMeasured', {
      programmeId: 'p',
      participantRef: 'P-1',
      instrument: 'custom',
      timepoint: 'baseline',
      measuredOn: '2026-02-01',
      score: ' 7.5 ',
      scale: 'confidence',
      'customRange.min': '0',
      'customRange.max': '10',
      'customRange.higherIsBetter': 'Yes',
    });
    t.same(s.data, {
      instrument: 'custom',
      timepoint: 'baseline',
      measuredOn: '2026-02-01',
      score: 7.5,
      scale: 'confidence',
      customRange: { min: 0, max: 10, higherIsBetter: true },
    });
    t.equal(s.occurredAt, '2026-02-01T00:00:00Z', 'occurredAt defaults to the fact date at midnight UTC');
    t.equal(
      csvRowToSubmission('SessionAttended', session()).schemaVersion,
      2,
      'rows are read as the latest schema version',
    );
    const r = csvRowToSubmission('ParticipantReferred', {
      programmeId: 'p',
      participantRef: 'P-1',
      referralDate: '2026-01-10',
      referralSource: 'school',
      ageAtReferral: '15',
      gender: 'male',
      ethnicity: 'white-british',
      postcodeDistrict: 'DE23',
      riskFactors: 'school-exclusion; victim-of-violence;',
      protectiveFactors: '',
    });
    t.same((r.data as Record<string, unknown>).riskFactors, ['school-exclusion', 'victim-of-violence']);
    t.notOk('protectiveFactors' in (r.data as object), 'a blank cell is an absent field');
    const none = csvRowToSubmission('ParticipantReferred', { riskFactors: '' });
    t.same((none.data as Record<string, unknown>).riskFactors, [], "a blank cell takes the schema's default");
    t.ok(
      checkSubmission(csvRowToSubmission('SessionAttended', session())).ok,
      'a plain session row is valid at the latest version',
    );
    t.equal(
      csvRowToSubmission('SessionAttended', session({ occurredAt: '2026-02-01T18:00:00+01:00' })).occurredAt,
      '2026-02-01T18:00:00+01:00',
      'a given occurredAt wins',
    );
  });

  t.test('should derive the same eventId for the same row, every time', async (t) => {
    const a = csvRowToSubmission('SessionAttended', session()).eventId;
    t.equal(csvRowToSubmission('SessionAttended', session()).eventId, a);
    t.match(a, /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/, 'a version 5 UUID');
    const reordered = Object.fromEntries(Object.entries(session({ durationMinutes: ' 60 ' })).reverse());
    t.equal(csvRowToSubmission('SessionAttended', reordered).eventId, a, 'column order and spaces do not matter');
    t.equal(
      csvRowToSubmission('SessionAttended', session({ occurredAt: '2026-02-01T00:00:00Z' })).eventId,
      a,
      'an explicit default is the same row',
    );
  });

  t.test('should derive different eventIds for different rows, types and uploaders', async (t) => {
    const a = csvRowToSubmission('SessionAttended', session()).eventId;
    const ids = new Set([
      a,
      csvRowToSubmission('SessionAttended', session({ sessionId: 'S-2' })).eventId,
      csvRowToSubmission('SessionAttended', session({ participantRef: 'P-2' })).eventId,
      csvRowToSubmission('SessionAttended', session({ durationMinutes: '61' })).eventId,
      csvRowToSubmission('SessionMissed', session()).eventId,
      csvRowToSubmission('SessionAttended', session(), { scope: 'prov-b' }).eventId,
    ]);
    t.equal(ids.size, 6);
    t.equal(
      csvRowToSubmission('SessionAttended', session({ eventId: '3f1c9a52-8d0e-4c1b-9a53-0c2b8e6f7a10' })).eventId,
      '3f1c9a52-8d0e-4c1b-9a53-0c2b8e6f7a10',
      'a given eventId is kept',
    );
    t.equal(
      deriveEventId('SessionAttended', csvRowToSubmission('SessionAttended', session())),
      a,
      'deriveEventId is what the row uses',
    );
  });
});

t.test('When a row is refused', async (t) => {
  function cellErrors(type: string, record: Record<string, string>) {
    const check = checkSubmission(csvRowToSubmission(type, record));
    return check.ok ? [] : csvRowErrors(type, record, check.errors).map((e) => [e.column, e.rule]);
  }

  t.test('should name the column with the same rule as the JSON API', async (t) => {
    t.same(
      cellErrors('SessionAttended', session({ sessionDate: '2026-02-30' })),
      [['sessionDate', 'string-format']],
      'a bad fact date is reported once, not also as occurredAt',
    );
    t.same(cellErrors('SessionAttended', session({ durationMinutes: 'an hour' })), [['durationMinutes', 'integer']]);
    t.same(cellErrors('SessionAttended', session({ deliveredBy: '' })), [['deliveredBy', 'required']]);
    t.same(cellErrors('SessionAttended', session({ occurredAt: 'yesterday' })), [['occurredAt', 'string-format']]);
    t.same(cellErrors('SessionAttended', session({ eventId: 'not-a-uuid' })), [['eventId', 'string-format']]);
    t.same(
      cellErrors('ParticipantReferred', {
        programmeId: 'p',
        participantRef: 'P-1',
        referralDate: '2026-01-10',
        referralSource: 'school',
        ageAtReferral: '15',
        gender: 'male',
        ethnicity: 'white-british',
        postcodeDistrict: 'DE23',
        riskFactors: 'school-exclusion;knives',
      }),
      [['riskFactors', 'enum']],
      'a bad list item names the list column',
    );
    t.same(
      cellErrors('OutcomeMeasured', {
        programmeId: 'p',
        participantRef: 'P-1',
        instrument: 'custom',
        timepoint: 'baseline',
        measuredOn: '2026-02-01',
        score: '5',
        scale: 'x',
        'customRange.min': '0',
        'customRange.higherIsBetter': 'maybe',
      }),
      [
        ['customRange.max', 'required'],
        ['customRange.higherIsBetter', 'boolean'],
      ],
      'nested fields name their dotted column',
    );
    t.same(
      cellErrors('OutcomeMeasured', {
        programmeId: 'p',
        participantRef: 'P-1',
        instrument: 'custom',
        timepoint: 'baseline',
        measuredOn: '2026-02-01',
        score: '5',
        scale: 'x',
      }),
      [['customRange.min', 'required']],
      'a missing object names its first column',
    );
  });

  t.test('should refuse a header with unknown, missing or repeated columns', async (t) => {
    t.same(
      checkCsvHeader('SessionAttended', [
        'participantRef',
        'sessionId',
        'sessionDate',
        'sessionDate',
        'minutes',
        'sessionType',
        'deliveredBy',
      ]),
      {
        unknown: ['minutes'],
        missing: ['programmeId', 'durationMinutes'],
        duplicate: ['sessionDate'],
      },
    );
    t.same(
      checkCsvHeader('SpendCorrected', ['grantRef', 'correctsEventId', 'amountPence', 'category', 'reason']).missing,
      ['occurredAt'],
      'occurredAt is required where there is no date field',
    );
  });
});
