import type { StoredEvent } from '@vru/contracts';
import { ageAtReferral, ageBand } from '@vru/domain';
import { type Projection, recordset } from '../projection.js';

/** The read model's projection name (its schema is rm_<name>) and tables: the reports and the audit read them by these names. */
export const participantsReadModel = { name: 'participants', tables: { participants: 'participants' } } as const;

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
];

/** The current version of each row patched, at the patch's position (the versioning trigger keeps the one before). */
const UPDATE_SQL = `
  update only participants_versions t set
    ${COLUMNS.map(([key, col, type]) => `${col} = case when x.patch ? '${key}' then (x.patch->>'${key}')::${type} else t.${col} end`).join(',\n    ')},
    first_session_date = least(t.first_session_date, (x.patch->>'firstSessionDate')::date),
    follow_ups = t.follow_ups || coalesce(x.patch->'followUps', '{}'::jsonb),
    valid_from = x.position
  from jsonb_to_recordset($1::text::jsonb) as x("streamId" text, patch jsonb, position bigint)
  where t.stream_id = x."streamId" and t.valid_to is null`;

/**
 * An erasure's nulls written into every version of the row in place (valid_from unchanged: no new version); the
 * statement names the parent table, so it reaches the closed versions too.
 */
const ERASE_SQL = `
  update participants_versions t set
    ${COLUMNS.map(([key, col, type]) => `${col} = case when x.patch ? '${key}' then (x.patch->>'${key}')::${type} else t.${col} end`).join(',\n    ')}
  from jsonb_to_recordset($1::text::jsonb) as x("streamId" text, patch jsonb)
  where t.stream_id = x."streamId"`;

export const participantsProjection: Projection<ParticipantChange> = {
  name: participantsReadModel.name,
  // 3: versioned rows (as-at reads filter on their positions). 4: the index data quality's missing measures scan.
  // 5: closed versions in their own table.
  version: 5,
  handles: [
    'ParticipantReferred',
    'ConsentRecorded',
    'ConsentWithdrawn',
    'ParticipantEnrolled',
    'SessionAttended',
    'ParticipantExited',
    'FollowUpRecorded',
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
      ],
      key: ['stream_id'],
      indexes: [
        'programme_id, referral_date',
        'provider_id, referral_date',
        // Data quality's missing measures: every current participant in stream order, merged with the outcomes'
        // index below, without reading the rows (an index-only scan).
        {
          columns: 'stream_id',
          include: 'provider_id, enrolled_on, exit_date, evaluation_consent_from, evaluation_consent_withdrawn_on',
        },
      ],
    },
  ],
  project: projectParticipant,
  write: async (tx, changes) => {
    const rows = mergeParticipantChanges(changes);
    const erasures = rows.filter((r) => r.erasure);
    // First, so that the erasure's own patch below finds nothing left to change and adds no version.
    if (erasures.length > 0)
      await tx.unsafe(ERASE_SQL, [recordset(erasures.map((r) => ({ streamId: r.streamId, patch: r.patch })))]);
    await tx`
      insert into participants_versions (stream_id, provider_id, programme_id, valid_from)
      select "streamId", "providerId", "programmeId", position
      from jsonb_to_recordset(${recordset(rows)}::text::jsonb) as x("streamId" text, "providerId" text, "programmeId" text, position bigint)
      on conflict (stream_id) where valid_to is null do nothing`;
    await tx.unsafe(UPDATE_SQL, [
      recordset(rows.map((r) => ({ streamId: r.streamId, patch: r.patch, position: r.position }))),
    ]);
  },
};
