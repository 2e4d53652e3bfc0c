import t from 'tap';
import { Harness, PROGRAMME } from '@vru/testkit';

const h = await Harness.start();
t.teardown(() => h.close());

function upload(eventType: string, csv: string, key = h.keys.providerA, contentType = 'text/csv') {
  return h.post(`/v1/imports?eventType=${eventType}`, csv, key, { 'content-type': contentType });
}

const csv = (...lines: string[]) => `${lines.join('\r\n')}\r\n`;

const referrals = csv(
  'participantRef,programmeId,referralDate,referralSource,ageAtReferral,gender,ethnicity,postcodeDistrict,riskFactors',
  `P-1,${PROGRAMME},2026-01-10,school,15,male,white-british,DE23,school-exclusion;victim-of-violence`,
  `P-2,${PROGRAMME},2026-01-12,police,16,female,mixed-other,DE1,`,
);
const enrolments = csv(
  'programmeId,participantRef,startDate,plannedSessions,deliverySetting',
  `${PROGRAMME},P-1,2026-01-15,10,community`,
  `${PROGRAMME},P-2,2026-01-16,8,school`,
);
// A spreadsheet export: byte order mark, a bad date on line 3, and a session for a participant never enrolled on line 5.
const sessions = `\uFEFF${csv(
  'participantRef,programmeId,sessionId,sessionDate,durationMinutes,sessionType,deliveredBy',
  `P-1,${PROGRAMME},S-1,2026-02-01,60,one-to-one,staff`,
  `P-1,${PROGRAMME},S-2,2026-02-30,60,one-to-one,staff`,
  `P-2,${PROGRAMME},S-1,2026-02-02,45,group,volunteer`,
  `P-9,${PROGRAMME},S-1,2026-02-02,45,group,volunteer`,
)}`;

await t.test('a template download returns the header and an example row', async (t) => {
  const res = await h.get('/v1/imports/templates/SessionAttended', h.keys.providerA);
  t.equal(res.statusCode, 200);
  t.match(res.headers['content-type'], /^text\/csv/);
  const [header, example] = res.body.trimEnd().split('\r\n');
  t.equal(
    header,
    'eventId,occurredAt,programmeId,participantRef,sessionId,sessionDate,durationMinutes,sessionType,deliveredBy',
  );
  t.ok(example?.includes('S-2026-09-14-A'), 'the example row follows the header');
  t.equal(
    (await h.get('/v1/imports/templates/NoSuchEvent', h.keys.providerA)).statusCode,
    400,
    'an unknown event type is refused',
  );
  t.equal((await h.get('/v1/imports/templates/SessionAttended', null)).statusCode, 401);
});

await t.test(
  'referral, enrolment and session files are stored row by row, bad rows named by line and column',
  async (t) => {
    const referred = (await upload('ParticipantReferred', referrals)).json();
    t.match(referred, { eventType: 'ParticipantReferred', rows: 2, accepted: 2, duplicates: 0, rejected: 0 });
    const enrolled = (await upload('ParticipantEnrolled', enrolments)).json();
    t.match(enrolled, { rows: 2, accepted: 2, rejected: 0 });
    const eventsBefore = await h.count('events');
    const rejectionsBefore = await h.count('rejected_submissions');

    const res = await upload('SessionAttended', sessions);
    t.equal(res.statusCode, 200);
    const body = res.json();
    t.match(body, { eventType: 'SessionAttended', rows: 4, accepted: 2, duplicates: 0, rejected: 2 });
    t.same(
      body.results.map((r: { line: number; status: string }) => [r.line, r.status]),
      [
        [2, 'accepted'],
        [3, 'rejected'],
        [4, 'accepted'],
        [5, 'rejected'],
      ],
    );
    t.same(
      body.results[1].errors.map((e: { column: string; rule: string }) => [e.column, e.rule]),
      [['sessionDate', 'string-format']],
      'the bad date is named by its column',
    );
    t.same(
      body.results[3].errors.map((e: { column: string; rule: string }) => [e.column, e.rule]),
      [['participantRef', 'unknown-participant']],
      'business rules name their column too',
    );
    t.equal(await h.count('events'), eventsBefore + 2, 'nothing from a bad row is stored');
    t.equal(await h.count('rejected_submissions'), rejectionsBefore + 2, 'refused rows count in data quality');
    const [stored] = await h.sql<{ source: string; occurred_at: Date }[]>`
    select metadata->>'source' as source, occurred_at from events where event_id = ${body.results[0].eventId}`;
    t.equal(stored?.source, 'csv');
    t.equal(stored?.occurred_at.toISOString(), '2026-02-01T00:00:00.000Z', 'occurredAt defaults to the session date');
  },
);

