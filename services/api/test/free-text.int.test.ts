import { randomUUID } from 'node:crypto';
import t from 'tap';
import { applyRetention } from '@vru/api';
import { eventDefinition } from '@vru/contracts';
import { comparisonsProjection, rebuildProjection } from '@vru/projector';
import { Harness, PROGRAMME, event, publishedFor } from '@vru/testkit';

// Fields that were free text in clear (an outcome's scale, a spend's evidence reference, a correction's or revision's
// reason, a comparison record's offence): played as an attacker who writes a name into them, then reads the database,
// the topic and the read models.
const h = await Harness.start();
t.teardown(() => h.close());
await h.startRelay();
await h.startProjectors();

type Json = Record<string, unknown>;
const NAME = 'Jane Doe';

/** Every event of one stream as stored (data and the decider's snapshot), as a database backup holds them. */
async function storedText(streamId: string): Promise<string> {
  const rows = await h.sql`select type, data::text from events where stream_id = ${streamId} order by stream_version`;
  const snapshot = await h.sql`select * from streams where stream_id = ${streamId}`;
  return JSON.stringify([rows, snapshot], (_k, v) => (typeof v === 'bigint' ? v.toString() : v));
}

const streamOf = async (eventId: string): Promise<string> =>
  (await h.sql<{ stream_id: string }[]>`select stream_id from events where event_id = ${eventId}`)[0]!.stream_id;

t.test(
  'a scale is an id: a name is refused, a version 1 label still pairs with its id and reports group by it',
  async (t) => {
    const ref = `SCALE-${randomUUID().slice(0, 8)}`;
    await h.postAccepted([event.referred(ref), event.consent(ref), event.enrolled(ref)], h.keys.providerA);
    const measure = (
      schemaVersion: number,
      scale: string,
      timepoint: string,
      measuredOn: string,
      score: number,
    ): Json => ({
      ...event.referred(ref),
      eventId: randomUUID(),
      type: 'OutcomeMeasured',
      schemaVersion,
      data: { instrument: 'outcomes-star', scale, timepoint, measuredOn, score },
    });
    const named = await h.post(
      '/v1/events',
      measure(2, `${NAME} felt low`, 'baseline', '2026-01-20', 3),
      h.keys.providerA,
    );
    t.equal(named.statusCode, 422);
    t.match(named.json().errors, [{ field: '/data/scale', rule: 'string-pattern' }]);
    const old = await h.post(
      '/v1/events',
      measure(1, `${NAME} felt low`, 'baseline', '2026-01-20', 3),
      h.keys.providerA,
    );
    t.equal(old.statusCode, 422, 'version 1, where a scale was free text, is refused');
    t.match(old.json().errors, [{ field: '/schemaVersion', rule: 'retired-version' }]);

    // A baseline stored as version 1 before scales were ids; the exit sent now with the scale's id.
    const legacy = measure(1, 'Making a difference', 'baseline', '2026-01-20', 3);
    const [outcome] = await h.app.commands.handle([
      {
        submission: legacy as never,
        definition: eventDefinition('OutcomeMeasured')!,
        principal: { keyId: h.keys.providerA.split('_')[1]!, role: 'provider', providerId: 'prov-a' },
        requestId: 'legacy',
        source: 'api',
      },
    ]);
    t.equal(outcome!.status, 'accepted');
    const exit = await h.post(
      '/v1/events',
      measure(2, 'making-a-difference', 'exit', '2026-03-01', 7),
      h.keys.providerA,
    );
    t.equal(exit.statusCode, 202, exit.body);
    const streamId = await streamOf(legacy.eventId as string);
    const rows = await h.waitFor('the pair in the outcomes read model', async () => {
      const found = await h.sql<{ scale: string; baseline_score: number; exit_score: number | null }[]>`
      select scale, baseline_score, exit_score from rm_outcomes.outcomes where stream_id = ${streamId}`;
      return found.length > 0 && found.every((r) => r.exit_score !== null) ? found : undefined;
    });
    t.same(
      rows,
      [{ scale: 'making-a-difference', baseline_score: 3, exit_score: 7 }],
      'one scale: the label read as its id',
    );
    // A report reads at the position both its read models have reached: the participants projector may still be
    // behind the outcomes one, so the pair shows once both have applied it.
    const grouped = await h.waitFor('the pair in the outcomes report', async () => {
      const report = await h.get('/v1/reports/outcomes', h.keys.providerA);
      if (report.statusCode !== 200) return undefined;
      return (report.json().rows as Json[]).find(
        (r) => r.instrument === 'outcomes-star' && r.scale === 'making-a-difference',
      );
    });
    t.ok(grouped, 'the report groups by the scale id');
    const scales = (await h.get('/v1/reports/outcomes', h.keys.providerA)).json().rows as Json[];
    t.notOk(
      scales.some((r) => r.scale === 'Making a difference'),
      'and never by the version 1 label: the label and the id are one group',
    );
    t.notOk((await storedText(streamId)).includes(NAME), 'the refused name was stored nowhere');
  },
);

