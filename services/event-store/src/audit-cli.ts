#!/usr/bin/env node
// Audit ledger checks for operators and funders (scripts/audit-verify):
//   audit-cli.js verify                       recompute the whole chain from the events table; exit 1 when broken
//   audit-cli.js verify-checkpoint <file>     check a stored checkpoint's signature offline; exit 1 when bad
import { readFile } from 'node:fs/promises';
import { createSql, loadConfig } from '@vru/runtime';
import { verifyAudit, verifyCheckpointOffline } from './audit.js';

const [command, arg] = process.argv.slice(2);

async function main(): Promise<number> {
  if (command === 'verify') {
    const config = loadConfig();
    const sql = createSql(config.DATABASE_URL, { max: 2, applicationName: 'vru-audit-cli' });
    try {
      const report = await verifyAudit(sql);
      process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
      return report.ok ? 0 : 1;
    } finally {
      await sql.end({ timeout: 5 });
    }
  }
  if (command === 'verify-checkpoint' && arg) {
    const result = verifyCheckpointOffline(await readFile(arg, 'utf8'));
    process.stdout.write(`${JSON.stringify(result)}\n`);
    return result.ok ? 0 : 1;
  }
  process.stderr.write('usage: audit-cli.js verify | verify-checkpoint <checkpoint.json>\n');
  return 2;
}

main().then((code) => process.exit(code), (err) => {
  const hint = (err as { code?: string }).code === '42P01' ? ' (migration 003_audit_chain.sql not applied yet: start the services once)' : '';
  process.stderr.write(`audit-cli: ${(err as Error).message}${hint}\n`);
  process.exit(2);
});
