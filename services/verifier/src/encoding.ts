/** Standard base64 (RFC 4648 section 4), as transparency logs write hashes. Strict: padding required, nothing else. */
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

export const toBase64 = (bytes: Uint8Array): string => Buffer.from(bytes).toString('base64');

/** Decodes strict base64; null for anything else (Buffer.from would skip bad characters silently). */
export function fromBase64(text: string): Uint8Array | null {
  if (typeof text !== 'string' || !BASE64.test(text)) return null;
  const bytes = new Uint8Array(Buffer.from(text, 'base64'));
  // Canonical form only: the same bytes have exactly one accepted spelling.
  return toBase64(bytes) === text ? bytes : null;
}

export const toHex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');

export const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text);
