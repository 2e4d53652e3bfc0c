export * from './projection.js';
export * from './apply.js';
export * from './consumer.js';
export * from './rebuild.js';
export * from './projections/index.js';
export * from './projections/attendance.js';
