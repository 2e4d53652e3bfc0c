import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes, randomFillSync } from 'node:crypto';
import { eventDefinition, type StoredEvent } from '@vru/contracts';
import type { Sql, TransactionSql } from '@vru/runtime';

/**
 * Crypto-shredding. A participant's personal fields (catalogue `personalFields`) are stored, and published to
 * Kafka, only as one AES-256-GCM ciphertext under a data key of that participant's own. The data key is kept
 * in `participant_keys`, itself encrypted under a key-encryption key derived from PERSONAL_DATA_KEY (held
 * outside the database). Erasure deletes the participant's row: every copy of the fields, in the event log,
 * in Kafka and in backups of either, becomes unreadable, while the events themselves (dates, attendance,
 * outcomes: the counts) stay, unaltered, so the hash chain and reported figures still verify.
 */
export const SEALED_FIELD = '$sealed';
/** Set on read when an event's personal fields can no longer be decrypted: the participant was erased. */
export const ERASED_FIELD = '$erased';

const FORMAT = 'v1';
type Keys = Map<string, Buffer>;

const IV_BYTES = 12;
// A GCM nonce must never repeat under one key; 96 random bits from the CSPRNG make that as unlikely as ever, whether
// drawn 12 bytes at a time or 6 KiB at a time. Each call into the CSPRNG costs about 4.6 µs here whatever its size,
// so one fill serves 512 nonces (docs/performance.md, batch ingest).
const nonces = Buffer.alloc(IV_BYTES * 512);
let nextNonce = nonces.length;

function freshNonce(): Buffer {
  if (nextNonce === nonces.length) {
    randomFillSync(nonces);
    nextNonce = 0;
  }
  // A copy: the pool's bytes are overwritten by its next fill.
  const iv = Buffer.from(nonces.subarray(nextNonce, nextNonce + IV_BYTES));
  nextNonce += IV_BYTES;
  return iv;
}

function encrypt(key: Buffer, plaintext: Buffer, aad: string): string {
  const iv = freshNonce();
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(aad));
  const body = Buffer.concat([cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
  return `${FORMAT}.${iv.toString('base64url')}.${body.toString('base64url')}`;
}

function decrypt(key: Buffer, sealed: string, aad: string): Buffer {
  const [format, iv, body] = sealed.split('.');
  if (format !== FORMAT || !iv || !body) throw new Error('unknown sealed format');
  const bytes = Buffer.from(body, 'base64url');
  const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'));
  decipher.setAAD(Buffer.from(aad));
  decipher.setAuthTag(bytes.subarray(bytes.length - 16));
  return Buffer.concat([decipher.update(bytes.subarray(0, bytes.length - 16)), decipher.final()]);
}

export class PersonalDataVault {
  private readonly kek: Buffer;

  constructor(secret: string) {
    this.kek = Buffer.from(hkdfSync('sha256', secret, 'vru', 'participant-key-encryption', 32));
  }

  /** The participants' data keys, created for those that have none yet. Runs in the append transaction. */
  async keysFor(tx: TransactionSql | Sql, streamIds: readonly string[]): Promise<Keys> {
    if (streamIds.length === 0) return new Map();
    // Read first: nearly every append is to a participant who already has a key, so one round trip, and no key
    // generated and wrapped only to be discarded by the insert's conflict. Only the missing ones are created.
    const keys = await this.existingKeys(tx, streamIds);
    const missing = streamIds.filter((id) => !keys.has(id));
    if (missing.length === 0) return keys;
    const fresh = missing.map((id) => encrypt(this.kek, randomBytes(32), id));
    await tx`
      insert into participant_keys (stream_id, wrapped_key)
      select * from unnest(${missing}::text[], ${fresh}::text[])
      on conflict (stream_id) do nothing`;
    for (const [id, key] of await this.existingKeys(tx, missing)) keys.set(id, key);
    return keys;
  }

  private async existingKeys(sql: TransactionSql | Sql, streamIds: readonly string[]): Promise<Keys> {
    const rows = await sql<{ stream_id: string; wrapped_key: string }[]>`
      select stream_id, wrapped_key from participant_keys where stream_id = any(${streamIds as string[]}::text[])`;
    return new Map(rows.map((r) => [r.stream_id, decrypt(this.kek, r.wrapped_key, r.stream_id)]));
  }

  /** True when the event type has personal fields present in this data. */
  static needsSealing(type: string, data: Record<string, unknown>): boolean {
    return (eventDefinition(type)?.personalFields ?? []).some((f) => data[f] !== undefined);
  }

  /** The data as stored: personal fields replaced by one ciphertext bound to the stream. */
  static seal(type: string, streamId: string, data: Record<string, unknown>, key: Buffer): Record<string, unknown> {
    const fields = eventDefinition(type)?.personalFields ?? [];
    const personal: Record<string, unknown> = {};
    const rest: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(data)) (fields.includes(k) ? personal : rest)[k] = v;
    if (Object.keys(personal).length === 0) return data;
    return { ...rest, [SEALED_FIELD]: encrypt(key, Buffer.from(JSON.stringify(personal)), streamId) };
  }

  /**
   * Stored events with their personal fields decrypted, or marked erased where the key is gone. With `opens`, only
   * events of the types it accepts are decrypted: the others come without their personal fields, which stay sealed
   * (a reader that needs none of them never holds them, and spends nothing on decrypting them).
   */
  async open(
    sql: Sql | TransactionSql,
    events: StoredEvent[],
    opens: (type: string) => boolean = () => true,
  ): Promise<StoredEvent[]> {
    const sealed = [
      ...new Set(
        events.filter((e) => typeof e.data[SEALED_FIELD] === 'string' && opens(e.type)).map((e) => e.streamId),
      ),
    ];
    const keys = sealed.length === 0 ? new Map<string, Buffer>() : await this.existingKeys(sql, sealed);
    return events.map((e) => {
      const ciphertext = e.data[SEALED_FIELD];
      if (typeof ciphertext !== 'string') return e;
      const { [SEALED_FIELD]: _sealed, ...rest } = e.data;
      if (!opens(e.type)) return { ...e, data: rest };
      const key = keys.get(e.streamId);
      if (!key) return { ...e, data: { ...rest, [ERASED_FIELD]: true } };
      return {
        ...e,
        data: { ...rest, ...(JSON.parse(decrypt(key, ciphertext, e.streamId).toString()) as Record<string, unknown>) },
      };
    });
  }

  /** Erasure: the data keys are destroyed (and the match index entries that pointed at the participants). */
  static async destroyKeys(tx: TransactionSql, streamIds: readonly string[]): Promise<void> {
    if (streamIds.length === 0) return;
    await tx`delete from participant_keys where stream_id = any(${streamIds as string[]}::text[])`;
    await tx`delete from match_index where stream_id = any(${streamIds as string[]}::text[])`;
  }
}

/** The match index key: the provider's token keyed once more with a secret outside the database. */
export function matchLookup(pseudonymSecret: string, token: string): string {
  return createHmac('sha256', pseudonymSecret).update(`match\u0000${token}`).digest('hex');
}
