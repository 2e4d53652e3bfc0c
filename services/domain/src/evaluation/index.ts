export * from './covariates.js';
export * from './propensity.js';
export * from './matching.js';
export * from './balance.js';
export * from './estimate.js';
export * from './wording.js';
export * from './evaluate.js';
export { normalCdf, twoSidedPValue } from './normal.js';
export * from './publishable.js';
