import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Principal, Role } from '@vru/contracts';
import type { Sql } from '@vru/runtime';

const KEY_FORMAT = /^vru_([a-f0-9]{16})_([A-Za-z0-9_-]{43})$/;

function hashSecret(pepper: string, secret: string): string {
  return createHmac('sha256', pepper).update(secret).digest('hex');
}

/** Creates a key; the plain key is returned once and never stored (only a keyed hash of its secret part). */
export async function createApiKey(
  sql: Sql,
  pepper: string,
  options: {
    role: Role;
    providerId?: string | null;
    label?: string;
    createdBy?: string | null;
    rotatedFrom?: string | null;
  },
): Promise<{ keyId: string; apiKey: string }> {
  const keyId = randomBytes(8).toString('hex');
  const secret = randomBytes(32).toString('base64url');
  await sql`
    insert into api_keys (key_id, secret_hash, role, provider_id, label, created_by, rotated_from)
    values (${keyId}, ${hashSecret(pepper, secret)}, ${options.role}, ${options.providerId ?? null}, ${options.label ?? ''},
            ${options.createdBy ?? null}, ${options.rotatedFrom ?? null})`;
  return { keyId, apiKey: `vru_${keyId}_${secret}` };
}

export interface ApiKeySummary {
  keyId: string;
  prefix: string;
  role: Role;
  providerId: string | null;
  label: string;
  createdAt: string;
  createdBy: string | null;
  rotatedFrom: string | null;
  lastUsedAt: string | null;
  expiresAt: string | null;
  revokedAt: string | null;
}

interface KeyRow {
  key_id: string;
  role: Role;
  provider_id: string | null;
  label: string;
  created_at: Date;
  created_by: string | null;
  rotated_from: string | null;
  last_used_at: Date | null;
  expires_at: Date | null;
  revoked_at: Date | null;
}
const KEY_COLUMNS =
  'key_id, role, provider_id, label, created_at, created_by, rotated_from, last_used_at, expires_at, revoked_at';
const iso = (d: Date | null) => (d ? d.toISOString() : null);
const summary = (r: KeyRow): ApiKeySummary => ({
  keyId: r.key_id,
  prefix: `vru_${r.key_id}_`,
  role: r.role,
  providerId: r.provider_id,
  label: r.label,
  createdAt: r.created_at.toISOString(),
  createdBy: r.created_by,
  rotatedFrom: r.rotated_from,
  lastUsedAt: iso(r.last_used_at),
  expiresAt: iso(r.expires_at),
  revokedAt: iso(r.revoked_at),
});

/** Keys by prefix only: the secret part was never stored and cannot be shown. */
export async function listApiKeys(
  sql: Sql,
  filter: { role?: Role; providerId?: string; includeInactive?: boolean } = {},
): Promise<ApiKeySummary[]> {
  const rows = await sql<KeyRow[]>`
    select ${sql.unsafe(KEY_COLUMNS)} from api_keys
    where true
      ${filter.role ? sql`and role = ${filter.role}` : sql``}
      ${filter.providerId ? sql`and provider_id = ${filter.providerId}` : sql``}
      ${filter.includeInactive ? sql`` : sql`and revoked_at is null and (expires_at is null or expires_at > now())`}
    order by created_at, key_id`;
  return rows.map(summary);
}

export async function getApiKey(sql: Sql, keyId: string): Promise<ApiKeySummary | null> {
  const rows = await sql<KeyRow[]>`select ${sql.unsafe(KEY_COLUMNS)} from api_keys where key_id = ${keyId}`;
  return rows[0] ? summary(rows[0]) : null;
}

/** Revocation is immediate here and within the verifier cache's lifetime (10 s) on other API instances. */
export async function revokeApiKey(sql: Sql, keyId: string): Promise<ApiKeySummary | null> {
  const rows = await sql<KeyRow[]>`
    update api_keys set revoked_at = coalesce(revoked_at, now()) where key_id = ${keyId} returning ${sql.unsafe(KEY_COLUMNS)}`;
  return rows[0] ? summary(rows[0]) : null;
}

/**
 * A new key with the same role and provider; the old one keeps working for `graceSeconds` (0: stops now), so a
 * charity can swap keys without a failed submission. Refused for a key that is revoked or already expired.
 */
export async function rotateApiKey(
  sql: Sql,
  pepper: string,
  keyId: string,
  graceSeconds: number,
  createdBy: string | null,
): Promise<{ keyId: string; apiKey: string; replaced: ApiKeySummary } | null> {
  return sql.begin(async (tx) => {
    const rows = await tx<KeyRow[]>`
      update api_keys set expires_at = least(coalesce(expires_at, 'infinity'), now() + make_interval(secs => ${graceSeconds}))
      where key_id = ${keyId} and revoked_at is null and (expires_at is null or expires_at > now())
      returning ${tx.unsafe(KEY_COLUMNS)}`;
    const old = rows[0];
    if (!old) return null;
    const created = await createApiKey(tx as unknown as Sql, pepper, {
      role: old.role,
      providerId: old.provider_id,
      label: old.label,
      createdBy,
      rotatedFrom: keyId,
    });
    return { ...created, replaced: summary(old) };
  });
}

/**
 * Verifies bearer keys with a short cache, so a hot key costs no database round trip;
 * a revocation takes effect within `ttlMs`.
 */
export class ApiKeyVerifier {
  private cache = new Map<string, { principal: Principal | null; expires: number }>();

  constructor(
    private readonly sql: Sql,
    private readonly pepper: string,
    private readonly ttlMs = 10_000,
  ) {}

  async verify(apiKey: string): Promise<Principal | null> {
    const m = KEY_FORMAT.exec(apiKey);
    if (!m) return null;
    const now = Date.now();
    const hit = this.cache.get(apiKey);
    if (hit && hit.expires > now) return hit.principal;
    const [, keyId, secret] = m as unknown as [string, string, string];
    const rows = await this.sql<{ secret_hash: string; role: Role; provider_id: string | null }[]>`
      select secret_hash, role, provider_id from api_keys
      where key_id = ${keyId} and revoked_at is null and (expires_at is null or expires_at > now())`;
    const row = rows[0];
    let principal: Principal | null = null;
    if (row) {
      const expected = Buffer.from(row.secret_hash, 'hex');
      const actual = Buffer.from(hashSecret(this.pepper, secret), 'hex');
      if (expected.length === actual.length && timingSafeEqual(expected, actual)) {
        principal = { keyId, role: row.role, providerId: row.provider_id };
        // Only a key whose secret matched counts as used: a guess with a public key id must not touch the key.
        await this.sql`update api_keys set last_used_at = now() where key_id = ${keyId}`;
      }
    }
    if (this.cache.size > 10_000) this.cache.clear();
    this.cache.set(apiKey, { principal, expires: now + this.ttlMs });
    return principal;
  }

  /** The principal of a key this instance verified within the cache's lifetime; null for unknown or refused keys. */
  cached(apiKey: string): Principal | null {
    const hit = this.cache.get(apiKey);
    return hit && hit.expires > Date.now() ? hit.principal : null;
  }

  /** Drops a key from this instance's cache (after revocation or rotation here); other instances follow within the TTL. */
  forget(keyId: string): void {
    for (const k of this.cache.keys()) if (k.startsWith(`vru_${keyId}_`)) this.cache.delete(k);
  }
}
