import {
  ENTRY_COLUMNS,
  grantStreamId,
  initialVerifiedState,
  latestSignedHead,
  loadNodes,
  storedEntry,
  toStoredEvent,
  verifyLog,
  type AuditEventRow,
  type LogVerification,
  type VerifiedState,
} from '@vru/event-store';
import { auditDriftChecks, auditSpendDrift, auditVerificationProblems, type Sql } from '@vru/runtime';
import { liveTable, spendReadModel, STREAM_POSITIONS } from '@vru/projector';
import { emptyIfNoReadModel } from '../reports/index.js';
import {
  canonicalJson,
  EVIDENCE_PACK_FORMAT,
  EVIDENCE_PACK_VERSION,
  foldGrantEvents,
  planInclusionProof,
  spendFigures,
  toBase64,
  type GrantEvidencePack,
  type GrantFigures,
  type NodeId,
  type VerifierKey,
} from '@vru/verifier';

/**
 * The API's side of the audit log: verification against the pinned key (incremental: each run checks what is new
 * since the last verified head), evidence packs, and the drift check of the spend read model against the log.
 */

const SPEND_TYPES = ['GrantAwarded', 'SpendRecorded', 'SpendCorrected'];
/** The live spend read model, read without a snapshot's search path. */
const SPEND = {
  grants: liveTable(spendReadModel, spendReadModel.tables.grants),
  spend: liveTable(spendReadModel, spendReadModel.tables.spend),
  streamPositions: liveTable(spendReadModel, STREAM_POSITIONS),
};

/** A grant's figures as reported: the spend read model, through the same spendFigures the report runs. */
export async function grantFiguresFromReadModel(
  sql: Sql,
  grantRefs?: readonly string[],
): Promise<Map<string, GrantFigures>> {
  const grants = await sql<{ grant_ref: string; provider_id: string; programme_id: string; amount_pence: string }[]>`
    select grant_ref, provider_id, programme_id, amount_pence::text from ${sql(SPEND.grants)}
    ${grantRefs ? sql`where grant_ref = any(${grantRefs as string[]}::text[])` : sql``}`;
  const lines = await sql<{ grant_ref: string; amount_pence: string; category: string; period_start: string }[]>`
    select grant_ref, amount_pence::text, category, period_start::text from ${sql(SPEND.spend)}
    ${grantRefs ? sql`where grant_ref = any(${grantRefs as string[]}::text[])` : sql``}`;
  const out = new Map<string, GrantFigures>();
  for (const g of grants) {
    const own = lines
      .filter((l) => l.grant_ref === g.grant_ref)
      .map((l) => ({ amountPence: Number(l.amount_pence), category: l.category, periodStart: l.period_start }));
    const figures = spendFigures(Number(g.amount_pence), own);
    out.set(g.grant_ref, { grantRef: g.grant_ref, providerId: g.provider_id, programmeId: g.programme_id, ...figures });
  }
  return out;
}

type EntryRow = AuditEventRow & { leaf_index: string | null };

function figuresFromEvents(grantRef: string, rows: readonly AuditEventRow[]): GrantFigures | null {
  const { terms, lines } = foldGrantEvents(rows.map(toStoredEvent));
  if (!terms) return null;
  return {
    grantRef,
    providerId: terms.providerId,
    programmeId: terms.programmeId,
    ...spendFigures(terms.amountPence, lines),
  };
}

/** How long the spend read model may take to apply a grant event before its absence counts as drift. */
export const DRIFT_GRACE_SECONDS = 60;

/**
 * Every grant's figures re-computed from the events as stored in the log (the stored form, not the read model): the
 * events the read model says it applied, and every event older than DRIFT_GRACE_SECONDS whether applied or not. A
 * projector a few events behind is lag, not drift; one that skipped or lost an event, or a read model that hides
 * one, shows as drift.
 */
