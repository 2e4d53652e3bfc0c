import { writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { buildAsyncApi, matchToken, Roles, type Role } from '@vru/contracts';
import { PersonalDataVault, pinnedAuditKey, verifyLog } from '@vru/event-store';
import { projectionByName, projections, rebuildProjections } from '@vru/projector';
import { createLogger, createSql, ensureEventTopic, loadConfig, openDatabase, startProgress } from '@vru/runtime';
import { createApiKey, listApiKeys, revokeApiKey, rotateApiKey } from './api-keys.js';
import { CommandHandler } from './ingest/command-handler.js';
import { upsertProgramme, upsertProvider } from './ingest/reference-data.js';
import { applyRetention } from './ingest/retention.js';
import { buildApp } from './app.js';
import { uploadCsvFile } from './csv-upload.js';

const USAGE = `usage: vru <command>
  migrate                                         apply database migrations
  topic                                           create the Kafka topic if missing
  provider <id> <name>                            register a provider
  programme <id> <name> <type> <startsOn> [endsOn] register a programme
  key <role> [providerId] [label]                 create an API key and print it (once)
  keys                                            list keys (prefix, role, provider, last use; never the secret)
  rotate <keyId> [graceHours]                     issue a replacement key; the old one works for graceHours (default 24)
  revoke <keyId>                                  revoke a key now
  retention [--dry-run]                           erase personal fields past RETENTION_MONTHS; delete old rejection records
  match-token <familyName> <givenName> <YYYY-MM-DD>  print the match token (MATCHING_KEY from the environment)
  rebuild [projection|all]                        replay the log into fresh read models and swap them in (default all)
  audit-verify                                    re-compute every audit leaf from the events as stored and check every
                                                  stored head with the pinned AUDIT_PUBLIC_KEY; exit 1 on a problem
  openapi [file]                                  write the OpenAPI document (default: stdout)
  asyncapi [file]                                 write the AsyncAPI document of the event topic (default: stdout)
  import <eventType> <file.csv> [--rows-per-request N]
                                                  upload a CSV file through the running API (POST /v1/imports, in parts),
                                                  with VRU_API_KEY; API_URL defaults to http://HOST:PORT`;

const config = loadConfig();
const logger = createLogger(config.LOG_LEVEL === 'info' ? 'warn' : config.LOG_LEVEL, 'cli');
const { positionals, values } = parseArgs({
  allowPositionals: true,
  strict: false,
  options: { 'rows-per-request': { type: 'string' }, 'dry-run': { type: 'boolean' } },
});
const [command, ...args] = positionals;

async function main(): Promise<number> {
  switch (command) {
    case 'openapi': {
      const sql = createSql(config.DATABASE_URL, { max: 1 });
      const app = await buildApp({ config: { ...config, LOG_LEVEL: 'silent' }, sql });
      await app.ready();
      const text = `${JSON.stringify(app.swagger(), null, 2)}\n`;
      await app.close();
      await sql.end();
      if (args[0]) await writeFile(args[0], text);
      else process.stdout.write(text);
      return 0;
    }
    case 'asyncapi': {
      const text = `${JSON.stringify(buildAsyncApi(), null, 2)}\n`;
      if (args[0]) await writeFile(args[0], text);
      else process.stdout.write(text);
      return 0;
    }
    case 'import': {
      const [eventType, file] = args;
      const apiKey = config.VRU_API_KEY;
      if (!eventType || !file || !apiKey) {
        process.stderr.write(`${USAGE}\n(set VRU_API_KEY to the provider's API key)\n`);
        return 2;
      }
      const progress = startProgress({
        label: `import ${eventType}`,
        logger: createLogger(config.LOG_LEVEL, 'import'),
      });
      let seen = 0;
      const summary = await uploadCsvFile({
        apiUrl: config.API_URL ?? `http://${config.HOST}:${config.PORT}`,
        apiKey,
        eventType,
        file,
        rowsPerRequest: Number(values['rows-per-request'] ?? 500) || 500,
        onPart: (done, total) => {
          progress.advance(done - seen, total);
          seen = done;
        },
      });
      progress.finish();
      for (const r of summary.results.filter((x) => x.status === 'rejected')) {
        for (const e of r.errors ?? [])
          process.stdout.write(`line ${r.line}: ${e.column ?? e.field ?? ''} ${e.rule}: ${e.message}\n`);
      }
      process.stdout.write(
        `${summary.rows} rows: ${summary.accepted} accepted, ${summary.duplicates} duplicates, ${summary.rejected} rejected` +
          `${summary.highestPosition === null ? '' : `; highest log position ${summary.highestPosition}`}\n`,
      );
      return summary.rejected > 0 ? 1 : 0;
    }
    case 'topic':
      await ensureEventTopic(config, logger);
      return 0;
    case 'rebuild':
      return rebuild(args[0] ?? 'all');
    case 'audit-verify':
      return auditVerify();
    case 'match-token': {
      // The matching key is the partners' secret, not the service's: read from the environment of whoever runs this.
      const key = process.env.MATCHING_KEY ?? '';
      if (args.length !== 3 || key.length < 32) {
        process.stderr.write(
          'usage: MATCHING_KEY=<shared key, 32+ chars> vru match-token <familyName> <givenName> <YYYY-MM-DD>\n',
        );
        return 2;
      }
      process.stdout.write(
        `${matchToken(key, { familyName: args[0]!, givenName: args[1]!, dateOfBirth: args[2]! })}\n`,
      );
      return 0;
    }
    case 'keys':
    case 'rotate':
    case 'revoke':
    case 'retention': {
      const sql = await openDatabase(config, logger, 'vru-cli', { max: 2 });
      try {
        if (command === 'keys') {
          for (const k of await listApiKeys(sql, { includeInactive: true })) {
            const state = k.revokedAt ? 'revoked' : k.expiresAt ? `expires ${k.expiresAt}` : 'active';
            process.stdout.write(
              `${k.prefix}…\t${k.role}\t${k.providerId ?? '-'}\t${state}\tlast used ${k.lastUsedAt ?? 'never'}\t${k.label}\n`,
            );
          }
        } else if (command === 'rotate' && args[0]) {
          const rotated = await rotateApiKey(sql, config.API_KEY_PEPPER, args[0], Number(args[1] ?? 24) * 3600, null);
          if (!rotated) {
            process.stderr.write('no active key with that id\n');
            return 1;
          }
          process.stdout.write(`${rotated.apiKey}\n`);
        } else if (command === 'revoke' && args[0]) {
          if (!(await revokeApiKey(sql, args[0]))) {
            process.stderr.write('no key with that id\n');
            return 1;
          }
        } else if (command === 'retention') {
          const commands = new CommandHandler(sql, config.PSEUDONYM_SECRET, config.PERSONAL_DATA_KEY);
          const result = await applyRetention(sql, commands, {
            retentionMonths: config.RETENTION_MONTHS,
            rejectionRetentionDays: config.REJECTION_RETENTION_DAYS,
            dryRun: values['dry-run'] === true,
          });
          process.stdout.write(
            `${values['dry-run'] ? 'would erase' : 'erased'} ${result.participantsErased} participants with no event since ${result.cutoff}; ` +
              `${values['dry-run'] ? 'would delete' : 'deleted'} ${result.rejectionsDeleted} refused-submission records\n`,
          );
        } else {
          process.stderr.write(`${USAGE}\n`);
          return 2;
        }
      } finally {
        await sql.end();
      }
      return 0;
    }
    case 'migrate':
    case 'provider':
    case 'programme':
    case 'key': {
      const sql = await openDatabase(config, logger, 'vru-cli', { max: 1 });
      try {
        if (command === 'provider' && args.length >= 2) await upsertProvider(sql, args[0]!, args.slice(1).join(' '));
        else if (command === 'programme' && args.length >= 4) {
          await upsertProgramme(sql, {
            programmeId: args[0]!,
            name: args[1]!,
            interventionType: args[2]!,
            startsOn: args[3]!,
            endsOn: args[4] ?? null,
          });
        } else if (command === 'key' && args.length >= 1 && (Roles as readonly string[]).includes(args[0]!)) {
          const { apiKey } = await createApiKey(sql, config.API_KEY_PEPPER, {
            role: args[0] as Role,
            providerId: args[1] ?? null,
            label: args[2] ?? '',
          });
          process.stdout.write(`${apiKey}\n`);
        } else if (command !== 'migrate') {
          process.stderr.write(`${USAGE}\n`);
          return 2;
        }
      } finally {
        await sql.end();
      }
      return 0;
    }
    default:
      process.stderr.write(`${USAGE}\n`);
      return 2;
  }
}

/** Replays the log into fresh tables and swaps them in while the API serves the old ones; one pass for every target. */
async function rebuild(name: string): Promise<number> {
  const targets = name === 'all' ? projections : [projectionByName(name)].filter((p) => p !== undefined);
  if (targets.length === 0) {
    process.stderr.write(`unknown projection ${name}; known: ${projections.map((p) => p.name).join(', ')}\n`);
    return 2;
  }
  const sql = await openDatabase(config, logger, 'vru-rebuild', {
    // The next chunk is read on one connection while the read models write theirs, one after another, on the other.
    // Measured on two cores, 2 connections beat 3 and 4, and 4 beat 8: every PostgreSQL process writing at once takes
    // the core this process needs to prepare the writes (docs/performance.md).
    max: 2,
  });
  try {
    const names = targets.map((p) => p.name).join(', ');
    const progress = startProgress({ label: `rebuild ${names}`, logger });
    let seen = 0;
    const result = await rebuildProjections(sql, targets, logger, {
      vault: new PersonalDataVault(config.PERSONAL_DATA_KEY),
      onProgress: (replayed, total) => {
        progress.advance(replayed - seen, total);
        seen = replayed;
      },
    });
    progress.finish();
    process.stdout.write(`${names}: rebuilt from ${result.events} events in ${result.ms} ms\n`);
    return 0;
  } finally {
    await sql.end();
  }
}

/** A full audit check with the pinned key only (a key stored in the database is never used). */
async function auditVerify(): Promise<number> {
  const key = pinnedAuditKey(config);
  if (!key) {
    process.stderr.write('AUDIT_PUBLIC_KEY is not set: nothing to verify against\n');
    return 2;
  }
  const sql = createSql(config.DATABASE_URL, { max: 2, applicationName: 'vru-audit-verify' });
  try {
    const { state: _state, ...report } = await verifyLog(sql, key);
    const head = report.latestHead
      ? { ...report.latestHead, rootHash: Buffer.from(report.latestHead.rootHash).toString('base64') }
      : null;
    process.stdout.write(`${JSON.stringify({ ...report, latestHead: head }, null, 2)}\n`);
    return report.ok ? 0 : 1;
  } finally {
    await sql.end({ timeout: 5 });
  }
}

process.exitCode = await main();
