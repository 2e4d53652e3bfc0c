export * from './harness.js';
export * from './fixtures.js';
