import { randomUUID } from 'node:crypto';
import t from 'tap';
import { eventDefinition } from '@vru/contracts';
import { applyBatch, attendanceProjection, ensureProjectionSchema } from '@vru/projector';
import { Harness, PROGRAMME, event, journey } from '@vru/testkit';

/**
 * Reports at exactly position P (docs/metrics.md, "Positions and as-at"), on a real PostgreSQL and Kafka: a read
 * model that already holds events above P is not counted above P; asAt=P answers the same bytes after late
 * submissions, a correction and another provider's events; an asAt not yet applied is refused; no copy of a read
 * model is built (as-at is a filter on versioned rows); an erasure leaves no personal field in any version.
 */
const h = await Harness.start();
t.teardown(() => h.close());

type Json = Record<string, any>;
const postBatch = (events: Json[], key = h.keys.providerA) => h.postBatchAccepted(events, key);
const storedInOrder = (eventIds: string[]) => h.storedInOrder(eventIds);

/** Schemas other than the read models and their as-at views: a replay into a copy would leave one. */
const copySchemas = async () =>
  (
    await h.sql<{ nspname: string }[]>`
    select nspname from pg_namespace where nspname like 'rm\\_%' and nspname !~ '^rm_[a-z]+(_as_at)?$' order by 1`
  ).map((r) => r.nspname);

const grantEvent = (type: string, data: Json, eventId: string = randomUUID()): Json => ({
  eventId,
  type,
  schemaVersion: eventDefinition(type)!.latest,
  occurredAt: '2026-10-10T10:00:00Z',
  grantRef: 'G-AS-AT',
  data,
});

/** Referred in July 2026 with evaluation consent, enrolled, one session on 1 August. */
const person = (ref: string): Json[] => [
  event.referred(ref, { data: { referralDate: '2026-07-10' } }),
  event.consent(ref, 'evaluation', { data: { recordedOn: '2026-07-10' } }),
  event.enrolled(ref, { data: { startDate: '2026-07-20' } }),
  event.attended(ref, 's-1', '2026-08-01'),
];

await t.test('a read model holding events above P: the report counts exactly the events at or below P', async (t) => {
  // The projector is not running: the test applies events as a lagging partition would leave them.
  await ensureProjectionSchema(h.sql, attendanceProjection);
  const w = await postBatch(journey('W', { attended: 1, missed: 0 }));
  await applyBatch(h.sql, attendanceProjection, await storedInOrder(w.results.map((r) => r.eventId)));
  const xy = await postBatch([
    ...journey('X', { attended: 1, missed: 0 }),
    ...journey('Y', { attended: 2, missed: 0 }),
  ]);
  // Y's events (after X's) are applied, X's are not: P stops below X's referral, and rm_attendance holds Y's sessions.
  await applyBatch(h.sql, attendanceProjection, await storedInOrder(xy.results.slice(4).map((r) => r.eventId)));
  const p = (BigInt(xy.results[0]!.position!) - 1n).toString();
  t.equal(await h.count('rm_attendance.sessions'), 3, "the live read model holds W's session and Y's two");

  const q = '/v1/reports/attendance?from=2026-02-01&to=2026-02-28';
  const current = await h.getReport(q, h.keys.providerA);
  t.equal(current.status, 200);
  t.equal(current.body.position, p, 'P is the consistent position');
  t.equal(current.body.rows[0].sessionsAttended, 1, "only W's session is at or below P: Y's, above P, is not counted");
  t.same(await copySchemas(), [], 'filtered from the versioned rows: no copy of the read model is built');
  t.equal(await h.count('rm_attendance.sessions'), 3, 'and the read model is left as it was');

  const asAt = await h.getReport(`${q}&asAt=${p}`, h.keys.providerA);
  t.equal(JSON.stringify(asAt.body), JSON.stringify(current.body), 'asAt=P answers the same body');
  const csv = await h.getReport(q, h.keys.providerA, { accept: 'text/csv' });
  const csvAt = await h.getReport(`${q}&asAt=${p}`, h.keys.providerA, { accept: 'text/csv' });
  t.equal(csvAt.body, csv.body, 'and the same CSV');
  t.equal(csvAt.headers['x-report-position'], p);
});