const GRANT = `G-FT-${randomUUID().slice(0, 6)}`;
const grantEvent = (type: string, data: Json) => ({
  eventId: randomUUID(),
  type,
  schemaVersion: eventDefinition(type)!.latest,
  occurredAt: '2026-02-10T10:00:00Z',
  grantRef: GRANT,
  data,
});

t.test(
  "an evidence reference is an invoice number; a correction's or revision's reason is sealed everywhere",
  async (t) => {
    await h.postAccepted(
      [
        grantEvent('GrantAwarded', {
          providerId: 'prov-a',
          programmeId: PROGRAMME,
          amountPence: 5_000_000,
          startDate: '2026-01-01',
          endDate: '2026-12-31',
          targetParticipants: 10,
        }),
      ],
      h.keys.commissioner,
    );
    const spend = (evidenceRef: string, schemaVersion = 2): Json => ({
      ...grantEvent('SpendRecorded', {
        amountPence: 120_000,
        category: 'staff',
        periodStart: '2026-01-01',
        periodEnd: '2026-03-31',
        evidenceRef,
      }),
      schemaVersion,
    });
    const named = await h.post('/v1/events', spend(`Paid to ${NAME}`), h.keys.providerA);
    t.equal(named.statusCode, 422);
    t.match(named.json().errors, [{ field: '/data/evidenceRef', rule: 'string-pattern' }]);
    const old = await h.post('/v1/events', spend(`Paid to ${NAME}`, 1), h.keys.providerA);
    t.match(old.json(), { status: 422, errors: [{ field: '/schemaVersion', rule: 'retired-version' }] });
    const recorded = spend('INV-2026/0042');
    await h.postAccepted([recorded], h.keys.providerA);
    const reason = `Invoice credited: it was for ${NAME}'s taxi`;
    await h.postAccepted(
      [
        grantEvent('SpendCorrected', {
          correctsEventId: recorded.eventId,
          amountPence: 100_000,
          category: 'staff',
          reason,
        }),
      ],
      h.keys.providerA,
    );
    const targets = {
      quarter: '2026Q1',
      referrals: 10,
      enrolments: 8,
      sessionsDelivered: 50,
      completions: 5,
      spendPence: 1_000_000,
    };
    await h.postAccepted([grantEvent('DeliveryTargetsSet', targets)], h.keys.commissioner);
    const revised = grantEvent('DeliveryTargetsRevised', { ...targets, referrals: 8, reason: `${NAME} moved away` });
    await h.postAccepted([revised], h.keys.commissioner);

    const streamId = await streamOf(recorded.eventId as string);
    const stored = await storedText(streamId);
    t.notOk(stored.includes(NAME), 'no reason in clear in the event log');
    t.equal(stored.match(/\$sealed/g)?.length, 2, 'the correction and the revision carry a sealed part');
    t.ok(stored.includes('INV-2026/0042'), "the invoice number stays in clear: it is an id, and the funders' evidence");
    const published = await publishedFor(h, streamId, 5);
    t.notOk(
      published.some((m) => m.includes(NAME)),
      'no reason in clear on the topic',
    );
    const readModel = await h.waitFor('the correction and the revision projected', async () => {
      const [spendRow] = await h.sql<{ corrections: number }[]>`
      select corrections from rm_spend.spend where event_id = ${recorded.eventId as string}`;
      const [targetRow] = await h.sql<{ revisions: number }[]>`
      select revisions from rm_spend.delivery_targets where grant_ref = ${GRANT} and quarter = '2026Q1'`;
      return spendRow?.corrections === 1 && targetRow?.revisions === 1 ? [spendRow, targetRow] : undefined;
    });
    t.ok(readModel, 'the read model counts the correction and the revision');
    const tables = await h.sql`
    select (select json_agg(s) from rm_spend.spend s where grant_ref = ${GRANT})::text as spend,
           (select json_agg(d) from rm_spend.delivery_targets d where grant_ref = ${GRANT})::text as targets`;
    t.notOk(JSON.stringify(tables).includes(NAME), 'and keeps no reason');
    const trail = await h.get(`/v1/audit/events?grantRef=${GRANT}`, h.keys.funder);
    t.equal(trail.statusCode, 200, trail.body);
    t.match(
      (trail.json().events as Json[]).find((e) => e.type === 'SpendCorrected'),
      { data: { reason } },
      "the funder's evidence trail still reads the reason",
    );
  },
);

