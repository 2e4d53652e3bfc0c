import type { StoredEvent } from '@vru/contracts';
import { ageAtReferral, ageBand } from '@vru/domain';
import type { TransactionSql } from '@vru/runtime';
import { type Positioned, type Projection, recordset } from '../projection.js';

/** The read model's projection name (its schema is rm_<name>) and tables: the reports and the audit read them by these names. */
export const participantsReadModel = {
  name: 'participants',
  tables: { participants: 'participants', cellChanges: 'participant_cell_changes', cells: 'participant_cells' },
} as const;

/** Enrolled, and not exited in a quarter before the enrolment's (then active in no quarter). */
const ACTIVE = (r: string) =>
  `${r}.enrolled_on is not null and (${r}.exit_date is null or date_trunc('quarter', ${r}.exit_date) >= date_trunc('quarter', ${r}.enrolled_on))`;

/**
 * The disclosure cells a participant row counts in, in SQL over a row alias `r`: one row per figure (`referred`,
 * `enrolled`, `completed` by their dates' months; the active stock as `active-from`, the month of enrolment, and
 * `active-to`, the first month of the quarter after the exit's), with the row's age band and delivery setting as the
 * quarterly return groups them. A person is active in a quarter when enrolled by its end and not exited before its
 * start: the quarters from `active-from` up to, not including, `active-to`.
 */
const cellsOf = (r: string) => `(
  select c.figure, c.month, coalesce(${r}.age_band, 'unknown') as age_band,
    coalesce(${r}.delivery_setting, case when ${r}.enrolled_on is null then 'not-enrolled' else 'unknown' end) as setting
  from (values
    ('referred', date_trunc('month', ${r}.referral_date)::date),
    ('enrolled', date_trunc('month', ${r}.enrolled_on)::date),
    ('completed', case when ${r}.exit_reason = 'completed' then date_trunc('month', ${r}.exit_date)::date end),
    ('active-from', case when ${ACTIVE(r)} then date_trunc('month', ${r}.enrolled_on)::date end),
    ('active-to', case when ${ACTIVE(r)} and ${r}.exit_date is not null
      then (date_trunc('quarter', ${r}.exit_date) + interval '3 months')::date end)
  ) as c(figure, month)
  where c.month is not null)`;

/**
 * One row per participant stream: who was referred (pseudonymous: the stream id only, banded age, postcode
 * district), their consents, enrolment, first session, exit and follow-ups. Serves the engagement funnel,
 * demographic breakdowns and cohort membership for outcomes and reoffending.
 */
export interface ParticipantPatch {
  referralDate?: string;
  referralSource?: string;
  ageAtReferral?: number | null;
  ageBand?: string | null;
  gender?: string | null;
  ethnicity?: string | null;
  postcodeDistrict?: string | null;
  serviceConsentFrom?: string | null;
  serviceConsentWithdrawnOn?: string | null;
  evaluationConsentFrom?: string | null;
  evaluationConsentWithdrawnOn?: string | null;
  followUpConsentFrom?: string | null;
  followUpConsentWithdrawnOn?: string | null;
  enrolledOn?: string;
  plannedSessions?: number;
  deliverySetting?: string;
  /** The earliest wins (least), whatever order sessions arrive in. */
  firstSessionDate?: string;
  exitDate?: string;
  exitReason?: string;
  /** Keyed by months after exit; merged, a later record for the same month replaces the earlier. */
  followUps?: Record<string, { followUpDate: string; contactMade: boolean; status: string }>;
  /** An outcome measure at baseline, or at exit, was recorded (data quality's missing measures count those without). */
  measuredBaseline?: true;
  measuredExit?: true;
}

export interface ParticipantChange {
  streamId: string;
  providerId: string;
  programmeId: string;
  patch: ParticipantPatch;
  /** An erasure: the patch's nulls are written into every version of the row, not only from the erasure on. */
  erasure?: true;
}

const SCOPE_COLUMNS: Record<string, ['serviceConsent' | 'evaluationConsent' | 'followUpConsent']> = {
  'service-delivery': ['serviceConsent'],
  evaluation: ['evaluationConsent'],
  'follow-up-contact': ['followUpConsent'],
};