await t.test(
  "asAt=P reproduces a report byte for byte after late submissions, a correction and another provider's events",
  async (t) => {
    await h.startRelay();
    await h.startProjectors();
    const people = [...Array.from({ length: 12 }, (_, i) => person(`AA${i + 1}`)).flat()];
    await postBatch(people, h.keys.providerA);
    await postBatch(Array.from({ length: 10 }, (_, i) => person(`AB${i + 1}`)).flat(), h.keys.providerB);
    await postBatch(
      [
        grantEvent('GrantAwarded', {
          providerId: 'prov-a',
          programmeId: PROGRAMME,
          amountPence: 5_000_000,
          startDate: '2026-04-01',
          endDate: '2027-03-31',
          targetParticipants: 20,
        }),
      ],
      h.keys.commissioner,
    );
    const corrected = randomUUID();
    const seeded = await postBatch(
      [
        grantEvent('SpendRecorded', {
          amountPence: 400_000,
          category: 'staff',
          periodStart: '2026-07-01',
          periodEnd: '2026-07-31',
          evidenceRef: 'INV-7',
        }),
        grantEvent(
          'SpendRecorded',
          {
            amountPence: 100_000,
            category: 'staff',
            periodStart: '2026-09-01',
            periodEnd: '2026-09-30',
            evidenceRef: 'INV-9',
          },
          corrected,
        ),
      ],
      h.keys.providerA,
    );

    const reports = [
      '/v1/reports/quarterly-return?quarter=2026Q3',
      '/v1/reports/attendance?from=2026-07-01&to=2026-09-30',
      '/v1/reports/spend',
    ];
    const before = await h.waitFor('the quarterly return to reach the seed', async () => {
      const r = await h.getReport(reports[0]!, h.keys.commissioner);
      return BigInt(r.body.position) >= BigInt(seeded.highestPosition!) ? r : undefined;
    });
    const p = before.body.position as string;
    const read = async (url: string, asAt?: string) => {
      const at = asAt === undefined ? url : `${url}${url.includes('?') ? '&' : '?'}asAt=${asAt}`;
      const [json, csv] = [
        await h.getReport(at, h.keys.commissioner),
        await h.getReport(at, h.keys.commissioner, { accept: 'text/csv' }),
      ];
      return {
        json: JSON.stringify(json.body),
        csv: String(csv.body),
        position: json.body.position as string,
        status: json.status,
      };
    };
    const then = new Map<string, Awaited<ReturnType<typeof read>>>();
    for (const url of reports) then.set(url, await read(url, p));
    for (const url of reports) t.equal(then.get(url)!.status, 200, url);

    // Late submissions for the same quarter at both providers, a spend correction, a new provider B participant.
    const late = await postBatch(
      [
        ...person('AA13'),
        ...person('AA14'),
        grantEvent('SpendCorrected', {
          correctsEventId: corrected,
          amountPence: 150_000,
          category: 'staff',
          reason: 'Invoice amended',
        }),
      ],
      h.keys.providerA,
    );
    const lateB = await postBatch(person('AB11'), h.keys.providerB);
    const highest =
      BigInt(lateB.highestPosition!) > BigInt(late.highestPosition!) ? lateB.highestPosition! : late.highestPosition!;
    const now = await h.waitFor('the reports to reach the late events', async () => {
      const r = await read(reports[0]!);
      return BigInt(r.position) >= BigInt(highest) ? r : undefined;
    });
    t.not(
      now.json,
      then.get(reports[0]!)!.json,
      'the current quarterly return has moved on (the comparison below can fail)',
    );

    for (const url of reports) {
      const again = await read(url, p);
      t.equal(again.position, p, `${url}: at P`);
      t.equal(again.json, then.get(url)!.json, `${url}: the same JSON body at P`);
      t.equal(again.csv, then.get(url)!.csv, `${url}: the same CSV at P`);
    }
    const original = await read(reports[0]!);
    t.equal(JSON.parse(original.json).position, now.position, 'the current report is at the current position');
  },
);

