import type { Projection } from '../projection.js';
import { attendanceProjection } from './attendance.js';
import { participantsProjection } from './participants.js';
import { outcomesProjection } from './outcomes.js';
import { offencesProjection } from './offences.js';
import { spendProjection } from './spend.js';
import { submissionsProjection } from './submissions.js';
import { comparisonsProjection } from './comparisons.js';

/** Every read model the projector service maintains. */
export const projections: readonly Projection[] = [
  attendanceProjection,
  participantsProjection,
  outcomesProjection,
  offencesProjection,
  spendProjection,
  submissionsProjection,
  comparisonsProjection,
];

export function projectionByName(name: string): Projection | undefined {
  return projections.find((p) => p.name === name);
}
