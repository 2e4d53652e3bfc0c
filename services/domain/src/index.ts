export * from './decision.js';
export * from './participant/participant.js';
export * from './participant/decide.js';
export * from './grant/decide.js';
