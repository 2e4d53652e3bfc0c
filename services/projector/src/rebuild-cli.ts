import { PersonalDataVault } from '@vru/event-store';
import { loadConfig, createLogger, openDatabase, startProgress } from '@vru/runtime';
import { projectionByName, projections } from './projections/index.js';
import { rebuildProjections } from './rebuild.js';

/** scripts/rebuild [projection|all]: replays the log into fresh tables and swaps them in while the API serves the old ones. */
const config = loadConfig();
const logger = createLogger(config.LOG_LEVEL, 'rebuild');
const name = process.argv[2] ?? 'all';
const targets = name === 'all' ? projections : [projectionByName(name)].filter((p) => p !== undefined);
if (targets.length === 0) {
  process.stderr.write(`unknown projection ${name}; known: ${projections.map((p) => p.name).join(', ')}\n`);
  process.exit(2);
}
const sql = await openDatabase(config, logger, 'vru-rebuild', { max: 2 });
// One pass over the log for every target projection (rebuildProjections).
const progress = startProgress({ label: `rebuild ${targets.map((p) => p.name).join(', ')}`, logger });
let seen = 0;
const result = await rebuildProjections(sql, targets, logger, {
  vault: new PersonalDataVault(config.PERSONAL_DATA_KEY),
  onProgress: (replayed, total) => {
    progress.advance(replayed - seen, total);
    seen = replayed;
  },
});
progress.finish();
process.stdout.write(
  `${targets.map((p) => p.name).join(', ')}: rebuilt from ${result.events} events in ${result.ms} ms\n`,
);
await sql.end();