export async function grantFiguresFromLog(sql: Sql): Promise<Map<string, GrantFigures>> {
  const rows = await sql.unsafe<AuditEventRow[]>(
    `select ${ENTRY_COLUMNS} from events e left join ${SPEND.streamPositions} p on p.stream_id = e.stream_id
     where e.stream_id like 'grant-%' and e.type = any($1::text[])
       and (e.stream_version <= coalesce(p.version, 0) or e.recorded_at < now() - make_interval(secs => $2))
     order by e.stream_id, e.stream_version`,
    [SPEND_TYPES, DRIFT_GRACE_SECONDS],
  );
  const byStream = new Map<string, AuditEventRow[]>();
  for (const r of rows) (byStream.get(r.stream_id) ?? byStream.set(r.stream_id, []).get(r.stream_id)!).push(r);
  const out = new Map<string, GrantFigures>();
  for (const [streamId, events] of byStream) {
    const grantRef = streamId.slice('grant-'.length);
    const figures = figuresFromEvents(grantRef, events);
    if (figures) out.set(grantRef, figures);
  }
  return out;
}

export interface SpendDrift {
  grantRef: string;
  field: string;
  log: unknown;
  readModel: unknown;
}

export interface DriftCheck {
  ok: boolean;
  checkedAt: string;
  grantsChecked: number;
  drift: SpendDrift[];
}

const FIGURE_FIELDS = [
  'providerId',
  'programmeId',
  'awardedPence',
  'spentPence',
  'remainingPence',
  'spentByCategory',
  'spentByQuarter',
] as const;

/** Compares the spend figures of every grant in the log with the read model's; a grant missing on either side is drift. */
export async function checkSpendDrift(sql: Sql): Promise<DriftCheck> {
  let fromLog: Map<string, GrantFigures>;
  let fromReadModel: Map<string, GrantFigures>;
  try {
    [fromLog, fromReadModel] = await Promise.all([grantFiguresFromLog(sql), grantFiguresFromReadModel(sql)]);
  } catch (err) {
    // Before the spend projection first runs its tables do not exist: nothing has been reported that could drift.
    if (emptyIfNoReadModel(err).length === 0) {
      return { ok: true, checkedAt: new Date().toISOString(), grantsChecked: 0, drift: [] };
    }
    throw err;
  }
  const drift: SpendDrift[] = [];
  for (const grantRef of new Set([...fromLog.keys(), ...fromReadModel.keys()])) {
    const log = fromLog.get(grantRef);
    const rm = fromReadModel.get(grantRef);
    if (!log || !rm) {
      drift.push({ grantRef, field: 'grant', log: log ? 'present' : 'absent', readModel: rm ? 'present' : 'absent' });
      continue;
    }
    for (const field of FIGURE_FIELDS) {
      if (canonicalJson(log[field]) !== canonicalJson(rm[field]))
        drift.push({ grantRef, field, log: log[field], readModel: rm[field] });
    }
  }
  return { ok: drift.length === 0, checkedAt: new Date().toISOString(), grantsChecked: fromLog.size, drift };
}

export class EvidenceNotReady extends Error {}

