import { ConfigError, type Config } from '@vru/runtime';
import { parseSignerKey, parseVerifierKey, type SignerKey, type VerifierKey } from '@vru/verifier';

/**
 * The audit log's keys from settings. The public key is pinned: AUDIT_PUBLIC_KEY, configured out of band, is the only
 * key any verification in the service uses.
 */

/** The pinned verifier key, or null when AUDIT_PUBLIC_KEY is not configured. */
export function pinnedAuditKey(config: Pick<Config, 'AUDIT_PUBLIC_KEY'>): VerifierKey | null {
  if (!config.AUDIT_PUBLIC_KEY) return null;
  try {
    return parseVerifierKey(config.AUDIT_PUBLIC_KEY);
  } catch (err) {
    throw new ConfigError([`AUDIT_PUBLIC_KEY: ${(err as Error).message}`]);
  }
}

/**
 * The signer's key and the key it must match. The signing key is required everywhere; in production the pinned key
 * too, and when both are given they must be a pair.
 */
export function auditSigningKeys(config: Pick<Config, 'NODE_ENV' | 'AUDIT_SIGNING_KEY' | 'AUDIT_PUBLIC_KEY'>): {
  signer: SignerKey;
  key: VerifierKey;
} {
  // No throwaway key in any environment: heads signed by a key nobody pinned could never be checked.
  if (!config.AUDIT_SIGNING_KEY) {
    throw new ConfigError([
      'AUDIT_SIGNING_KEY: must be set (scripts/audit-keys makes a pair; the development scripts generate one)',
    ]);
  }
  if (config.NODE_ENV === 'production' && !config.AUDIT_PUBLIC_KEY) {
    throw new ConfigError(['AUDIT_PUBLIC_KEY: must be set in production (the verifier key funders pin)']);
  }
  let signer: SignerKey;
  try {
    signer = parseSignerKey(config.AUDIT_SIGNING_KEY);
  } catch (err) {
    throw new ConfigError([`AUDIT_SIGNING_KEY: ${(err as Error).message}`]);
  }
  const key = pinnedAuditKey(config) ?? parseVerifierKey(signer.verifierKey);
  if (key.text !== signer.verifierKey) {
    throw new ConfigError([
      'AUDIT_SIGNING_KEY: not the signing half of AUDIT_PUBLIC_KEY (heads it signed would never verify)',
    ]);
  }
  return { signer, key };
}
