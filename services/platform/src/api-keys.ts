import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Role } from '@vru/contracts';
import type { Sql } from './db.js';

export interface Principal {
  keyId: string;
  role: Role;
  providerId: string | null;
}

const KEY_FORMAT = /^vru_([a-f0-9]{16})_([A-Za-z0-9_-]{43})$/;

function hashSecret(pepper: string, secret: string): string {
  return createHmac('sha256', pepper).update(secret).digest('hex');
}

/** Creates a key; the plain key is returned once and never stored (only a keyed hash of its secret part). */
export async function createApiKey(
  sql: Sql,
  pepper: string,
  options: { role: Role; providerId?: string | null; label?: string },
): Promise<{ keyId: string; apiKey: string }> {
  const keyId = randomBytes(8).toString('hex');
  const secret = randomBytes(32).toString('base64url');
  await sql`
    insert into api_keys (key_id, secret_hash, role, provider_id, label)
    values (${keyId}, ${hashSecret(pepper, secret)}, ${options.role}, ${options.providerId ?? null}, ${options.label ?? ''})`;
  return { keyId, apiKey: `vru_${keyId}_${secret}` };
}

/**
 * Verifies bearer keys with a short cache, so a hot key costs no database round trip;
 * a revocation takes effect within `ttlMs`.
 */
export class ApiKeyVerifier {
  private cache = new Map<string, { principal: Principal | null; expires: number }>();

  constructor(private readonly sql: Sql, private readonly pepper: string, private readonly ttlMs = 10_000) {}

  async verify(apiKey: string): Promise<Principal | null> {
    const m = KEY_FORMAT.exec(apiKey);
    if (!m) return null;
    const now = Date.now();
    const hit = this.cache.get(apiKey);
    if (hit && hit.expires > now) return hit.principal;
    const [, keyId, secret] = m as unknown as [string, string, string];
    const rows = await this.sql<{ secret_hash: string; role: Role; provider_id: string | null }[]>`
      update api_keys set last_used_at = now() where key_id = ${keyId} and revoked_at is null
      returning secret_hash, role, provider_id`;
    const row = rows[0];
    let principal: Principal | null = null;
    if (row) {
      const expected = Buffer.from(row.secret_hash, 'hex');
      const actual = Buffer.from(hashSecret(this.pepper, secret), 'hex');
      if (expected.length === actual.length && timingSafeEqual(expected, actual)) {
        principal = { keyId, role: row.role, providerId: row.provider_id };
      }
    }
    if (this.cache.size > 10_000) this.cache.clear();
    this.cache.set(apiKey, { principal, expires: now + this.ttlMs });
    return principal;
  }

  /** The principal of a key that is still in force (not revoked), by its id: a dashboard session holds only the id. */
  async principalOf(keyId: string): Promise<Principal | null> {
    const rows = await this.sql<{ role: Role; provider_id: string | null }[]>`
      select role, provider_id from api_keys where key_id = ${keyId} and revoked_at is null`;
    const row = rows[0];
    return row ? { keyId, role: row.role, providerId: row.provider_id } : null;
  }
}