await t.test('uploading the same files again stores nothing twice', async (t) => {
  const before = await h.count('events');
  const again = (await upload('SessionAttended', sessions)).json();
  t.match(again, { rows: 4, accepted: 0, duplicates: 2, rejected: 2 });
  t.match((await upload('ParticipantReferred', referrals)).json(), { accepted: 0, duplicates: 2, rejected: 0 });
  const reordered = csv(
    'deliveredBy,sessionType,durationMinutes,sessionDate,sessionId,programmeId,participantRef',
    `staff,one-to-one, 60 ,2026-02-01,S-1,${PROGRAMME},P-1`,
  );
  t.match(
    (await upload('SessionAttended', reordered)).json(),
    { accepted: 0, duplicates: 1 },
    'column order and spacing do not make a new event',
  );
  t.equal(await h.count('events'), before, 'no new rows in events');
  const other = (
    await upload(
      'SessionAttended',
      csv(
        'participantRef,programmeId,sessionId,sessionDate,durationMinutes,sessionType,deliveredBy',
        `P-1,${PROGRAMME},S-1,2026-02-01,60,one-to-one,staff`,
      ),
      h.keys.providerB,
    )
  ).json();
  t.match(
    other.results[0],
    { status: 'rejected', errors: [{ column: 'participantRef', rule: 'unknown-participant' }] },
    "another provider's identical row is its own participant's event, not a duplicate of ours",
  );
});

await t.test('a wrong header refuses the whole file, naming the columns', async (t) => {
  const before = await h.count('events');
  const res = await upload(
    'SessionAttended',
    csv(
      'participantRef,programmeId,sessionId,sessionDate,minutes,sessionType,deliveredBy',
      `P-1,${PROGRAMME},S-3,2026-02-03,60,one-to-one,staff`,
    ),
  );
  t.equal(res.statusCode, 422);
  t.match(res.headers['content-type'], /^application\/problem\+json/);
  const problem = res.json();
  t.equal(problem.code, 'csv-header-invalid');
  t.same(
    problem.errors.map((e: { field: string; rule: string }) => [e.field, e.rule]),
    [
      ['minutes', 'unknown-column'],
      ['durationMinutes', 'missing-column'],
    ],
  );
  t.equal(await h.count('events'), before);
  const ragged = await upload(
    'SessionAttended',
    csv(
      'participantRef,programmeId,sessionId,sessionDate,durationMinutes,sessionType,deliveredBy',
      `P-1,${PROGRAMME},S-3,2026-02-03,60,one-to-one,staff,extra`,
    ),
  );
  t.equal(ragged.statusCode, 422, 'a row with more cells than the header is refused');
  t.equal(ragged.json().code, 'csv-unreadable');
});

await t.test('only text/csv is accepted', async (t) => {
  const res = await upload('SessionAttended', sessions, h.keys.providerA, 'text/plain');
  t.equal(res.statusCode, 415);
  t.equal(res.json().code, 'unsupported-media-type');
  t.equal((await upload('SessionAttended', sessions, h.keys.providerA, 'application/json')).statusCode, 415);
});

await t.test('the row limit and role rules apply to the whole file', async (t) => {
  const rows = Array.from({ length: 5001 }, (_, i) => `P-1,${PROGRAMME},S-x-${i},2026-02-03,60,one-to-one,staff`);
  const big = await upload(
    'SessionAttended',
    csv('participantRef,programmeId,sessionId,sessionDate,durationMinutes,sessionType,deliveredBy', ...rows),
  );
  t.equal(big.statusCode, 413);
  t.equal(big.json().code, 'too-many-rows');
  const offences = await upload(
    'OffenceRecorded',
    csv('providerId,programmeId,participantRef,offenceDate,provenDate,disposal,offenceCategory,seriousViolence'),
  );
  t.equal(offences.statusCode, 403, 'a provider key may not upload offences');
});

await t.test(
  'a file longer than one append transaction is stored in file order, repeats found across them',
  async (t) => {
    const header = 'participantRef,programmeId,sessionId,sessionDate,durationMinutes,sessionType,deliveredBy';
    const rows = Array.from({ length: 700 }, (_, i) => `P-2,${PROGRAMME},S-long-${i},2026-03-01,30,group,staff`);
    // The first row again, hundreds of rows (more than one transaction) later: the same derived eventId.
    rows.push(rows[0]!);
    const res = await upload('SessionAttended', csv(header, ...rows));
    t.equal(res.statusCode, 200);
    const body = res.json();
    t.match(body, { rows: 701, accepted: 700, duplicates: 1, rejected: 0 });
    const results = body.results as { line: number; status: string; eventId: string; position: string }[];
    t.same(
      results.map((r) => r.line),
      Array.from({ length: 701 }, (_, i) => i + 2),
      'one result per row, in file order',
    );
    const positions = results.slice(0, 700).map((r) => BigInt(r.position));
    t.ok(
      positions.every((p, i) => i === 0 || p > positions[i - 1]!),
      'each row is stored after the one before it',
    );
    t.match(results[700], { status: 'duplicate', eventId: results[0]!.eventId, position: results[0]!.position });
  },
);

// The root test ends here, not at process exit: the open pools would otherwise keep the process alive.
t.end();
