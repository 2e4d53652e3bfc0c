export { buildApp, requestIdFrom, type AppDeps, type ProtectedRoute } from './app.js';
export * from './api-keys.js';
export { upsertProgramme, upsertProvider } from './ingest/reference-data.js';
export { CommandHandler, type AppendCommand, type AppendOutcome } from './ingest/command-handler.js';
export { requestHash } from './ingest/request-hash.js';
export { applyRetention } from './ingest/retention.js';
export { readXlsx, writeXlsx, XLSX_CONTENT_TYPE, type XlsxSheet } from './xlsx.js';
export { REPORTS, type Filters } from './web/data.js';
export { atConsistentPosition } from './report-snapshot.js';
