import t from 'tap';
import { Harness, ServiceProcess, event } from './index.js';

// The API, relay and projector as real processes, stopped with SIGTERM while a load generator is posting.
const h = await Harness.start();
const children: ServiceProcess[] = [];
t.teardown(async () => {
  await Promise.all(children.map((c) => c.kill()));
  await h.close();
});

const env: Record<string, string> = {
  DATABASE_URL: h.config.DATABASE_URL,
  KAFKA_BROKERS: h.config.KAFKA_BROKERS,
  KAFKA_TOPIC: h.config.KAFKA_TOPIC,
  KAFKA_CLIENT_ID: h.config.KAFKA_CLIENT_ID,
  PSEUDONYM_SECRET: h.config.PSEUDONYM_SECRET,
  API_KEY_PEPPER: h.config.API_KEY_PEPPER,
  HOST: '127.0.0.1',
  PORT: '0',
  API_METRICS_PORT: '0',
  RELAY_METRICS_PORT: '0',
  RATE_LIMIT_PER_MINUTE: '10000000',
  PROJECTOR_METRICS_PORT: '0',
  RELAY_POLL_MS: '50',
  LOG_LEVEL: 'info',
  PROJECTIONS: 'participants',
  PROJECTOR_GROUP_PREFIX: h.config.PROJECTOR_GROUP_PREFIX,
};
const service = (name: string, script: string) => {
  const child = ServiceProcess.spawn(name, `services/${script}`, env);
  children.push(child);
  return child;
};
const startRelay = async () => {
  const c = service('relay', 'relay/dist/main.js');
  await c.waitForLog('relay started');
  return c;
};
const startProjector = async () => {
  const c = service('projector', 'projector/dist/main.js');
  await c.waitForLog('projector started');
  return c;
};

await t.test('SIGTERM under load loses nothing that was acknowledged', async (t) => {
  const api = service('api', 'api/dist/server.js');
  const port = await api.listeningPort();
  const [relay, projector] = await Promise.all([startRelay(), startProjector()]);

  const acknowledged: string[] = [];
  const statuses = new Map<number, number>();
  let refused = 0;
  // Each worker posts new participants' referral, consent and enrolment in turn until the API stops answering.
  const worker = async (w: number) => {
    for (let i = 0; ; i++) {
      const ref = `L${w}-${i}`;
      for (const e of [event.referred(ref), event.consent(ref), event.enrolled(ref)]) {
        let status: number;
        try {
          const res = await fetch(`http://127.0.0.1:${port}/v1/events`, {
            method: 'POST',
            headers: { authorization: `Bearer ${h.keys.providerA}`, 'content-type': 'application/json' },
            body: JSON.stringify(e),
          });
          status = res.status;
          await res.arrayBuffer();
        } catch {
          refused += 1; // the listening socket is closed: the API has stopped accepting
          return;
        }
        statuses.set(status, (statuses.get(status) ?? 0) + 1);
        if (status === 202) acknowledged.push(e.eventId as string);
        else return;
      }
    }
  };
  const load = Promise.all(Array.from({ length: 8 }, (_, w) => worker(w)));
  const acknowledgedAtLeast = (n: number) =>
    h.waitFor(
      `${n} events acknowledged under load`,
      async () => (acknowledged.length >= n ? true : undefined),
      120_000,
    );
  await acknowledgedAtLeast(100);
  // The relay and projector stop first, mid-stream; the API goes on accepting (into the outbox), then stops too.
  const pipelineExits = await Promise.all([relay.stop(), projector.stop()]);
  await acknowledgedAtLeast(acknowledged.length + 50);
  const exits = [await api.stop(), ...pipelineExits];
  await load;
  t.same(
    exits.map((e) => e.code),
    [0, 0, 0],
    'each service stopped cleanly on SIGTERM',
  );
  for (const c of [api, relay, projector])
    t.ok(
      c.logLines().some((l) => l.msg === 'stopped'),
      `${c.name} logged that it stopped`,
    );
  for (const c of [api, relay, projector]) {
    const runtime = c.logLines().find((l) => l.msg === 'starting')?.node;
    t.match(runtime, /^v24\./, `${c.name} ran on Node.js 24 (${String(runtime)})`);
  }
  t.same(
    [...statuses.keys()].filter((s) => s !== 202 && s !== 503),
    [],
    'no answer but 202, or 503 while closing',
  );
  t.ok(refused > 0, 'new connections were refused after SIGTERM');

  const [stored] = await h.sql<
    { n: number }[]
  >`select count(*)::int as n from events where event_id = any(${acknowledged}::uuid[])`;
  t.equal(stored!.n, acknowledged.length, `all ${acknowledged.length} acknowledged events are in the store`);

  // After a restart the relay publishes what was left in the outbox and the projector catches up.
  t.ok((await h.count('outbox')) > 0, 'events accepted after the relay stopped wait in the outbox');
  const [relay2, projector2] = await Promise.all([startRelay(), startProjector()]);
  const [total] = await h.sql<{ n: number }[]>`select count(*)::int as n from events`;
  await h.waitFor('outbox drained', async () => ((await h.count('outbox')) === 0 ? true : undefined), 60_000);
  await h.waitForProjections(['participants'], total!.n);
  const [applied] = await h.sql<{ n: string }[]>`select events_applied::text as n from rm_participants.checkpoint`;
  t.equal(Number(applied!.n), total!.n, 'the read model applied every stored event exactly once');
  const [referred] = await h.sql<{ n: number }[]>`select count(*)::int as n from rm_participants.participants`;
  const [referrals] = await h.sql<
    { n: number }[]
  >`select count(*)::int as n from events where type = 'ParticipantReferred'`;
  t.equal(referred!.n, referrals!.n, 'one read-model row per stored referral');
  const exits2 = await Promise.all([relay2.stop(), projector2.stop()]);
  t.same(
    exits2.map((e) => e.code),
    [0, 0],
    'the restarted relay and projector stop cleanly too',
  );
});

t.end();
