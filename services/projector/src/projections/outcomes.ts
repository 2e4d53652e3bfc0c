import type { StoredEvent } from '@vru/contracts';
import { InstrumentRanges } from '@vru/contracts';
import { type Projection, recordset } from '../projection.js';

/** The read model's projection name (its schema is rm_<name>) and tables: the reports and the audit read them by these names. */
export const outcomesReadModel = { name: 'outcomes', tables: { outcomes: 'outcomes' } } as const;

/**
 * One row per participant × instrument × scale: the first baseline (earliest measuredOn; on a tie the first
 * recorded) and the last exit measure (latest measuredOn; on a tie the last recorded). Interim and follow-up
 * measures are counted but not paired.
 */
export interface OutcomeRow {
  streamId: string;
  providerId: string;
  programmeId: string;
  instrument: string;
  /** Outcomes Star scale or custom instrument name; '' when none. */
  scale: string;
  higherIsBetter: boolean;
  baselineOn: string | null;
  baselineScore: number | null;
  exitOn: string | null;
  exitScore: number | null;
  measurements: number;
}

export function projectOutcome(event: StoredEvent): OutcomeRow[] {
  if (event.type !== 'OutcomeMeasured') return [];
  const d = event.data as {
    instrument: string;
    timepoint: string;
    measuredOn: string;
    score: number;
    scale?: string;
    customRange?: { higherIsBetter: boolean };
  };
  // A custom instrument has no entry: its direction comes with the event.
  const range = Object.hasOwn(InstrumentRanges, d.instrument)
    ? InstrumentRanges[d.instrument as keyof typeof InstrumentRanges]
    : undefined;
  return [
    {
      streamId: event.streamId,
      providerId: event.providerId,
      programmeId: event.programmeId ?? '',
      instrument: d.instrument,
      scale: d.scale ?? '',
      higherIsBetter: range?.higherIsBetter ?? d.customRange?.higherIsBetter ?? true,
      baselineOn: d.timepoint === 'baseline' ? d.measuredOn : null,
      baselineScore: d.timepoint === 'baseline' ? d.score : null,
      exitOn: d.timepoint === 'exit' ? d.measuredOn : null,
      exitScore: d.timepoint === 'exit' ? d.score : null,
      measurements: 1,
    },
  ];
}

const keyOf = (r: OutcomeRow) => `${r.streamId}\u0000${r.instrument}\u0000${r.scale}`;

/** Folds one batch in order with the same rules the upsert applies to the stored row. */
export function mergeOutcomes<R extends OutcomeRow>(rows: readonly R[]): R[] {
  const byKey = new Map<string, R>();
  for (const r of rows) {
    const prev = byKey.get(keyOf(r));
    if (!prev) {
      byKey.set(keyOf(r), { ...r });
      continue;
    }
    if (r.baselineOn !== null && (prev.baselineOn === null || r.baselineOn < prev.baselineOn)) {
      prev.baselineOn = r.baselineOn;
      prev.baselineScore = r.baselineScore;
    }
    if (r.exitOn !== null && (prev.exitOn === null || r.exitOn >= prev.exitOn)) {
      prev.exitOn = r.exitOn;
      prev.exitScore = r.exitScore;
    }
    prev.higherIsBetter = r.higherIsBetter;
    prev.measurements += r.measurements;
  }
  return [...byKey.values()];
}

export const outcomesProjection: Projection<OutcomeRow> = {
  name: outcomesReadModel.name,
  // 2: version 1 scales are read as scale ids where they normalise to one (the catalogue's upcaster).
  // 3: versioned rows (as-at reads filter on their positions). 4: the index data quality's missing measures scan.
  // 5: closed versions in their own table. 6: without the index data quality's missing measures no longer read.
  version: 6,
  handles: ['OutcomeMeasured'],
  tables: [
    {
      name: outcomesReadModel.tables.outcomes,
      columns: [
        'stream_id text not null',
        'provider_id text not null',
        'programme_id text not null',
        'instrument text not null',
        'scale text not null',
        'higher_is_better boolean not null',
        'baseline_on date',
        'baseline_score double precision',
        'exit_on date',
        'exit_score double precision',
        'measurements integer not null',
      ],
      key: ['stream_id', 'instrument', 'scale'],
      indexes: ['programme_id, instrument'],
    },
  ],
  project: projectOutcome,
  write: async (tx, changes) => {
    const rows = mergeOutcomes(changes);
    await tx`
      insert into outcomes_versions as t (stream_id, provider_id, programme_id, instrument, scale, higher_is_better, baseline_on,
                                          baseline_score, exit_on, exit_score, measurements, valid_from)
      select "streamId", "providerId", "programmeId", instrument, scale, "higherIsBetter", "baselineOn", "baselineScore", "exitOn",
             "exitScore", measurements, position
      from json_to_recordset(${recordset(rows)}::text::json) as x("streamId" text, "providerId" text, "programmeId" text, instrument text,
        scale text, "higherIsBetter" boolean, "baselineOn" date, "baselineScore" double precision, "exitOn" date, "exitScore" double precision,
        measurements integer, position bigint)
      on conflict (stream_id, instrument, scale) where valid_to is null do update set
        higher_is_better = excluded.higher_is_better,
        baseline_score = case when excluded.baseline_on is not null and (t.baseline_on is null or excluded.baseline_on < t.baseline_on)
          then excluded.baseline_score else t.baseline_score end,
        baseline_on = case when excluded.baseline_on is not null and (t.baseline_on is null or excluded.baseline_on < t.baseline_on)
          then excluded.baseline_on else t.baseline_on end,
        exit_score = case when excluded.exit_on is not null and (t.exit_on is null or excluded.exit_on >= t.exit_on)
          then excluded.exit_score else t.exit_score end,
        exit_on = case when excluded.exit_on is not null and (t.exit_on is null or excluded.exit_on >= t.exit_on)
          then excluded.exit_on else t.exit_on end,
        measurements = t.measurements + excluded.measurements,
        valid_from = excluded.valid_from`;
  },
};
