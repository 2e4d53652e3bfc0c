import type { StoredEvent } from '@vru/contracts';
import { ageOn, ethnicityGroupOf, type Ethnicity } from '@vru/domain';
import { lastPerKey, recordset, type Projection } from '../projection.js';

/** The read model's projection name (its schema is rm_<name>) and tables: the reports and the audit read them by these names. */
export const comparisonsReadModel = {
  name: 'comparisons',
  tables: { comparisonRecords: 'comparison_records', comparisonOffences: 'comparison_offences' },
} as const;

/**
 * The comparison pool as the impact evaluation needs it, and nothing finer: per record its pool, index date and
 * covariates in coarse form (age in whole years at the index date, the high-level ethnic group, one area), and
 * its proven offences. Keyed by stream id only; the data partner's reference never reaches a read model.
 */
export interface ComparisonRecordRow {
  kind: 'record';
  streamId: string;
  dataPartnerId: string;
  poolId: string;
  indexDate: string;
  indexEvent: string;
  ageAtIndex: number | null;
  gender: string | null;
  ethnicityGroup: string | null;
  area: string | null;
  priorOffences: number | null;
  priorSeriousViolence: boolean | null;
  priorCustody: boolean | null;
}

export interface ComparisonOffenceRow {
  kind: 'offence';
  eventId: string;
  streamId: string;
  offenceDate: string;
  provenDate: string;
  seriousViolence: boolean;
  custodial: boolean;
}

export interface ComparisonErasure {
  kind: 'erased';
  streamId: string;
}

export type ComparisonChange = ComparisonRecordRow | ComparisonOffenceRow | ComparisonErasure;

const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);

export function projectComparison(event: StoredEvent): ComparisonChange[] {
  const d = event.data;
  switch (event.type) {
    case 'ComparisonRecordSubmitted': {
      // Personal fields are absent when the record was erased before this replay: the row keeps its dates only.
      const indexDate = String(d.indexDate);
      const age = ageOn(
        {
          ageAtReferral: typeof d.ageAtIndex === 'number' ? d.ageAtIndex : undefined,
          birthYearMonth: str(d.birthYearMonth) ?? undefined,
          referralDate: indexDate,
        },
        indexDate,
      );
      const ethnicity = str(d.ethnicity);
      return [
        {
          kind: 'record',
          streamId: event.streamId,
          dataPartnerId: event.providerId,
          poolId: String(d.poolId),
          indexDate,
          indexEvent: String(d.indexEvent),
          ageAtIndex: age,
          gender: str(d.gender),
          ethnicityGroup: ethnicity === null ? null : ethnicityGroupOf(ethnicity as Ethnicity),
          area: str(d.postcodeDistrict) ?? str(d.policeDistrict),
          priorOffences: typeof d.priorOffences === 'number' ? d.priorOffences : null,
          priorSeriousViolence: typeof d.priorSeriousViolence === 'boolean' ? d.priorSeriousViolence : null,
          priorCustody: typeof d.priorCustody === 'boolean' ? d.priorCustody : null,
        },
      ];
    }
    case 'ComparisonOffenceRecorded':
      // Sealed like a participant's offence: once the record is erased its details cannot be read, and it is not kept.
      if (typeof d.offenceDate !== 'string' || typeof d.provenDate !== 'string') return [];
      return [
        {
          kind: 'offence',
          eventId: event.eventId,
          streamId: event.streamId,
          offenceDate: d.offenceDate,
          provenDate: d.provenDate,
          seriousViolence: d.seriousViolence === true,
          custodial: d.custodial === true,
        },
      ];
    case 'ComparisonRecordErased':
      return [{ kind: 'erased', streamId: event.streamId }];
    default:
      return [];
  }
}

