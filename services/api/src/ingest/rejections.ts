import type { FieldError, Principal } from '@vru/contracts';
import type { Sql } from '@vru/runtime';

export interface RejectedItem {
  eventType: string | null;
  errors: FieldError[];
}

const KNOWN_TYPE = /^[A-Za-z]{1,64}$/;

/**
 * Records refused submissions (first rule per event) for data-quality figures. Best effort: a failure here
 * must never turn a clean 4xx into a 5xx, so errors are swallowed by the caller's catch.
 */
export async function recordRejections(sql: Sql, principal: Principal, source: string, items: RejectedItem[]): Promise<void> {
  if (items.length === 0) return;
  const rows = items.map((i) => ({
    provider_id: principal.providerId,
    key_id: principal.keyId,
    event_type: i.eventType && KNOWN_TYPE.test(i.eventType) ? i.eventType : null,
    rule: (i.errors[0]?.rule ?? 'unknown').slice(0, 64),
    field: (i.errors[0]?.field ?? '').slice(0, 128),
    source,
  }));
  await sql`insert into rejected_submissions ${sql(rows, 'provider_id', 'key_id', 'event_type', 'rule', 'field', 'source')}`;
}
