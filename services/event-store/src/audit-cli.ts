#!/usr/bin/env node
// Audit log checks for operators (scripts/audit-verify), with the pinned key AUDIT_PUBLIC_KEY:
//   audit-cli.js verify     re-compute every leaf from the events as stored and check every stored head; exit 1 on a problem
import { createSql, loadConfig } from '@vru/runtime';
import { verifyLog } from './audit.js';
import { pinnedAuditKey } from './audit-keys.js';

const [command] = process.argv.slice(2);

async function main(): Promise<number> {
  if (command !== 'verify') {
    process.stderr.write('usage: audit-cli.js verify   (with AUDIT_PUBLIC_KEY, the pinned verifier key)\n');
    return 2;
  }
  const config = loadConfig();
  const key = pinnedAuditKey(config);
  if (!key) {
    process.stderr.write('AUDIT_PUBLIC_KEY is not set: nothing to verify against\n');
    return 2;
  }
  const sql = createSql(config.DATABASE_URL, { max: 2, applicationName: 'vru-audit-cli' });
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

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`${(err as Error).message}\n`);
    process.exit(2);
  },
);
