import type { Sql } from './db.js';

/** Registering providers and programmes: reference data owned by the VRU, not events from providers. */
export async function upsertProvider(sql: Sql, providerId: string, name: string): Promise<void> {
  await sql`insert into providers (provider_id, name) values (${providerId}, ${name})
            on conflict (provider_id) do update set name = excluded.name`;
}

export async function upsertProgramme(
  sql: Sql,
  p: { programmeId: string; name: string; interventionType: string; startsOn: string; endsOn?: string | null },
): Promise<void> {
  await sql`insert into programmes (programme_id, name, intervention_type, starts_on, ends_on)
            values (${p.programmeId}, ${p.name}, ${p.interventionType}, ${p.startsOn}, ${p.endsOn ?? null})
            on conflict (programme_id) do update set name = excluded.name, intervention_type = excluded.intervention_type,
              starts_on = excluded.starts_on, ends_on = excluded.ends_on`;
}