t.test(
  "a comparison record's offence details are sealed in the log and on the topic, and go with its erasure",
  async (t) => {
    const comparisonRef = `CMP-FT-${randomUUID().slice(0, 8)}`;
    const comparisonEvent = (type: string, data: Json, occurredAt: string): Json => ({
      eventId: randomUUID(),
      type,
      schemaVersion: 1,
      occurredAt,
      dataPartnerId: 'derbyshire-police',
      comparisonRef,
      data,
    });
    const record = comparisonEvent(
      'ComparisonRecordSubmitted',
      {
        poolId: 'derby-2025',
        indexDate: '2026-01-10',
        indexEvent: 'caution',
        ageAtIndex: 16,
        gender: 'male',
        ethnicity: 'white-british',
        postcodeDistrict: 'DE23',
        priorOffences: 1,
        priorSeriousViolence: false,
        priorCustody: false,
        definitionsVersion: 1,
      },
      '2026-01-11T10:00:00Z',
    );
    const offence = comparisonEvent(
      'ComparisonOffenceRecorded',
      {
        offenceDate: '2026-02-03',
        provenDate: '2026-03-04',
        disposal: 'youth-conditional-caution',
        offenceCategory: 'possession-of-weapon',
        seriousViolence: true,
        custodial: false,
      },
      '2026-03-05T10:00:00Z',
    );
    await h.postAccepted([record, offence], h.keys.dataPartner);
    const streamId = await streamOf(offence.eventId as string);
    const clear = [
      'possession-of-weapon',
      'youth-conditional-caution',
      '2026-02-03',
      '2026-03-04',
      '"seriousViolence"',
      '"custodial"',
    ];
    const stored = await storedText(streamId);
    for (const text of clear) t.notOk(stored.includes(text), `${text} is not in clear in the event log`);
    const published = await publishedFor(h, streamId, 2);
    for (const text of clear)
      t.notOk(
        published.some((m) => m.includes(text)),
        `${text} is not in clear on the topic`,
      );

    const offences = () => h.sql<{ offence_date: string; serious_violence: boolean }[]>`
    select offence_date::text, serious_violence from rm_comparisons.comparison_offences where stream_id = ${streamId}`;
    t.same(
      await h.waitFor('the offence projected', async () => ((await offences()).length === 1 ? offences() : undefined)),
      [{ offence_date: '2026-02-03', serious_violence: true }],
      'the evaluation still reads it',
    );

    const erased = comparisonEvent(
      'ComparisonRecordErased',
      { requestedOn: '2026-03-10', basis: 'data-subject-request' },
      '2026-03-10T10:00:00Z',
    );
    await h.postAccepted([erased], h.keys.dataPartner);
    await h.waitFor("the erased record's offence removed", async () =>
      (await offences()).length === 0 ? true : undefined,
    );
    t.equal(
      (await h.sql`select 1 from participant_keys where stream_id = ${streamId}`).length,
      0,
      'the key that sealed it is destroyed',
    );
    const live = await h.sql`select * from rm_comparisons.comparison_offences order by event_id`;
    await rebuildProjection(h.sql, comparisonsProjection, h.logger, { vault: h.vault });
    t.same(
      await h.sql`select * from rm_comparisons.comparison_offences order by event_id`,
      live,
      'a rebuild gives the rows the erasure left',
    );
  },
);

t.test('retention erases people, never a grant, although a grant stream has a key for its reasons', async (t) => {
  const grantStream = `grant-${GRANT}`;
  t.equal(
    (await h.sql`select 1 from participant_keys where stream_id = ${grantStream}`).length,
    1,
    'the grant has a key',
  );
  const events = async () =>
    (await h.sql<{ n: number }[]>`select count(*)::int as n from events where stream_id = ${grantStream}`)[0]!.n;
  const before = await events();
  // A retention period of none: every stream of this run is past it.
  const done = await applyRetention(h.sql, h.app.commands, { retentionMonths: 0, rejectionRetentionDays: 365 });
  t.ok(done.participantsErased >= 1, 'the participants are erased');
  t.equal(await events(), before, 'nothing is appended to the grant');
  t.equal(
    (await h.sql`select 1 from participant_keys where stream_id = ${grantStream}`).length,
    1,
    'and its key stays',
  );
});