export function projectParticipant(event: StoredEvent): ParticipantChange[] {
  const d = event.data;
  const patch = participantPatch(event.type, d);
  if (!patch) return [];
  const change: ParticipantChange = {
    streamId: event.streamId,
    providerId: event.providerId,
    programmeId: event.programmeId ?? '',
    patch,
  };
  return [event.type === 'ParticipantErased' ? { ...change, erasure: true } : change];
}

/** A personal field, or null where it was erased (its key destroyed before this replay). */
const optional = (v: unknown): string | null => (typeof v === 'string' ? v : null);

function participantPatch(type: string, d: Record<string, unknown>): ParticipantPatch | null {
  switch (type) {
    case 'ParticipantReferred': {
      const age = ageAtReferral(d as { ageAtReferral?: number; birthYearMonth?: string; referralDate: string });
      return {
        referralDate: String(d.referralDate),
        referralSource: String(d.referralSource),
        ageAtReferral: age,
        ageBand: age === null ? null : ageBand(age),
        gender: optional(d.gender),
        ethnicity: optional(d.ethnicity),
        postcodeDistrict: optional(d.postcodeDistrict),
      };
    }
    case 'ParticipantErased':
      // Counts stay (the row, its dates and consents); what could identify the person goes.
      return { ageAtReferral: null, ageBand: null, gender: null, ethnicity: null, postcodeDistrict: null };
    case 'ConsentRecorded': {
      // The latest recorded consent for a scope wins: consenting again after a withdrawal re-includes from then.
      const [col] = SCOPE_COLUMNS[String(d.scope)] ?? [];
      return col ? { [`${col}From`]: String(d.recordedOn), [`${col}WithdrawnOn`]: null } : null;
    }
    case 'ConsentWithdrawn': {
      const [col] = SCOPE_COLUMNS[String(d.scope)] ?? [];
      return col ? { [`${col}WithdrawnOn`]: String(d.withdrawnOn) } : null;
    }
    case 'ParticipantEnrolled':
      return {
        enrolledOn: String(d.startDate),
        plannedSessions: Number(d.plannedSessions),
        deliverySetting: String(d.deliverySetting),
      };
    case 'SessionAttended':
      return { firstSessionDate: String(d.sessionDate) };
    case 'ParticipantExited':
      return { exitDate: String(d.exitDate), exitReason: String(d.reason) };
    case 'OutcomeMeasured':
      // Only whether one was taken: the scores are the outcomes read model's.
      return d.timepoint === 'baseline'
        ? { measuredBaseline: true }
        : d.timepoint === 'exit'
          ? { measuredExit: true }
          : null;
    case 'FollowUpRecorded':
      return {
        followUps: {
          [String(d.monthsAfterExit)]: {
            followUpDate: String(d.followUpDate),
            contactMade: Boolean(d.contactMade),
            status: String(d.status),
          },
        },
      };
    default:
      return null;
  }
}

/** Folds a batch's changes into one patch per stream, in order. */
export function mergeParticipantChanges<C extends ParticipantChange>(changes: readonly C[]): C[] {
  const byStream = new Map<string, C>();
  for (const c of changes) {
    const prev = byStream.get(c.streamId);
    if (!prev) {
      byStream.set(c.streamId, { ...c, patch: { ...c.patch } });
      continue;
    }
    const { firstSessionDate, followUps, ...rest } = c.patch;
    Object.assign(prev.patch, rest);
    if (firstSessionDate && (!prev.patch.firstSessionDate || firstSessionDate < prev.patch.firstSessionDate))
      prev.patch.firstSessionDate = firstSessionDate;
    if (followUps) prev.patch.followUps = { ...prev.patch.followUps, ...followUps };
  }
  return [...byStream.values()];
}

