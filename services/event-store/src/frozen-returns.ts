import type { Logger, Sql } from '@vru/runtime';
import { figuresDigest, signFrozenReturn, type FrozenReturnFacts, type SignerKey } from '@vru/verifier';
import { repeatEvery } from './repeat.js';

/**
 * Signing frozen returns (infra/migrations/011_frozen_returns.sql, docs/audit.md "Frozen returns"). The API stores a
 * return and holds no key; the relay, which holds AUDIT_SIGNING_KEY, signs each unsigned one once. A row whose
 * figures do not hash to its own digest is never signed: it is logged as an alarm and left unsigned.
 */

export interface FrozenReturnRow {
  id: string;
  report: string;
  figures: string;
  figures_sha256: string;
  position: string;
  as_of: string;
  disclosure_rules: string;
  code_version: string;
  frozen_at: Date;
}

export const frozenReturnFacts = (r: FrozenReturnRow): FrozenReturnFacts => ({
  id: r.id,
  report: r.report,
  figuresSha256: r.figures_sha256,
  position: r.position,
  asOf: r.as_of,
  disclosureRules: r.disclosure_rules,
  codeVersion: r.code_version,
  frozenAt: r.frozen_at.toISOString(),
});

/** Signs every frozen return that has no signature yet; returns how many it signed and the ids it refused. */
export async function signPendingReturns(
  sql: Sql,
  signer: SignerKey,
  limit = 100,
): Promise<{ signed: number; refused: string[] }> {
  const rows = await sql<FrozenReturnRow[]>`
    select r.id::text, r.report, r.figures, r.figures_sha256, r.position::text, r.as_of::text, r.disclosure_rules, r.code_version, r.frozen_at
    from frozen_returns r left join frozen_return_signatures s on s.return_id = r.id
    where s.return_id is null order by r.frozen_at, r.id limit ${limit}`;
  let signed = 0;
  const refused: string[] = [];
  for (const row of rows) {
    if (figuresDigest(JSON.parse(row.figures)) !== row.figures_sha256) {
      refused.push(row.id);
      continue;
    }
    const note = signFrozenReturn(frozenReturnFacts(row), signer);
    const inserted =
      await sql`insert into frozen_return_signatures (return_id, statement) values (${row.id}, ${note}) on conflict do nothing`;
    signed += inserted.count;
  }
  return { signed, refused };
}

/** Signs pending frozen returns every intervalMs (the relay runs it beside the audit log). */
export function startFrozenReturnSigner(options: {
  sql: Sql;
  logger: Logger;
  signer: SignerKey;
  intervalMs?: number;
}): { stop(): Promise<void> } {
  const { sql, logger, signer, intervalMs = 1000 } = options;
  const tick = async () => {
    try {
      const { signed, refused } = await signPendingReturns(sql, signer);
      if (signed > 0) logger.info({ signed }, 'frozen returns signed');
      if (refused.length > 0)
        logger.error(
          { returnIds: refused },
          'AUDIT ALARM: frozen return figures do not match their digest; not signed',
        );
    } catch (err) {
      const { message, code } = err as Error & { code?: string };
      logger.error({ err: { message, code } }, 'signing frozen returns failed; retrying');
    }
  };
  return repeatEvery(intervalMs, tick);
}
