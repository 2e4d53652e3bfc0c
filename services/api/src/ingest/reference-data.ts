import type { FieldError } from '@vru/contracts';
import type { Sql } from '@vru/runtime';

export interface Programme {
  programmeId: string;
  startsOn: string;
  endsOn: string | null;
}

const TTL_MS = 5_000;

/**
 * Providers and programmes, registered by the VRU, cached briefly: every submission names one and
 * a database round trip per request for data that changes a few times a year would be waste.
 */
export class ReferenceData {
  private programmes = new Map<string, Programme>();
  private providers = new Set<string>();
  private loadedAt = 0;

  constructor(private readonly sql: Sql) {}

  async refreshIfStale(force = false): Promise<void> {
    if (!force && Date.now() - this.loadedAt < TTL_MS) return;
    const [programmes, providers] = await Promise.all([
      this.sql<{ programme_id: string; starts_on: string; ends_on: string | null }[]>`
        select programme_id, starts_on::text, ends_on::text from programmes`,
      this.sql<{ provider_id: string }[]>`select provider_id from providers`,
    ]);
    this.programmes = new Map(
      programmes.map((p) => [
        p.programme_id,
        { programmeId: p.programme_id, startsOn: p.starts_on, endsOn: p.ends_on },
      ]),
    );
    this.providers = new Set(providers.map((p) => p.provider_id));
    this.loadedAt = Date.now();
  }

  invalidate(): void {
    this.loadedAt = 0;
  }

  programme(id: string | null | undefined): Programme | undefined {
    return id ? this.programmes.get(id) : undefined;
  }

  /** Names in a submission that must be registered. */
  check(
    cmd: {
      submission: { programmeId?: string; providerId?: string; data: Record<string, unknown> };
      definition: { type: string };
    },
    target: { programmeId: string | null; providerId: string },
  ): FieldError[] {
    const errors: FieldError[] = [];
    const { submission: s, definition } = cmd;
    if (definition.type === 'GrantAwarded') {
      if (!this.providers.has(s.data.providerId as string))
        errors.push({
          field: '/data/providerId',
          rule: 'unknown-provider',
          message: 'No provider with this id is registered',
        });
      if (!this.programmes.has(s.data.programmeId as string))
        errors.push({
          field: '/data/programmeId',
          rule: 'unknown-programme',
          message: 'No programme with this id is registered',
        });
      return errors;
    }
    if (s.programmeId !== undefined && !this.programmes.has(s.programmeId)) {
      errors.push({
        field: '/programmeId',
        rule: 'unknown-programme',
        message: 'No programme with this id is registered',
      });
    }
    if (s.providerId !== undefined && !this.providers.has(target.providerId)) {
      errors.push({
        field: '/providerId',
        rule: 'unknown-provider',
        message: 'No provider with this id is registered',
      });
    }
    return errors;
  }
}

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