/** patch key → [column, SQL type]. A key present in the patch sets the column (null included); absent keeps it. */
const COLUMNS: [keyof ParticipantPatch, string, string][] = [
  ['referralDate', 'referral_date', 'date'],
  ['referralSource', 'referral_source', 'text'],
  ['ageAtReferral', 'age_at_referral', 'integer'],
  ['ageBand', 'age_band', 'text'],
  ['gender', 'gender', 'text'],
  ['ethnicity', 'ethnicity', 'text'],
  ['postcodeDistrict', 'postcode_district', 'text'],
  ['serviceConsentFrom', 'service_consent_from', 'date'],
  ['serviceConsentWithdrawnOn', 'service_consent_withdrawn_on', 'date'],
  ['evaluationConsentFrom', 'evaluation_consent_from', 'date'],
  ['evaluationConsentWithdrawnOn', 'evaluation_consent_withdrawn_on', 'date'],
  ['followUpConsentFrom', 'follow_up_consent_from', 'date'],
  ['followUpConsentWithdrawnOn', 'follow_up_consent_withdrawn_on', 'date'],
  ['enrolledOn', 'enrolled_on', 'date'],
  ['plannedSessions', 'planned_sessions', 'integer'],
  ['deliverySetting', 'delivery_setting', 'text'],
  ['exitDate', 'exit_date', 'date'],
  ['exitReason', 'exit_reason', 'text'],
  ['measuredBaseline', 'measured_baseline', 'boolean'],
  ['measuredExit', 'measured_exit', 'boolean'],
];

/** The current version of each row patched, at the patch's position (the versioning trigger keeps the one before). */
const UPDATE_SQL = `
  update only participants_versions t set
    ${COLUMNS.map(([key, col, type]) => `${col} = case when x.patch ? '${key}' then (x.patch->>'${key}')::${type} else t.${col} end`).join(',\n    ')},
    first_session_date = least(t.first_session_date, (x.patch->>'firstSessionDate')::date),
    follow_ups = t.follow_ups || coalesce(x.patch->'followUps', '{}'::jsonb),
    valid_from = x.position
  from json_to_recordset($1::text::json) as x("streamId" text, patch jsonb, position bigint)
  where t.stream_id = x."streamId" and t.valid_to is null`;

const CELL_KEY = 'programme_id, provider_id, figure, month, age_band, setting';

/**
 * UPDATE_SQL, and what it changed in the disclosure cells: the cells of each updated row's new version (+1) against
 * its previous version's (-1), read before the update (every part of one statement sees the rows as they were). A row
 * the update leaves as it was is not returned and changes nothing.
 */
const UPDATE_WITH_CELLS_SQL = `
  with old as (
    select stream_id, programme_id, provider_id, referral_date, enrolled_on, exit_date, exit_reason, age_band, delivery_setting
    from only participants_versions
    where valid_to is null and stream_id in (select "streamId" from json_to_recordset($1::text::json) as x("streamId" text))),
  updated as (${UPDATE_SQL}
    returning t.stream_id, t.programme_id, t.provider_id, t.referral_date, t.enrolled_on, t.exit_date, t.exit_reason,
      t.age_band, t.delivery_setting, t.valid_from),
  changed as (
    select n.stream_id, n.programme_id, n.provider_id, c.figure, c.month, c.age_band, c.setting, n.valid_from, sum(c.change)::int as change
    from updated n
    left join old o using (stream_id)
    cross join lateral (
      select figure, month, age_band, setting, 1 as change from ${cellsOf('n')} cn
      union all
      select figure, month, age_band, setting, -1 from ${cellsOf('o')} co where o.stream_id is not null) c
    group by 1, 2, 3, 4, 5, 6, 7, 8
    having sum(c.change) <> 0),
  logged as (
    insert into participant_cell_changes_versions (stream_id, ${CELL_KEY}, change, valid_from)
    select stream_id, ${CELL_KEY}, change, valid_from from changed)
  insert into participant_cells (${CELL_KEY}, people)
  select ${CELL_KEY}, sum(change)::int from changed group by ${CELL_KEY} order by ${CELL_KEY}
  on conflict (${CELL_KEY}) do update set people = participant_cells.people + excluded.people`;

/**
 * An erasure's age bands in the cells: the person's changes are rewritten under 'unknown' at their positions (as
 * ERASE_SQL rewrites every version of the row) and the running counts move with them.
 */
const ERASE_CELLS_SQL = `
  with erased as (select "streamId" as stream_id from json_to_recordset($1::text::json) as x("streamId" text)),
  known as (
    select ${CELL_KEY}, change from participant_cell_changes_versions
    where stream_id in (select stream_id from erased) and age_band <> 'unknown'),
  rewritten as (
    update participant_cell_changes_versions set age_band = 'unknown'
    where stream_id in (select stream_id from erased) and age_band <> 'unknown'),
  moved as (
    select programme_id, provider_id, figure, month, age_band, setting, -change as people from known
    union all
    select programme_id, provider_id, figure, month, 'unknown', setting, change from known)
  insert into participant_cells (${CELL_KEY}, people)
  select ${CELL_KEY}, sum(people)::int from moved group by ${CELL_KEY} order by ${CELL_KEY}
  on conflict (${CELL_KEY}) do update set people = participant_cells.people + excluded.people`;

