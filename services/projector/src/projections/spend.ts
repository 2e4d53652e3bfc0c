import type { StoredEvent } from '@vru/contracts';
import { lastPerKey, recordset, type Projection } from '../projection.js';

/** The read model's projection name (its schema is rm_<name>) and tables: the reports and the audit read them by these names. */
export const spendReadModel = {
  name: 'spend',
  tables: { grants: 'grants', spend: 'spend', deliveryTargets: 'delivery_targets' },
} as const;

/**
 * Grants (GrantAwarded), spend against them (SpendRecorded, one row per event, updated by SpendCorrected) and
 * delivery targets per quarter (DeliveryTargetsSet, replaced by DeliveryTargetsRevised). A correction's or revision's
 * reason is free text, sealed in the log: the read model counts corrections and revisions and keeps no reason.
 */
export type SpendChange =
  | {
      kind: 'grant';
      grantRef: string;
      streamId: string;
      providerId: string;
      programmeId: string;
      amountPence: number;
      startDate: string;
      endDate: string;
      targetParticipants: number;
    }
  | {
      kind: 'spend';
      eventId: string;
      grantRef: string;
      providerId: string;
      amountPence: number;
      category: string;
      periodStart: string;
      periodEnd: string;
      evidenceRef: string;
    }
  | { kind: 'correction'; correctsEventId: string; amountPence: number; category: string }
  | {
      kind: 'targets';
      grantRef: string;
      quarter: string;
      referrals: number;
      enrolments: number;
      sessionsDelivered: number;
      completions: number;
      spendPence: number;
      shareReliablyImproved: Record<string, number>;
      revised: boolean;
    };

const grantRefOf = (streamId: string) => streamId.replace(/^grant-/, '');

export function projectSpend(event: StoredEvent): SpendChange[] {
  const d = event.data;
  switch (event.type) {
    case 'GrantAwarded':
      return [
        {
          kind: 'grant',
          grantRef: grantRefOf(event.streamId),
          streamId: event.streamId,
          providerId: String(d.providerId),
          programmeId: String(d.programmeId),
          amountPence: Number(d.amountPence),
          startDate: String(d.startDate),
          endDate: String(d.endDate),
          targetParticipants: Number(d.targetParticipants),
        },
      ];
    case 'SpendRecorded':
      return [
        {
          kind: 'spend',
          eventId: event.eventId,
          grantRef: grantRefOf(event.streamId),
          providerId: event.providerId,
          amountPence: Number(d.amountPence),
          category: String(d.category),
          periodStart: String(d.periodStart),
          periodEnd: String(d.periodEnd),
          evidenceRef: String(d.evidenceRef),
        },
      ];
    case 'DeliveryTargetsSet':
    case 'DeliveryTargetsRevised':
      return [
        {
          kind: 'targets',
          grantRef: grantRefOf(event.streamId),
          quarter: String(d.quarter),
          referrals: Number(d.referrals),
          enrolments: Number(d.enrolments),
          sessionsDelivered: Number(d.sessionsDelivered),
          completions: Number(d.completions),
          spendPence: Number(d.spendPence),
          shareReliablyImproved: (d.shareReliablyImproved as Record<string, number> | undefined) ?? {},
          revised: event.type === 'DeliveryTargetsRevised',
        },
      ];
    case 'SpendCorrected':
      return [
        {
          kind: 'correction',
          correctsEventId: String(d.correctsEventId),
          amountPence: Number(d.amountPence),
          category: String(d.category),
        },
      ];
    default:
      return [];
  }
}