/** Where the monitor reports alarms (the API's logger). */
export interface AlarmLogger {
  error(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

/**
 * A grant's evidence pack (the verifier's format, version 1): the latest head signed by the pinned key, every event
 * of the grant's stream under it in stored form with its inclusion proof, and the figures as the spend report
 * gives them. Events not yet under a signed head make the pack wait (EvidenceNotReady), so the figures and the
 * events always describe the same log.
 */
export async function grantEvidencePack(
  sql: Sql,
  key: VerifierKey,
  grantRef: string,
): Promise<GrantEvidencePack | null> {
  const signed = await latestSignedHead(sql, key);
  if (!signed) throw new EvidenceNotReady('no tree head has been signed yet');
  const size = signed.head.size;
  const rows = await sql.unsafe<EntryRow[]>(
    `select ${ENTRY_COLUMNS}, l.leaf_index::text from events e left join audit_log_leaves l on l.position = e.position
     where e.stream_id = $1 order by e.stream_version`,
    [grantStreamId(grantRef)],
  );
  if (rows.length === 0) return null;
  if (rows.some((r) => r.leaf_index === null || Number(r.leaf_index) >= size)) {
    throw new EvidenceNotReady('the latest events of this grant are not under a signed tree head yet');
  }
  const plans = rows.map((r) => planInclusionProof(Number(r.leaf_index), size));
  const nodeKey = (n: NodeId) => `${n.level}:${n.index}`;
  const unique = [...new Map(plans.flatMap((p) => p.nodes).map((n) => [nodeKey(n), n])).values()];
  const hashes = new Map((await loadNodes(sql, unique)).map((h, i) => [nodeKey(unique[i]!), h]));
  // The figures must describe exactly these events: the read model must have applied the stream up to its last one.
  const [applied] = await sql<{ version: number }[]>`
    select version from ${sql(SPEND.streamPositions)} where stream_id = ${grantStreamId(grantRef)}`.catch(() => []);
  const figures = (await grantFiguresFromReadModel(sql, [grantRef])).get(grantRef);
  if (!figures || (applied?.version ?? 0) < rows.at(-1)!.stream_version) {
    throw new EvidenceNotReady('the spend read model has not caught up with this grant yet');
  }
  return {
    format: EVIDENCE_PACK_FORMAT,
    version: EVIDENCE_PACK_VERSION,
    subject: { kind: 'grant', grantRef },
    checkpoint: signed.checkpoint,
    events: rows.map((r, i) => ({
      leafIndex: Number(r.leaf_index),
      entry: storedEntry(r),
      inclusionProof: plans[i]!.build(plans[i]!.nodes.map((n) => hashes.get(nodeKey(n))!)).map(toBase64),
    })),
    figures,
  };
}

export interface AuditStatus {
  verification: LogVerification | null;
  drift: DriftCheck | null;
}

/**
 * Keeps what this process has verified, so each verification only checks what is new, and runs the drift check
 * and a verification every `intervalMs`. Runs are serialised: two requests never verify the same leaves twice.
 */
export class AuditMonitor {
  private state: VerifiedState = initialVerifiedState();
  private queue: Promise<unknown> = Promise.resolve();
  private lastDrift: DriftCheck | null = null;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly sql: Sql,
    readonly key: VerifierKey | null,
    private readonly logger?: AlarmLogger,
  ) {}

  private serial<T>(run: () => Promise<T>): Promise<T> {
    const next = this.queue.then(run, run);
    this.queue = next.catch(() => undefined);
    return next;
  }

  private readonly inflight = new Map<string, Promise<unknown>>();

  /** Requests that arrive while the same check is queued or running share its answer: one pass, however many ask. */
  private shared<T>(name: string, run: () => Promise<T>): Promise<T> {
    const pending = this.inflight.get(name) as Promise<T> | undefined;
    if (pending) return pending;
    const next = this.serial(run);
    this.inflight.set(name, next);
    const clear = () => {
      if (this.inflight.get(name) === next) this.inflight.delete(name);
    };
    next.then(clear, clear);
    return next;
  }

  /** Verifies against the pinned key: incrementally, or from the first leaf when `full`. */
  verify(full = false): Promise<LogVerification> {
    const key = this.key;
    if (!key) return Promise.reject(new Error('AUDIT_PUBLIC_KEY is not configured'));
    return this.shared(full ? 'verify-full' : 'verify', async () => {
      const result = await verifyLog(this.sql, key, full ? initialVerifiedState() : this.state);
      // A full run that found nothing replaces the state; a problem keeps the last good one, so it is found again.
      if (result.ok) this.state = result.state;
      auditVerificationProblems.set(result.problems.length);
      if (!result.ok)
        this.logger?.error({ problems: result.problems.slice(0, 5) }, 'AUDIT ALARM: the audit log does not verify');
      return result;
    });
  }

  driftCheck(): Promise<DriftCheck> {
    return this.shared('drift', async () => {
      try {
        const result = await checkSpendDrift(this.sql);
        this.lastDrift = result;
        auditSpendDrift.set(new Set(result.drift.map((d) => d.grantRef)).size);
        auditDriftChecks.inc({ outcome: result.ok ? 'ok' : 'drift' });
        if (!result.ok)
          this.logger?.error({ drift: result.drift.slice(0, 5) }, 'AUDIT ALARM: spend read model differs from the log');
        return result;
      } catch (err) {
        auditDriftChecks.inc({ outcome: 'failed' });
        throw err;
      }
    });
  }

  get drift(): DriftCheck | null {
    return this.lastDrift;
  }

  /** Periodic drift check and verification; the timer never keeps the process alive. */
  start(intervalMs: number): void {
    if (this.timer) return;
    const tick = () => {
      void this.driftCheck().catch((err: unknown) =>
        this.logger?.warn({ error: (err as Error).message }, 'drift check failed'),
      );
      if (this.key)
        void this.verify().catch((err: unknown) =>
          this.logger?.warn({ error: (err as Error).message }, 'audit verification failed'),
        );
    };
    this.timer = setInterval(tick, intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }
}