/**
 * An erasure's nulls written into every version of the row in place (valid_from unchanged: no new version); the
 * statement names the parent table, so it reaches the closed versions too.
 */
const ERASE_SQL = `
  update participants_versions t set
    ${COLUMNS.map(([key, col, type]) => `${col} = case when x.patch ? '${key}' then (x.patch->>'${key}')::${type} else t.${col} end`).join(',\n    ')}
  from json_to_recordset($1::text::json) as x("streamId" text, patch jsonb)
  where t.stream_id = x."streamId"`;

/**
 * A replay's chunk, computed here instead of by a statement per round and the versioning trigger (the rows are the
 * same; see docs/performance.md): the chunk's streams' current rows are read once, every change is applied to them in
 * position order as UPDATE_SQL and the trigger would, and the closed versions, the new current rows and the cell changes
 * are each written by one COPY (a multi-row insert from JSON cost several times as much). Only for a replay: the shadow
 * schema has no other writer, so the rows read stay current until this chunk writes them. An erasure goes through
 * `write` between the changes before and after it (it rewrites versions already written); a chunk with a value this
 * code does not know to be in PostgreSQL's own form (a date other than YYYY-MM-DD, say) goes round by round.
 */
export async function writeParticipantsReplay(
  tx: TransactionSql,
  changes: readonly Positioned<ParticipantChange>[],
): Promise<void> {
  let from = 0;
  for (let i = 0; i <= changes.length; i++) {
    const change = changes[i];
    if (change !== undefined && !change.erasure) continue;
    await replaySegment(tx, changes.slice(from, i));
    if (change) await participantsProjection.write(tx, [change]);
    from = i + 1;
  }
}

/** A stored participant row: columns by name, dates as YYYY-MM-DD, follow-ups parsed. */
export type ParticipantRow = Record<string, unknown> & { follow_ups: Record<string, unknown> };

/** The row's columns after its identity, in table order. */
const ROW_COLUMNS: string[] = [
  ...COLUMNS.map(([, col]) => col).flatMap((col) => (col === 'exit_date' ? ['first_session_date', col] : [col])),
  'follow_ups',
];
const IDENTITY = ['stream_id', 'provider_id', 'programme_id'];

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
/** A date as PostgreSQL prints it back (so it compares as text): four-digit year from 1000, a real calendar day. */
const canonicalDate = (v: unknown): boolean => {
  const m = typeof v === 'string' ? DATE.exec(v) : null;
  if (m === null) return false;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  return y >= 1000 && mo >= 1 && mo <= 12 && d >= 1 && d <= new Date(Date.UTC(y, mo, 0)).getUTCDate();
};
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
// A lone surrogate fails PostgreSQL's JSON input (the round path's error) but would be replaced in a COPY; a NUL is
// refused by both, and separates a cell's parts here.
const isText = (v: unknown): boolean => typeof v === 'string' && !/[\p{Cs}\0]/u.test(v);

/** Whether every value of the change reads back from PostgreSQL as it is here (so equal rows compare equal here). */
function inStoredForm(change: ParticipantChange): boolean {
  const { patch } = change;
  if (!isText(change.streamId) || !isText(change.providerId) || !isText(change.programmeId)) return false;
  for (const [key, , type] of COLUMNS) {
    const v = patch[key];
    if (v === undefined || v === null) continue;
    const ok =
      type === 'date'
        ? canonicalDate(v)
        : type === 'integer'
          ? Number.isInteger(v) && Math.abs(v as number) < 2 ** 31
          : type === 'boolean'
            ? typeof v === 'boolean'
            : type === 'text' && isText(v);
    if (!ok) return false;
  }
  if (patch.firstSessionDate !== undefined && !canonicalDate(patch.firstSessionDate)) return false;
  return patch.followUps === undefined || isObject(patch.followUps);
}

