import { setImmediate as nextTurn } from 'node:timers/promises';
import {
  checkSubmission,
  maySubmit,
  type EventDefinition,
  type EventMetadata,
  type FieldError,
  type Principal,
} from '@vru/contracts';
import { refusal, type Refusal } from '@vru/domain';
import type { Sql } from '@vru/runtime';
import type { AppendCommand, AppendOutcome } from './command-handler.js';
import type { GroupCommit } from './group-commit.js';
import { recordRejections } from './rejections.js';

/** Submissions validated before the event loop gets a turn. */
const VALIDATE_SLICE = 100;

/** A submission that does not match the catalogue. */
export const invalidSubmission = (errors: FieldError[], title = 'The event is invalid'): Refusal =>
  refusal('invalid', 'validation-failed', title, errors);

/** Why this key may not submit this event type, or null when it may: the one role check for event types. */
export function roleRefusal(principal: Principal, def: EventDefinition, field = '/type'): Refusal | null {
  return maySubmit(principal.role, def)
    ? null
    : refusal('not-permitted', 'role-not-permitted', 'This key may not submit this event type', [
        {
          field,
          rule: 'role-not-permitted',
          message: `${def.type} is submitted by ${def.submittedBy.join(' or ')} keys only`,
        },
      ]);
}

export interface IngestRequest {
  principal: Principal;
  requestId: string;
  source: EventMetadata['source'];
  /** The title of a refusal for a submission that does not match the catalogue. */
  invalidTitle?: string;
  /** Refusals are recorded for the data-quality figures; an erasure request is not a submission of the provider's data. */
  recordRefusals?: boolean;
}

/**
 * The one ingest path, for single events, batches, CSV and workbook rows and erasure requests: validate each submission
 * (the catalogue's schema, then the event type's roles) → append the valid ones through the group commit, in one
 * transaction and in the order given → record the refusals → answer, one outcome per submission in input order.
 */
export class Ingest {
  constructor(
    private readonly sql: Sql,
    private readonly groupCommit: GroupCommit,
  ) {}

  async submit(request: IngestRequest, submissions: readonly unknown[]): Promise<AppendOutcome[]> {
    const outcomes = new Array<AppendOutcome>(submissions.length);
    const commands: AppendCommand[] = [];
    const slots: number[] = [];
    for (const [index, body] of submissions.entries()) {
      if (index > 0 && index % VALIDATE_SLICE === 0) await nextTurn(); // other requests get a turn between slices
      const check = checkSubmission(body);
      if (!check.ok) {
        outcomes[index] = invalidSubmission(check.errors, request.invalidTitle);
        continue;
      }
      const refused = roleRefusal(request.principal, check.definition);
      if (refused) {
        outcomes[index] = refused;
        continue;
      }
      slots.push(index);
      commands.push({
        submission: check.submission,
        definition: check.definition,
        principal: request.principal,
        requestId: request.requestId,
        source: request.source,
      });
    }
    (await this.groupCommit.append(commands)).forEach((outcome, k) => {
      outcomes[slots[k]!] = outcome;
    });
    if (request.recordRefusals !== false) {
      const refusals = outcomes.flatMap((o, index) =>
        o.status === 'rejected' ? [{ eventType: typeOf(submissions[index]), errors: o.errors }] : [],
      );
      // Best effort: a failure here must never turn a clean refusal into a 5xx.
      await recordRejections(this.sql, request.principal, request.source, refusals).catch(() => {});
    }
    return outcomes;
  }
}

/** The event type a submission names, if it names one (recordRejections keeps it only when the catalogue has it). */
const typeOf = (body: unknown): string | null => {
  const type = (body as { type?: unknown } | null)?.type;
  return typeof type === 'string' ? type : null;
};
