import type { Projection } from '../projection.js';
import { attendanceProjection } from './attendance.js';

/** Every read model the projector service maintains. */
export const projections: readonly Projection<any>[] = [attendanceProjection];

export function projectionByName(name: string): Projection<any> | undefined {
  return projections.find((p) => p.name === name);
}
