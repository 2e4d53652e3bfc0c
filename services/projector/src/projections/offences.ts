import type { StoredEvent } from '@vru/contracts';
import { lastPerKey, recordset, type Projection, type StreamErased } from '../projection.js';

/** The read model's projection name (its schema is rm_<name>) and tables: the reports and the audit read them by these names. */
export const offencesReadModel = { name: 'offences', tables: { offences: 'offences' } } as const;

/**
 * One row per proven offence (OffenceRecorded), keyed by event id; criminal offence data, pseudonymous. Every detail is
 * sealed under the participant's key: erasure deletes their rows, and a rebuild finds nothing to read for them.
 */
export interface OffenceRow {
  kind: 'offence';
  eventId: string;
  streamId: string;
  providerId: string;
  programmeId: string;
  offenceDate: string;
  provenDate: string;
  disposal: string;
  offenceCategory: string;
  seriousViolence: boolean;
  /** A custodial sentence (version 2; version 1 is upcast to false). */
  custodial: boolean;
}

export type OffenceChange = OffenceRow | StreamErased;

export function projectOffence(event: StoredEvent): OffenceChange[] {
  if (event.type === 'ParticipantErased') return [{ kind: 'erased', streamId: event.streamId }];
  if (event.type !== 'OffenceRecorded' || typeof event.data.offenceDate !== 'string') return [];
  const d = event.data as {
    offenceDate: string;
    provenDate: string;
    disposal: string;
    offenceCategory: string;
    seriousViolence: boolean;
    custodial?: boolean;
  };
  return [
    {
      kind: 'offence',
      eventId: event.eventId,
      streamId: event.streamId,
      providerId: event.providerId,
      programmeId: event.programmeId ?? '',
      offenceDate: d.offenceDate,
      provenDate: d.provenDate,
      disposal: d.disposal,
      offenceCategory: d.offenceCategory,
      seriousViolence: d.seriousViolence,
      custodial: d.custodial === true,
    },
  ];
}

export const offencesProjection: Projection<OffenceChange> = {
  name: offencesReadModel.name,
  // 4: rows carry the position they became true at.
  version: 4,
  readsPersonalFieldsOf: ['OffenceRecorded'],
  handles: ['OffenceRecorded', 'ParticipantErased'],
  tables: [
    {
      name: offencesReadModel.tables.offences,
      appendOnly: true,
      columns: [
        'event_id uuid not null',
        'stream_id text not null',
        'provider_id text not null',
        'programme_id text not null',
        'offence_date date not null',
        'proven_date date not null',
        'disposal text not null',
        'offence_category text not null',
        'serious_violence boolean not null',
        'custodial boolean not null default false',
      ],
      key: ['event_id'],
      indexes: ['stream_id'],
    },
  ],
  project: projectOffence,
  write: async (tx, changes) => {
    const rows = lastPerKey(
      changes.filter((c) => c.kind === 'offence'),
      (r) => r.eventId,
    );
    const erased = changes.filter((c) => c.kind === 'erased').map((c) => c.streamId);
    if (rows.length > 0)
      await tx`
      insert into offences_versions (event_id, stream_id, provider_id, programme_id, offence_date, proven_date, disposal, offence_category,
                                     serious_violence, custodial, valid_from)
      select "eventId", "streamId", "providerId", "programmeId", "offenceDate", "provenDate", disposal, "offenceCategory",
             "seriousViolence", custodial, position
      from json_to_recordset(${recordset(rows)}::text::json) as x("eventId" uuid, "streamId" text, "providerId" text, "programmeId" text,
        "offenceDate" date, "provenDate" date, disposal text, "offenceCategory" text, "seriousViolence" boolean, custodial boolean,
        position bigint)
      on conflict (event_id) do nothing`;
    // Every version goes, as a replay after the erasure (which cannot open the details) would leave it.
    if (erased.length > 0) await tx`delete from offences_versions where stream_id = any(${erased}::text[])`;
  },
};