export const spendProjection: Projection<SpendChange> = {
  name: spendReadModel.name,
  // 3: no reason text (sealed in the log since).
  // 4: versioned rows (as-at reads filter on their positions). 5: closed versions in their own table.
  version: 5,
  handles: ['GrantAwarded', 'SpendRecorded', 'SpendCorrected', 'DeliveryTargetsSet', 'DeliveryTargetsRevised'],
  tables: [
    {
      name: spendReadModel.tables.grants,
      columns: [
        'grant_ref text not null',
        'stream_id text not null',
        'provider_id text not null',
        'programme_id text not null',
        'amount_pence bigint not null',
        'start_date date not null',
        'end_date date not null',
        'target_participants integer not null',
      ],
      key: ['grant_ref'],
    },
    {
      name: spendReadModel.tables.spend,
      columns: [
        'event_id uuid not null',
        'grant_ref text not null',
        'provider_id text not null',
        'amount_pence bigint not null',
        'category text not null',
        'period_start date not null',
        'period_end date not null',
        'evidence_ref text not null',
        'original_amount_pence bigint not null',
        'original_category text not null',
        'corrections integer not null default 0',
      ],
      key: ['event_id'],
      indexes: ['grant_ref'],
    },
    {
      name: spendReadModel.tables.deliveryTargets,
      columns: [
        'grant_ref text not null',
        'quarter text not null',
        'referrals integer not null',
        'enrolments integer not null',
        'sessions_delivered integer not null',
        'completions integer not null',
        'spend_pence bigint not null',
        'outcome_targets jsonb not null',
        'revisions integer not null default 0',
      ],
      key: ['grant_ref', 'quarter'],
    },
  ],
  project: projectSpend,
  write: async (tx, changes) => {
    const grants = lastPerKey(
      changes.filter((c) => c.kind === 'grant'),
      (c) => c.grantRef,
    );
    const spends = lastPerKey(
      changes.filter((c) => c.kind === 'spend'),
      (c) => c.eventId,
    );
    // Several corrections of one spend in a batch: the last one's amount and category, every one counted.
    const corrections = new Map<
      string,
      { correctsEventId: string; amountPence: number; category: string; count: number; position: string }
    >();
    for (const c of changes) {
      if (c.kind !== 'correction') continue;
      const prev = corrections.get(c.correctsEventId);
      corrections.set(c.correctsEventId, { ...c, count: (prev?.count ?? 0) + 1 });
    }
    if (grants.length > 0) {
      await tx`
        insert into grants_versions (grant_ref, stream_id, provider_id, programme_id, amount_pence, start_date, end_date, target_participants,
                                     valid_from)
        select "grantRef", "streamId", "providerId", "programmeId", "amountPence", "startDate", "endDate", "targetParticipants", position
        from json_to_recordset(${recordset(grants)}::text::json) as x("grantRef" text, "streamId" text, "providerId" text, "programmeId" text,
          "amountPence" bigint, "startDate" date, "endDate" date, "targetParticipants" integer, position bigint)
        on conflict (grant_ref) where valid_to is null do update set provider_id = excluded.provider_id, programme_id = excluded.programme_id,
          amount_pence = excluded.amount_pence, start_date = excluded.start_date, end_date = excluded.end_date,
          target_participants = excluded.target_participants, valid_from = excluded.valid_from`;
    }
    if (spends.length > 0) {
      await tx`
        insert into spend_versions (event_id, grant_ref, provider_id, amount_pence, category, period_start, period_end, evidence_ref,
                                    original_amount_pence, original_category, valid_from)
        select "eventId", "grantRef", "providerId", "amountPence", category, "periodStart", "periodEnd", "evidenceRef", "amountPence", category,
               position
        from json_to_recordset(${recordset(spends)}::text::json) as x("eventId" uuid, "grantRef" text, "providerId" text, "amountPence" bigint,
          category text, "periodStart" date, "periodEnd" date, "evidenceRef" text, position bigint)
        on conflict (event_id) where valid_to is null do nothing`;
    }
    // In stream order the last change per quarter holds its targets; every revision is counted.
    const targets = new Map<string, Extract<SpendChange, { kind: 'targets' }> & { revisions: number }>();
    for (const c of changes) {
      if (c.kind !== 'targets') continue;
      const key = `${c.grantRef}\u0000${c.quarter}`;
      const prev = targets.get(key);
      targets.set(key, { ...c, revisions: (prev?.revisions ?? 0) + (c.revised ? 1 : 0) });
    }
    if (targets.size > 0) {
      await tx`
        insert into delivery_targets_versions as t (grant_ref, quarter, referrals, enrolments, sessions_delivered, completions, spend_pence,
          outcome_targets, revisions, valid_from)
        select "grantRef", quarter, referrals, enrolments, "sessionsDelivered", completions, "spendPence", "shareReliablyImproved",
          revisions, position
        from json_to_recordset(${recordset([...targets.values()])}::text::json) as x("grantRef" text, quarter text, referrals integer,
          enrolments integer, "sessionsDelivered" integer, completions integer, "spendPence" bigint, "shareReliablyImproved" jsonb,
          revisions integer, position bigint)
        on conflict (grant_ref, quarter) where valid_to is null do update set referrals = excluded.referrals, enrolments = excluded.enrolments,
          sessions_delivered = excluded.sessions_delivered, completions = excluded.completions, spend_pence = excluded.spend_pence,
          outcome_targets = excluded.outcome_targets, revisions = t.revisions + excluded.revisions, valid_from = excluded.valid_from`;
    }
    if (corrections.size > 0) {
      // A correction arrives after the spend it corrects (same stream, later version), so the row exists.
      await tx`
        update only spend_versions s set amount_pence = x."amountPence", category = x.category, corrections = s.corrections + x.count,
          valid_from = x.position
        from json_to_recordset(${recordset([...corrections.values()])}::text::json)
          as x("correctsEventId" uuid, "amountPence" bigint, category text, count integer, position bigint)
        where s.event_id = x."correctsEventId" and s.valid_to is null`;
    }
  },
};