await t.test(
  'asAt above what every read model has applied is refused, naming the field, with Retry-After',
  async (t) => {
    const current = await h.getReport('/v1/reports/spend', h.keys.providerA);
    const ahead = (BigInt(current.body.position) + 1000n).toString();
    const refused = await h.getReport(`/v1/reports/spend?asAt=${ahead}`, h.keys.providerA);
    t.equal(refused.status, 409);
    t.match(String(refused.headers['content-type']), /application\/problem\+json/);
    t.equal(refused.headers['retry-after'], '1');
    t.equal(refused.body.code, 'position-not-yet-applied');
    t.same(
      refused.body.errors.map((e: { field: string }) => e.field),
      ['/querystring/asAt'],
    );
    const malformed = await h.getReport('/v1/reports/spend?asAt=-1', h.keys.commissioner);
    t.equal(malformed.status, 400, 'not a position: 400');
    t.same(
      malformed.body.errors.map((e: { field: string }) => e.field),
      ['/querystring/asAt'],
    );
  },
);

await t.test('across providers, asAt is answered only at a position figures were published at', async (t) => {
  // The attacker: a commissioner who wants one participant's contribution picks two positions one event apart after
  // the fact and differences the answers. Positions nobody was answered at are refused; a provider key (its own
  // figures, no disclosure control) may ask any.
  const published = (await h.getReport('/v1/reports/spend', h.keys.commissioner)).body.position as string;
  const unpublished = await h.sql<{ position: string }[]>`
    select e.position::text from events e
    where e.position < ${published}::bigint
      and not exists (select 1 from published_positions p where p.position = e.position)
      and not exists (select 1 from frozen_returns f where f.position = e.position)
    order by e.position desc limit 2`;
  t.equal(unpublished.length, 2, 'two past positions no report was answered at');
  for (const { position } of unpublished) {
    for (const url of [
      '/v1/reports/spend',
      '/v1/reports/quarterly-return?quarter=2026Q3',
      '/v1/reports/attendance?from=2026-07-01&to=2026-09-30',
    ]) {
      for (const key of [h.keys.commissioner, h.keys.funder]) {
        const refused = await h.getReport(`${url}${url.includes('?') ? '&' : '?'}asAt=${position}`, key);
        t.equal(refused.status, 422, `${url} at ${position}: refused`);
        t.equal(refused.body.code, 'position-not-published');
        t.same(
          refused.body.errors.map((e: { field: string }) => e.field),
          ['/querystring/asAt'],
        );
      }
    }
    t.equal(
      (await h.getReport(`/v1/reports/spend?asAt=${position}`, h.keys.providerA)).status,
      200,
      'a provider may ask it of its own figures',
    );
  }
  t.equal(
    (await h.getReport(`/v1/reports/spend?asAt=${published}`, h.keys.commissioner)).status,
    200,
    'a published position is answered',
  );
  t.equal((await h.count('published_positions')) > 0, true);
});

await t.test(
  'a correction keeps the version it replaced, and past positions are read without building anything',
  async (t) => {
    const [{ n: versions } = { n: 0 }] = await h.sql<
      { n: number }[]
    >`select count(*)::int as n from rm_spend.spend_versions where valid_to is not null`;
    t.ok(versions >= 1, "the corrected spend's earlier version is kept, closed");
    const current = BigInt((await h.getReport('/v1/reports/spend', h.keys.providerA)).body.position);
    for (let back = 1n; back <= 6n; back++) {
      const r = await h.getReport(`/v1/reports/spend?asAt=${current - back}`, h.keys.providerA);
      t.equal(r.body.position, (current - back).toString());
    }
    t.same(await copySchemas(), [], 'six past positions asked, no copy built');
  },
);

