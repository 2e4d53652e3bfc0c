export * from './merkle.js';
export * from './proofs.js';
export * from './encoding.js';
export * from './canonical-json.js';
export * from './checkpoint.js';
export * from './consistency.js';
export * from './spend.js';
export * from './evidence-pack.js';
export { AUDIT_LOG_ROUTES, runVerifier, type VerifierIo } from './commands.js';