/** JSON with object keys sorted: jsonb's equality (key order is not kept) as a string comparison. */
const canonicalJson = (v: unknown): string =>
  JSON.stringify(v, (_, x: unknown) =>
    isObject(x)
      ? Object.fromEntries(
          Object.keys(x)
            .sort()
            .map((k) => [k, x[k]]),
        )
      : x,
  );

/**
 * UPDATE_SQL's new row for one patch (set keys replace, the earliest first session, follow-ups merged by key), or
 * undefined where it changes no column: the versioning trigger's rule, a change of position alone is no new version.
 */
export function patchedRow(row: ParticipantRow, patch: ParticipantPatch): ParticipantRow | undefined {
  let next: ParticipantRow | undefined;
  const set = (col: string, v: unknown) => ((next ??= { ...row })[col] = v);
  for (const [key, col] of COLUMNS) {
    const v = patch[key];
    if (v !== undefined && v !== row[col]) set(col, v);
  }
  const first = patch.firstSessionDate;
  if (first !== undefined && (row.first_session_date === null || first < (row.first_session_date as string)))
    set('first_session_date', first);
  if (patch.followUps !== undefined) {
    // As jsonb's ||, from the patch as JSON carries it (a key without a value is not in it).
    const merged = { ...row.follow_ups };
    for (const [k, v] of Object.entries(patch.followUps as Record<string, unknown>)) if (v !== undefined) merged[k] = v;
    if (canonicalJson(merged) !== canonicalJson(row.follow_ups)) set('follow_ups', merged);
  }
  return next;
}

const monthOf = (d: string) => `${d.slice(0, 8)}01`;
const quarterIndex = (d: string) => Number(d.slice(0, 4)) * 4 + Math.floor((Number(d.slice(5, 7)) - 1) / 3);
/** The first day of the quarter after the date's: `(date_trunc('quarter', d) + interval '3 months')::date`. */
const nextQuarterOf = (d: string) => {
  const q = quarterIndex(d) + 1;
  return `${Math.floor(q / 4)}-${String((q % 4) * 3 + 1).padStart(2, '0')}-01`;
};

/**
 * cellsOf for a row in this process (dates as YYYY-MM-DD): [figure, month, age band, setting] per cell. The SQL above
 * is the definition; a replay computes the same here so that its cell changes need no statement of their own (the
 * rebuild's comparison with the round path checks them, docs/performance.md).
 */
export function participantCells(r: ParticipantRow): [string, string, string, string][] {
  const band = (r.age_band as string | null) ?? 'unknown';
  const enrolled = r.enrolled_on as string | null;
  const exit = r.exit_date as string | null;
  const setting = (r.delivery_setting as string | null) ?? (enrolled === null ? 'not-enrolled' : 'unknown');
  const active = enrolled !== null && (exit === null || quarterIndex(exit) >= quarterIndex(enrolled));
  const cells: [string, string | null][] = [
    ['referred', r.referral_date === null ? null : monthOf(r.referral_date as string)],
    ['enrolled', enrolled === null ? null : monthOf(enrolled)],
    ['completed', r.exit_reason === 'completed' && exit !== null ? monthOf(exit) : null],
    ['active-from', active ? monthOf(enrolled) : null],
    ['active-to', active && exit !== null ? nextQuarterOf(exit) : null],
  ];
  return cells.flatMap(([figure, month]) => (month === null ? [] : [[figure, month, band, setting]]));
}

/** participantCells as keys (parts joined by NUL), once per row: a row is the new version and then the one before. */
const cellKeysOf = new WeakMap<ParticipantRow, string[]>();
function cellKeys(r: ParticipantRow): string[] {
  let keys = cellKeysOf.get(r);
  if (keys === undefined) cellKeysOf.set(r, (keys = participantCells(r).map((c) => c.join('\0'))));
  return keys;
}

/** A value in COPY's text format. */
const copyValue = (v: unknown): string =>
  v === null || v === undefined
    ? '\\N'
    : // eslint-disable-next-line @typescript-eslint/no-base-to-string -- an object is JSON; the rest are scalars
      (typeof v === 'object' ? JSON.stringify(v) : String(v)).replace(/[\\\t\n\r]/g, (c) => COPY_ESCAPES[c]!);
