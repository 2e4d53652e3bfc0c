export * from './event-row.js';
export * from './pseudonym.js';
export * from './personal-data.js';
export * from './canonical-json.js';
export * from './audit.js';
export * from './audit-keys.js';
export * from './frozen-returns.js';
