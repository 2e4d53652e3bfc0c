import { eventDefinition, schemaKnownPointer, type FieldError, type Principal } from '@vru/contracts';
import type { Sql } from '@vru/runtime';

export interface RejectedItem {
  eventType: string | null;
  errors: FieldError[];
}

/**
 * Records refused submissions (first rule per event) for data-quality figures: the event type only when the catalogue
 * has it and the field only as far as the schema defines it, so nothing the client named (an unknown type or property
 * can be any text, a person's name included) is kept. Best effort: a failure here
 * must never turn a clean 4xx into a 5xx, so errors are swallowed by the caller's catch.
 */
export async function recordRejections(
  sql: Sql,
  principal: Principal,
  source: string,
  items: RejectedItem[],
): Promise<void> {
  if (items.length === 0) return;
  const rows = items.map((i) => {
    const eventType = i.eventType && eventDefinition(i.eventType) ? i.eventType : null;
    return {
      provider_id: principal.providerId,
      key_id: principal.keyId,
      event_type: eventType,
      rule: (i.errors[0]?.rule ?? 'unknown').slice(0, 64),
      field: i.errors[0]?.field === undefined ? '' : schemaKnownPointer(eventType, i.errors[0].field),
      source,
    };
  });
  await sql`insert into rejected_submissions ${sql(rows, 'provider_id', 'key_id', 'event_type', 'rule', 'field', 'source')}`;
}
