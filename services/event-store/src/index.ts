// The one canonical JSON (RFC 8785 for the values events hold) is the verifier's: the log hashes what funders recompute.
export { canonicalJson } from '@vru/verifier';
export * from './event-row.js';
export * from './read/read-stream.js';
export * from './read/read-stream-range.js';
export * from './read/events-by-id.js';
export * from './pseudonym.js';
export * from './personal-data.js';
export * from './audit.js';
export * from './audit-keys.js';
export * from './frozen-returns.js';
export * from './append/lock-streams.js';
export * from './append/stored-appends.js';
export * from './append/read-streams.js';
export * from './append/append-events.js';
export * from './append/wake-relay.js';
export * from './append/stored-erasure.js';