export const comparisonsProjection: Projection<ComparisonChange> = {
  name: comparisonsReadModel.name,
  // 2: an erased record's offences are removed (their details are sealed under its destroyed key).
  // 3: versioned rows (as-at reads filter on their positions). 4: closed versions in their own table.
  version: 4,
  readsPersonalFieldsOf: ['ComparisonRecordSubmitted', 'ComparisonOffenceRecorded'],
  handles: ['ComparisonRecordSubmitted', 'ComparisonOffenceRecorded', 'ComparisonRecordErased'],
  tables: [
    {
      name: comparisonsReadModel.tables.comparisonRecords,
      columns: [
        'stream_id text not null',
        'data_partner_id text not null',
        'pool_id text not null',
        'index_date date not null',
        'index_event text not null',
        'age_at_index integer',
        'gender text',
        'ethnicity_group text',
        'area text',
        'prior_offences integer',
        'prior_serious_violence boolean',
        'prior_custody boolean',
        'erased boolean not null default false',
      ],
      key: ['stream_id'],
      indexes: ['index_date'],
    },
    {
      name: comparisonsReadModel.tables.comparisonOffences,
      appendOnly: true,
      columns: [
        'event_id uuid not null',
        'stream_id text not null',
        'offence_date date not null',
        'proven_date date not null',
        'serious_violence boolean not null',
        'custodial boolean not null',
      ],
      key: ['event_id'],
      indexes: ['stream_id'],
    },
  ],
  project: projectComparison,
  write: async (tx, changes) => {
    const records = lastPerKey(
      changes.filter((c) => c.kind === 'record'),
      (r) => r.streamId,
    );
    const offences = lastPerKey(
      changes.filter((c) => c.kind === 'offence'),
      (r) => r.eventId,
    );
    const erased = changes.filter((c) => c.kind === 'erased');
    if (records.length > 0) {
      await tx`
        insert into comparison_records_versions (stream_id, data_partner_id, pool_id, index_date, index_event, age_at_index, gender,
                                                 ethnicity_group, area, prior_offences, prior_serious_violence, prior_custody, valid_from)
        select "streamId", "dataPartnerId", "poolId", "indexDate", "indexEvent", "ageAtIndex", gender, "ethnicityGroup", area,
               "priorOffences", "priorSeriousViolence", "priorCustody", position
        from json_to_recordset(${recordset(records)}::text::json) as x("streamId" text, "dataPartnerId" text, "poolId" text,
          "indexDate" date, "indexEvent" text, "ageAtIndex" integer, gender text, "ethnicityGroup" text, area text, "priorOffences" integer,
          "priorSeriousViolence" boolean, "priorCustody" boolean, position bigint)
        on conflict (stream_id) where valid_to is null do nothing`;
    }
    if (offences.length > 0) {
      await tx`
        insert into comparison_offences_versions (event_id, stream_id, offence_date, proven_date, serious_violence, custodial, valid_from)
        select "eventId", "streamId", "offenceDate", "provenDate", "seriousViolence", custodial, position
        from json_to_recordset(${recordset(offences)}::text::json) as x("eventId" uuid, "streamId" text, "offenceDate" date,
          "provenDate" date, "seriousViolence" boolean, custodial boolean, position bigint)
        on conflict (event_id) do nothing`;
    }
    if (erased.length > 0) {
      const streams = erased.map((c) => c.streamId);
      // Erased: out of every later evaluation; the covariates go from every version (in place: valid_from unchanged), as
      // a replay that cannot open the sealed fields would leave them; then the current version is marked erased.
      await tx`
        update comparison_records_versions set age_at_index = null, gender = null, ethnicity_group = null, area = null,
          prior_offences = null, prior_serious_violence = null, prior_custody = null
        where stream_id = any(${streams}::text[])`;
      await tx`
        update only comparison_records_versions r set erased = true, valid_from = x.position
        from json_to_recordset(${recordset(erased)}::text::json) as x("streamId" text, position bigint)
        where r.stream_id = x."streamId" and r.valid_to is null`;
      await tx`delete from comparison_offences_versions where stream_id = any(${streams}::text[])`;
    }
  },
};
