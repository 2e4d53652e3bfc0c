export * from './primitives.js';
export * from './formats.js';
export * from './catalogue.js';
export * from './validate.js';
export * from './problem.js';
export * from './api.js';
export * as Vocabulary from './events/vocabulary.js';
export * from './events/vocabulary.js';
export * from './stored.js';
