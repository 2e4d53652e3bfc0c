import { createApiKey, upsertProgramme, upsertProvider } from '@vru/api';
import { projections } from '@vru/projector';
import {
  DEMO_FROZEN_RETURN,
  DEMO_PROGRAMMES,
  DEMO_PROVIDERS,
  demoAfterFreeze,
  demoPhases,
  demoSubmissions,
  type DemoSubmission,
} from './demo-data.js';
import type { Harness } from './harness.js';

export interface DemoKeys {
  commissioner: string;
  funder: string;
  dataPartner: string;
  admin: string;
  /** One provider key per demo provider, by provider id. */
  providers: Record<string, string>;
}

/**
 * The demo data set loaded into a harness's stack through its API (the same phases as scripts/up's load-demo),
 * with a key per role; waits until every projection has applied it. Used by the dashboard tests and screenshots.
 */
export async function loadDemo(
  h: Harness,
  options: { frozenReturn?: boolean } = {},
): Promise<{ keys: DemoKeys; accepted: number; returnId?: string }> {
  for (const p of DEMO_PROVIDERS) await upsertProvider(h.sql, p.providerId, p.name);
  for (const p of DEMO_PROGRAMMES) await upsertProgramme(h.sql, { ...p, endsOn: null });
  const key = async (role: 'provider' | 'commissioner' | 'funder' | 'data-partner' | 'admin', providerId?: string) =>
    (await createApiKey(h.sql, h.config.API_KEY_PEPPER, { role, providerId: providerId ?? null, label: 'demo' }))
      .apiKey;
  const keys: DemoKeys = {
    commissioner: await key('commissioner'),
    funder: await key('funder'),
    dataPartner: await key('data-partner'),
    admin: await key('admin'),
    providers: {},
  };
  for (const p of DEMO_PROVIDERS) keys.providers[p.providerId] = await key('provider', p.providerId);
  const keyFor = (s: DemoSubmission) =>
    s.as === 'provider'
      ? keys.providers[s.providerId!]!
      : s.as === 'data-partner'
        ? keys.dataPartner
        : keys.commissioner;

  let accepted = await h.count('events');
  for (const phase of demoPhases(demoSubmissions())) {
    for (let i = 0; i < phase.length; i += 500) {
      const chunk = phase.slice(i, i + 500);
      const res = await h.post('/v1/events/batch', { events: chunk.map((s) => s.body) }, keyFor(chunk[0]!));
      if (res.statusCode !== 200) throw new Error(`demo batch refused: ${res.statusCode} ${res.body}`);
      accepted += res.json<{ accepted: number }>().accepted;
    }
  }
  await h.waitForProjections(
    projections.map((p) => p.name),
    accepted,
  );
  if (!options.frozenReturn) return { keys, accepted };
  // As scripts/up's load-demo: freeze the quarterly return, have it signed, then the late data and a correction arrive.
  const frozen = await h.post('/v1/returns', DEMO_FROZEN_RETURN, keys.commissioner);
  if (frozen.statusCode !== 201) throw new Error(`demo freeze refused: ${frozen.statusCode} ${frozen.body}`);
  await h.signFrozenReturns();
  const late = demoAfterFreeze();
  const res = await h.post(
    '/v1/events/batch',
    { events: late.map((s) => s.body) },
    keys.providers['em-hospital-navigators']!,
  );
  if (res.statusCode !== 200) throw new Error(`demo late batch refused: ${res.statusCode} ${res.body}`);
  accepted += res.json<{ accepted: number }>().accepted;
  await h.waitForProjections(
    projections.map((p) => p.name),
    accepted,
  );
  return { keys, accepted, returnId: frozen.json<{ id: string }>().id };
}
