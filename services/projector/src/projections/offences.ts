import type { StoredEvent } from '@vru/contracts';
import { lastPerKey, recordset, type Projection } from '../projection.js';

/** One row per proven offence (OffenceRecorded), keyed by event id; criminal offence data, pseudonymous. */
export interface OffenceRow {
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

export function projectOffence(event: StoredEvent): OffenceRow[] {
  if (event.type !== 'OffenceRecorded') return [];
  const d = event.data as {
    offenceDate: string; provenDate: string; disposal: string; offenceCategory: string; seriousViolence: boolean; custodial?: boolean;
  };
  return [{
    eventId: event.eventId, streamId: event.streamId, providerId: event.providerId, programmeId: event.programmeId ?? '',
    offenceDate: d.offenceDate, provenDate: d.provenDate, disposal: d.disposal, offenceCategory: d.offenceCategory, seriousViolence: d.seriousViolence,
    custodial: d.custodial === true,
  }];
}

export const offencesProjection: Projection<OffenceRow> = {
  name: 'offences',
  version: 2,
  handles: ['OffenceRecorded'],
  tables: ['offences'],
  ddl: `
    create table offences (
      event_id uuid primary key,
      stream_id text not null,
      provider_id text not null,
      programme_id text not null,
      offence_date date not null,
      proven_date date not null,
      disposal text not null,
      offence_category text not null,
      serious_violence boolean not null,
      custodial boolean not null default false
    );
    create index offences_stream on offences (stream_id);
  `,
  project: projectOffence,
  write: async (tx, changes) => {
    const rows = lastPerKey(changes, (r) => r.eventId);
    await tx`
      insert into offences (event_id, stream_id, provider_id, programme_id, offence_date, proven_date, disposal, offence_category,
                            serious_violence, custodial)
      select "eventId", "streamId", "providerId", "programmeId", "offenceDate", "provenDate", disposal, "offenceCategory",
             "seriousViolence", custodial
      from jsonb_to_recordset(${recordset(rows)}::text::jsonb) as x("eventId" uuid, "streamId" text, "providerId" text, "programmeId" text,
        "offenceDate" date, "provenDate" date, disposal text, "offenceCategory" text, "seriousViolence" boolean, custodial boolean)
      on conflict (event_id) do nothing`;
  },
};
