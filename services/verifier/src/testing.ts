import {
  generateKeys,
  parseSignerKey,
  parseVerifierKey,
  signCheckpoint,
  type SignerKey,
  type VerifierKey,
} from './checkpoint.js';
import { canonicalJson } from './canonical-json.js';
import { toBase64, utf8 } from './encoding.js';
import {
  EVIDENCE_PACK_FORMAT,
  EVIDENCE_PACK_VERSION,
  grantStreamId,
  type GrantEvidencePack,
  type GrantFigures,
} from './evidence-pack.js';
import { MemoryTree } from './merkle.js';
import { planConsistencyProof, planInclusionProof } from './proofs.js';

/**
 * A small log for the verifier's own tests: stored events as the service writes them (canonical JSON, personal
 * fields sealed), two grants interleaved with participant events, a key pair, and helpers to sign heads and
 * assemble evidence packs the way the service will. Not exported from the package.
 */

export const ORIGIN = 'vru.test/audit-log';

export interface StoredEntry {
  position: string;
  eventId: string;
  streamId: string;
  streamVersion: number;
  type: string;
  schemaVersion: number;
  providerId: string;
  programmeId: string | null;
  occurredAt: string;
  recordedAt: string;
  data: Record<string, unknown>;
  metadata: Record<string, unknown>;
}

export class TestLog {
  readonly entries: StoredEntry[] = [];
  readonly tree = new MemoryTree();
  private readonly versions = new Map<string, number>();

  constructor(readonly signer: SignerKey = parseSignerKey(generateKeys(ORIGIN).signerKey)) {}

  get key(): VerifierKey {
    return parseVerifierKey(this.signer.verifierKey);
  }

  append(streamId: string, type: string, data: Record<string, unknown>, eventId = this.nextEventId()): StoredEntry {
    const streamVersion = (this.versions.get(streamId) ?? 0) + 1;
    this.versions.set(streamId, streamVersion);
    const entry: StoredEntry = {
      position: String(this.entries.length + 1),
      eventId,
      streamId,
      streamVersion,
      type,
      schemaVersion: 1,
      providerId: 'prov-a',
      programmeId: 'mentoring-derby',
      occurredAt: '2025-06-01T10:00:00.000Z',
      recordedAt: '2025-06-01T10:00:01.000Z',
      data,
      metadata: { requestId: `req-${this.entries.length + 1}`, keyId: 'k1', role: 'provider', source: 'api' },
    };
    this.entries.push(entry);
    this.tree.appendEntries([utf8(canonicalJson(entry))]);
    return entry;
  }

  private nextEventId(): string {
    return `00000000-0000-4000-8000-${String(this.entries.length + 1).padStart(12, '0')}`;
  }

  /** The head of the log at `size`, signed by `signer` (the log's own key unless an attacker's is given). */
  checkpoint(size = this.tree.size, timestamp = 1_780_000_000_000 + size, signer = this.signer): string {
    return signCheckpoint({ origin: ORIGIN, size, rootHash: this.tree.root(size), timestamp }, signer);
  }

  inclusionProof(leafIndex: number, size = this.tree.size): string[] {
    const plan = planInclusionProof(leafIndex, size);
    return plan.build(plan.nodes.map(this.tree.node)).map(toBase64);
  }

  consistencyProof(from: number, to = this.tree.size): { from: number; to: number; proof: string[] } {
    const plan = planConsistencyProof(from, to);
    return { from, to, proof: plan.build(plan.nodes.map(this.tree.node)).map(toBase64) };
  }

  /** A pack for one grant as the service assembles it: the stream's events up to the head, proofs and figures. */
  grantPack(grantRef: string, figures: GrantFigures, size = this.tree.size): GrantEvidencePack {
    const events = this.entries
      .slice(0, size)
      .filter((e) => e.streamId === grantStreamId(grantRef))
      .map((e) => ({
        leafIndex: Number(e.position) - 1,
        entry: canonicalJson(e),
        inclusionProof: this.inclusionProof(Number(e.position) - 1, size),
      }));
    return {
      format: EVIDENCE_PACK_FORMAT,
      version: EVIDENCE_PACK_VERSION,
      subject: { kind: 'grant', grantRef },
      checkpoint: this.checkpoint(size),
      events,
      figures,
    };
  }
}

export const sealed = () => ({ $sealed: 'v1.aXY.Y2lwaGVydGV4dA' });

/** Two grants and their spend, interleaved with participant events, as a provider's quarter produces them. */
export function grantLog(log = new TestLog()): TestLog {
  log.append('grant-G-1', 'GrantAwarded', {
    providerId: 'prov-a',
    programmeId: 'mentoring-derby',
    amountPence: 5_000_000,
    startDate: '2025-04-01',
    endDate: '2026-03-31',
    targetParticipants: 40,
  });
  log.append('participant-p1', 'ParticipantReferred', { referralDate: '2025-05-01', ...sealed() });
  log.append(
    'grant-G-1',
    'SpendRecorded',
    {
      amountPence: 1_672_600,
      category: 'staff',
      periodStart: '2025-04-01',
      periodEnd: '2025-06-30',
      evidenceRef: 'INV-1',
    },
    'aaaaaaaa-0000-4000-8000-000000000001',
  );
  log.append('grant-G-2', 'GrantAwarded', {
    providerId: 'prov-b',
    programmeId: 'sport-leicester',
    amountPence: 900_000,
    startDate: '2025-04-01',
    endDate: '2026-03-31',
    targetParticipants: 10,
  });
  log.append(
    'grant-G-1',
    'SpendRecorded',
    {
      amountPence: 250_000,
      category: 'venue',
      periodStart: '2025-07-01',
      periodEnd: '2025-09-30',
      evidenceRef: 'INV-2',
    },
    'aaaaaaaa-0000-4000-8000-000000000002',
  );
  log.append('participant-p1', 'ParticipantEnrolled', { enrolledOn: '2025-05-10', ...sealed() });
  log.append('grant-G-1', 'SpendCorrected', {
    correctsEventId: 'aaaaaaaa-0000-4000-8000-000000000001',
    amountPence: 1_500_000,
    category: 'staff',
    reason: 'invoice credited',
  });
  log.append('grant-G-2', 'SpendRecorded', {
    amountPence: 40_000,
    category: 'materials',
    periodStart: '2025-04-01',
    periodEnd: '2025-06-30',
    evidenceRef: 'B-1',
  });
  log.append(
    'grant-G-1',
    'SpendRecorded',
    {
      amountPence: 80_000,
      category: 'materials',
      periodStart: '2025-10-01',
      periodEnd: '2025-12-31',
      evidenceRef: 'INV-3',
    },
    'aaaaaaaa-0000-4000-8000-000000000003',
  );
  log.append('participant-p1', 'SessionAttended', { sessionId: 'S-1', sessionDate: '2025-05-20', durationMinutes: 60 });
  return log;
}

/** The honest figures of grant G-1 in grantLog. */
export const G1_FIGURES: GrantFigures = {
  grantRef: 'G-1',
  providerId: 'prov-a',
  programmeId: 'mentoring-derby',
  awardedPence: 5_000_000,
  spentPence: 1_830_000,
  remainingPence: 3_170_000,
  spentByCategory: { staff: 1_500_000, venue: 250_000, materials: 80_000 },
  spentByQuarter: { '2025-Q2': 1_500_000, '2025-Q3': 250_000, '2025-Q4': 80_000 },
};