const COPY_ESCAPES: Record<string, string> = { '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r' };
const copyLine = (values: readonly unknown[]): string => `${values.map(copyValue).join('\t')}\n`;

/**
 * Rows into a table by COPY (text format). No statement may be sent on the connection while it runs (postgres.js
 * refuses it): applyInTransaction sends its own statements of the chunk before this write's first one returns.
 */
async function copyInto(tx: TransactionSql, table: string, columns: readonly string[], lines: string[]) {
  if (lines.length === 0) return;
  const stream = await tx.unsafe(`copy ${table} (${columns.join(', ')}) from stdin`).writable();
  const failed = new Promise<never>((_, reject) => stream.once('error', reject));
  failed.catch(() => {});
  await Promise.race([
    new Promise<void>((resolve, reject) => stream.write(lines.join(''), (e) => (e ? reject(e) : resolve()))),
    failed,
  ]);
  stream.end();
  // postgres.js never settles a COPY that PostgreSQL refuses after its end was sent (a row breaking a constraint):
  // a statement sent right behind it (once the end is out, which frees the connection) fails then, as the
  // transaction is aborted, and otherwise answers once the COPY is done, so the replay fails instead of hanging.
  await new Promise((resolve) => setImmediate(resolve));
  await Promise.race([tx`select 1`, failed]);
}

const VERSION_COLUMNS = [...IDENTITY, ...ROW_COLUMNS];

const ADD_CELL_TOTALS_SQL = `
  insert into participant_cells (${CELL_KEY}, people)
  select "programmeId", "providerId", figure, month, "ageBand", setting, people
  from json_to_recordset($1::text::json) as x("programmeId" text, "providerId" text, figure text, month date, "ageBand" text, setting text, people integer)
  order by 1, 2, 3, 4, 5, 6
  on conflict (${CELL_KEY}) do update set people = participant_cells.people + excluded.people`;
const CHANGE_COLUMNS = ['stream_id', 'programme_id', 'provider_id', 'figure', 'month', 'age_band', 'setting'];

/**
 * A new stream's blank row as the round path's insert gives it: each column's default (a boolean, follow-ups' empty
 * object), else null; undefined while a column has a default not known here (replays then go round by round).
 */
let blankCache: Map<string, unknown> | null | undefined = null;
function blankRowValues(): Map<string, unknown> | undefined {
  if (blankCache !== null) return blankCache;
  const values = new Map<string, unknown>();
  for (const definition of participantsProjection.tables[0]!.columns) {
    const name = definition.trim().split(/\s+/)[0]!;
    const given = /\bdefault\s+(.+)$/i.exec(definition)?.[1]?.trim();
    if (given === undefined) values.set(name, null);
    else if (given === 'true' || given === 'false') values.set(name, given === 'true');
    else if (name === 'follow_ups' && given === "'{}'") values.set(name, {});
    else return (blankCache = undefined);
  }
  return (blankCache = values);
}

