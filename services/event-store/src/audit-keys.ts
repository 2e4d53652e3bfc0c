import { ConfigError, type Config, type Logger } from '@vru/runtime';
import { generateKeys, parseSignerKey, parseVerifierKey, type SignerKey, type VerifierKey } from '@vru/verifier';

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
 * The signer's key and the key it must match. In production both must be configured and must be a pair; elsewhere
 * a missing signing key is replaced by a throwaway one (with a warning), whose heads only hold within one run.
 */
export function auditSigningKeys(config: Pick<Config, 'NODE_ENV' | 'AUDIT_SIGNING_KEY' | 'AUDIT_PUBLIC_KEY'>, logger: Logger): {
  signer: SignerKey; key: VerifierKey;
} {
  const production = config.NODE_ENV === 'production';
  if (production && (!config.AUDIT_SIGNING_KEY || !config.AUDIT_PUBLIC_KEY)) {
    throw new ConfigError([
      ...(config.AUDIT_SIGNING_KEY ? [] : ['AUDIT_SIGNING_KEY: must be set in production (scripts/audit-keys makes a pair)']),
      ...(config.AUDIT_PUBLIC_KEY ? [] : ['AUDIT_PUBLIC_KEY: must be set in production (the verifier key funders pin)']),
    ]);
  }
  let signer: SignerKey;
  if (config.AUDIT_SIGNING_KEY) {
    try {
      signer = parseSignerKey(config.AUDIT_SIGNING_KEY);
    } catch (err) {
      throw new ConfigError([`AUDIT_SIGNING_KEY: ${(err as Error).message}`]);
    }
  } else {
    signer = parseSignerKey(generateKeys('vru.local/throwaway-audit-log').signerKey);
    logger.warn('AUDIT_SIGNING_KEY is not set: tree heads are signed with a throwaway key that no verifier pins');
  }
  const key = pinnedAuditKey(config) ?? parseVerifierKey(signer.verifierKey);
  if (key.text !== signer.verifierKey) {
    throw new ConfigError(['AUDIT_SIGNING_KEY: not the signing half of AUDIT_PUBLIC_KEY (heads it signed would never verify)']);
  }
  return { signer, key };
}