await t.test(
  "an erasure leaves no personal field in any version of the person's rows, and past positions still answer",
  async (t) => {
    const ref = 'AZ1';
    const posted = await postBatch(
      [...person(ref), event.consent(ref, 'service-delivery', { data: { recordedOn: '2026-07-11' } })],
      h.keys.providerB,
    );
    const [{ stream_id: streamId } = { stream_id: '' }] = await h.sql<{ stream_id: string }[]>`
    select stream_id from events where event_id = ${posted.results[0]!.eventId}::uuid`;
    const before = await h.waitFor('the person to be projected', async () => {
      const r = await h.getReport('/v1/reports/engagement?from=2026-07-01&to=2026-07-31', h.keys.providerB);
      return BigInt(r.body.position) >= BigInt(posted.highestPosition!) ? r : undefined;
    });
    const versions = () => h.sql<
      {
        gender: string | null;
        ethnicity: string | null;
        postcode_district: string | null;
        age_at_referral: number | null;
      }[]
    >`
    select gender, ethnicity, postcode_district, age_at_referral from rm_participants.participants_versions where stream_id = ${streamId}`;
    const held = await versions();
    t.ok(held.length >= 2, "the participant's row has several versions (the test below can fail)");
    t.ok(
      held.every((v) => v.gender === 'male' && v.postcode_district === 'DE23'),
      'each holds the personal fields before the erasure',
    );

    const erased = await h.post(`/v1/participants/${ref}/erasure`, { programmeId: PROGRAMME }, h.keys.providerB);
    t.equal(erased.statusCode, 202, erased.body);
    const [{ position: erasedAt } = { position: '0' }] = await h.sql<{ position: string }[]>`
    select position::text from events where stream_id = ${streamId} and type = 'ParticipantErased'`;
    await h.waitFor('the erasure to be projected', async () => {
      const r = await h.getReport('/v1/reports/engagement?from=2026-07-01&to=2026-07-31', h.keys.providerB);
      return BigInt(r.body.position) >= BigInt(erasedAt) ? r : undefined;
    });
    const after = await versions();
    t.equal(after.length, held.length, 'no version added: the erasure rewrote them in place');
    t.same(
      after.filter(
        (v) => v.gender !== null || v.ethnicity !== null || v.postcode_district !== null || v.age_at_referral !== null,
      ),
      [],
      'no version keeps a personal field',
    );
    const closed = await h.sql<{ gender: string | null; postcode_district: string | null }[]>`
    select gender, postcode_district from rm_participants.participants_closed where stream_id = ${streamId}`;
    t.ok(closed.length >= 1, 'the earlier versions are in the closed versions table');
    t.ok(
      closed.every((v) => v.gender === null && v.postcode_district === null),
      'the erasure reached them there too',
    );
    const again = await h.getReport(
      `/v1/reports/engagement?from=2026-07-01&to=2026-07-31&asAt=${before.body.position}`,
      h.keys.providerB,
    );
    t.equal(again.status, 200, 'a position before the erasure is still answered');
    t.equal(
      JSON.stringify(again.body.rows),
      JSON.stringify(before.body.rows),
      'with the same counts: the person still counts, unidentified',
    );
  },
);

await t.test(
  'a projector recreates its as-at views on start: a change to how they read needs no rebuild',
  async (t) => {
    const views = async () =>
      (
        await h.sql<{ definition: string }[]>`
      select definition from pg_views where schemaname = 'rm_attendance_as_at' and viewname = 'sessions'`
      ).map((v) => v.definition);
    await ensureProjectionSchema(h.sql, attendanceProjection);
    // As a deployment with an older definition would hold them.
    await h.sql.unsafe('drop schema rm_attendance_as_at cascade');
    await h.sql.unsafe('create schema rm_attendance_as_at');
    await h.sql.unsafe(
      `create view rm_attendance_as_at.sessions as select * from rm_attendance.sessions_versions where valid_from <= current_setting('vru.as_at')::bigint`,
    );
    t.notMatch((await views())[0], /SELECT \(?current_setting/i, 'the older view reads the position per row');
    const sessions = await h.count('rm_attendance.sessions');
    await ensureProjectionSchema(h.sql, attendanceProjection);
    const [definition] = await views();
    t.match(
      definition,
      /SELECT \(?current_setting\('vru\.as_at'::text\)\)?::bigint/i,
      'replaced: read once per statement',
    );
    t.equal(await h.count('rm_attendance.sessions'), sessions, 'the rows are untouched');
  },
);