async function replaySegment(tx: TransactionSql, changes: readonly Positioned<ParticipantChange>[]): Promise<void> {
  if (changes.length === 0) return;
  const blankValues = blankRowValues();
  if (blankValues === undefined || !changes.every(inStoredForm)) {
    // Round by round as a live batch is: each stream's k-th change in the k-th round.
    const rounds: Positioned<ParticipantChange>[][] = [];
    const seen = new Map<string, number>();
    for (const c of changes) {
      const k = seen.get(c.streamId) ?? 0;
      seen.set(c.streamId, k + 1);
      (rounds[k] ??= []).push(c);
    }
    for (const round of rounds) await participantsProjection.write(tx, round);
    return;
  }
  const streamIds = [...new Set(changes.map((c) => c.streamId))];
  const stored = await tx<{ valid_from: string; row: ParticipantRow }[]>`
    select valid_from::text, to_jsonb(t) - 'valid_from' - 'valid_to' as row
    from only participants_versions t where valid_to is null and stream_id = any(${streamIds}::text[])`;
  const rows = new Map<string, { row: ParticipantRow; from: string; stored: boolean; changed: boolean }>();
  for (const s of stored)
    rows.set(s.row.stream_id as string, { row: s.row, from: s.valid_from, stored: true, changed: false });
  const closed: string[] = [];
  const cellChanges: string[] = [];
  const totals = new Map<string, number>();
  const version = (r: ParticipantRow) => VERSION_COLUMNS.map((c) => r[c]);
  // UPDATE_WITH_CELLS_SQL's cells: the new version's (+1) against the one before's (-1), those that differ.
  const cellChange = (before: ParticipantRow, after: ParticipantRow, at: string) => {
    // A row is in each of its cells once (one month per figure): a cell only one side has changes by one.
    const [was, is] = [cellKeys(before), cellKeys(after)];
    for (const [cells, other, n] of [
      [is, was, 1],
      [was, is, -1],
    ] as const)
      for (const cell of cells) {
        if (other.includes(cell)) continue;
        const key = `${after.programme_id as string}\0${after.provider_id as string}\0${cell}`;
        totals.set(key, (totals.get(key) ?? 0) + n);
        cellChanges.push(copyLine([after.stream_id, ...key.split('\0'), n, at]));
      }
  };
  for (const c of changes) {
    const current = rows.get(c.streamId);
    if (current === undefined) {
      // The insert of a new stream's blank row, then its first patch at the same position: rewritten in place.
      const blank: ParticipantRow = {
        stream_id: c.streamId,
        provider_id: c.providerId,
        programme_id: c.programmeId,
        follow_ups: {},
      };
      for (const col of ROW_COLUMNS) if (col !== 'follow_ups') blank[col] = blankValues.get(col) ?? null;
      const row = patchedRow(blank, c.patch) ?? blank;
      rows.set(c.streamId, { row, from: c.position, stored: false, changed: true });
      cellChange(blank, row, c.position);
      continue;
    }
    const next = patchedRow(current.row, c.patch);
    if (next === undefined) continue;
    closed.push(copyLine([...version(current.row), current.from, c.position]));
    cellChange(current.row, next, c.position);
    rows.set(c.streamId, { row: next, from: c.position, stored: current.stored, changed: true });
  }
  const changed = [...rows.values()].filter((r) => r.changed);
  const replaced = changed.filter((r) => r.stored).map((r) => r.row.stream_id as string);
  // The replaced current rows go before their successors arrive (the current-row key allows one per stream).
  if (replaced.length > 0)
    await tx`delete from only participants_versions where valid_to is null and stream_id = any(${replaced}::text[])`;
  await copyInto(tx, 'participants_closed', [...VERSION_COLUMNS, 'valid_from', 'valid_to'], closed);
  await copyInto(
    tx,
    'participants_versions',
    [...VERSION_COLUMNS, 'valid_from'],
    changed.map((r) => copyLine([...version(r.row), r.from])),
  );
  await copyInto(tx, 'participant_cell_changes_versions', [...CHANGE_COLUMNS, 'change', 'valid_from'], cellChanges);
  if (totals.size > 0)
    // Every cell a change touched gets its row, as the round path's upsert gives it (a zero sum included).
    await tx.unsafe(ADD_CELL_TOTALS_SQL, [
      recordset(
        [...totals].map(([key, people]) => {
          const [programmeId, providerId, figure, month, ageBand, setting] = key.split('\0');
          return { programmeId, providerId, figure, month, ageBand, setting, people };
        }),
      ),
    ]);
}

/** What a participant cell is: the columns its running count and each change of it are kept by. */
const CELL_DIMENSIONS = [
  'programme_id text not null',
  'provider_id text not null',
  'figure text not null',
  'month date not null',
  'age_band text not null',
  'setting text not null',
];

