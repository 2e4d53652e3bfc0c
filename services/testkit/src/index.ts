export * from './harness.js';
export * from './fixtures.js';
export * from './logs.js';
export * from './processes.js';
export * from './topic.js';