export const participantsProjection: Projection<ParticipantChange> = {
  name: participantsReadModel.name,
  // 3: versioned rows (as-at reads filter on their positions). 4: the index data quality's missing measures scan.
  // 5: closed versions in their own table. 6: disclosure cells of referrals, enrolments, completions and the active
  // stock. 7: whether a baseline and an exit measure were recorded. 8: the indexes a year's referrals and enrolments
  // are read by without the rows.
  version: 8,
  readsPersonalFieldsOf: ['ParticipantReferred'],
  // A session attended only ever moves the first session's date earlier (participantPatch, mergeParticipantChanges).
  replayLowers: [
    {
      type: 'SessionAttended',
      value: "(data->>'sessionDate')::date",
      table: participantsReadModel.tables.participants,
      column: 'first_session_date',
    },
  ],
  handles: [
    'ParticipantReferred',
    'ConsentRecorded',
    'ConsentWithdrawn',
    'ParticipantEnrolled',
    'SessionAttended',
    'ParticipantExited',
    'FollowUpRecorded',
    'OutcomeMeasured',
    'ParticipantErased',
  ],
  tables: [
    {
      name: participantsReadModel.tables.participants,
      columns: [
        'stream_id text not null',
        'provider_id text not null',
        'programme_id text not null',
        'referral_date date',
        'referral_source text',
        'age_at_referral integer',
        'age_band text',
        'gender text',
        'ethnicity text',
        'postcode_district text',
        'service_consent_from date',
        'service_consent_withdrawn_on date',
        'evaluation_consent_from date',
        'evaluation_consent_withdrawn_on date',
        'follow_up_consent_from date',
        'follow_up_consent_withdrawn_on date',
        'enrolled_on date',
        'planned_sessions integer',
        'delivery_setting text',
        'first_session_date date',
        'exit_date date',
        'exit_reason text',
        `follow_ups jsonb not null default '{}'`,
        'measured_baseline boolean not null default false',
        'measured_exit boolean not null default false',
      ],
      key: ['stream_id'],
      indexes: [
        'programme_id, referral_date',
        'provider_id, referral_date',
        // Data quality's missing measures: per provider, without reading the rows (an index-only scan).
        {
          columns: 'provider_id',
          include:
            'enrolled_on, exit_date, evaluation_consent_from, evaluation_consent_withdrawn_on, measured_baseline, measured_exit',
        },
        // A period's referrals (engagement) and enrolments (outcomes, reoffending, spend) across every programme,
        // without reading the rows (index-only scans): each of those reports otherwise scanned every participant.
        {
          columns: 'referral_date',
          include:
            'programme_id, provider_id, evaluation_consent_from, evaluation_consent_withdrawn_on, enrolled_on, first_session_date, exit_reason',
        },
        {
          columns: 'enrolled_on',
          include:
            'stream_id, programme_id, provider_id, evaluation_consent_from, evaluation_consent_withdrawn_on, exit_reason',
        },
      ],
    },
    {
      // Each change of a person's disclosure cells (+1 joined, -1 left), at the position it became true: as-at reads
      // subtract the changes above their position from the running counts. Pseudonymous like the rows it follows
      // (stream id, age band, delivery setting, months), and rewritten with them on erasure.
      name: participantsReadModel.tables.cellChanges,
      appendOnly: true,
      columns: ['stream_id text not null', ...CELL_DIMENSIONS, 'change integer not null'],
      key: ['stream_id', 'valid_from', 'figure', 'month', 'age_band', 'setting'],
      indexes: ['valid_from'],
    },
    {
      // People per programme, provider, month, figure, age band and delivery setting now: a people count adds up
      // across months and providers here (one date and one provider a person per figure), so a report sums a few
      // hundred of these rather than reading a year of participants.
      name: participantsReadModel.tables.cells,
      currentOnly: true,
      columns: [...CELL_DIMENSIONS, 'people integer not null'],
      key: ['programme_id', 'provider_id', 'figure', 'month', 'age_band', 'setting'],
    },
  ],
  project: projectParticipant,
  writeReplay: writeParticipantsReplay,
  write: async (tx, changes) => {
    const rows = mergeParticipantChanges(changes);
    const erasures = rows.filter((r) => r.erasure);
    // First, so that the erasure's own patch below finds nothing left to change and adds no version.
    if (erasures.length > 0) {
      const erased = recordset(erasures.map((r) => ({ streamId: r.streamId, patch: r.patch })));
      await tx.unsafe(ERASE_CELLS_SQL, [erased]);
      await tx.unsafe(ERASE_SQL, [erased]);
    }
    await tx`
      insert into participants_versions (stream_id, provider_id, programme_id, valid_from)
      select "streamId", "providerId", "programmeId", position
      from json_to_recordset(${recordset(rows)}::text::json) as x("streamId" text, "providerId" text, "programmeId" text, position bigint)
      on conflict (stream_id) where valid_to is null do nothing`;
    await tx.unsafe(UPDATE_WITH_CELLS_SQL, [
      recordset(rows.map((r) => ({ streamId: r.streamId, patch: r.patch, position: r.position }))),
    ]);
  },
};
