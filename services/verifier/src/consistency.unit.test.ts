import t from 'tap';
import { generateKeys, parseSignerKey } from './checkpoint.js';
import { checkConsistency } from './consistency.js';
import { grantLog, TestLog } from './testing.js';

/** The honest log, grown after the funder saved its head at `savedSize`. */
function grown(extra: number): TestLog {
  const log = grantLog();
  for (let i = 0; i < extra; i++) {
    log.append('participant-p2', 'SessionAttended', {
      sessionId: `S-${i}`,
      sessionDate: '2025-06-02',
      durationMinutes: 30,
    });
  }
  return log;
}

/** The same log with one entry rewritten, rebuilt and signed with the log's own key (the chainer would). */
function rewritten(log: TestLog, changedPosition: number, size = log.tree.size): TestLog {
  const forged = new TestLog(log.signer);
  for (const e of log.entries.slice(0, size)) {
    const data = Number(e.position) === changedPosition ? { ...e.data, amountPence: 1 } : e.data;
    forged.append(e.streamId, e.type, data, e.eventId);
  }
  return forged;
}

t.test('an honest log that grew is proven to extend the head the funder saved', async (t) => {
  const log = grown(13);
  for (const saved of [1, 4, 5, 10, 23]) {
    const verdict = checkConsistency(log.key, log.checkpoint(saved), log.checkpoint(), log.consistencyProof(saved));
    t.equal(verdict.verdict, 'consistent', `saved at ${saved}`);
    if (verdict.verdict === 'consistent') t.equal(verdict.appended, 23 - saved);
  }
});

t.test('a rewrite re-signed with the real key is caught against the saved head', async (t) => {
  const log = grown(13);
  const savedAt5 = log.checkpoint(5);
  const forged = rewritten(log, 3);
  const verdict = checkConsistency(log.key, savedAt5, forged.checkpoint(), forged.consistencyProof(5));
  t.equal(verdict.verdict, 'diverged', "the log's own proof shows its first 5 entries are not the ones the funder saw");
  t.match(verdict, { message: /does not begin with the 5 entries your head covered.*position from 1 to 5/ });
  // A head whose size is a power of two is the root of a subtree: the log cannot even produce a proof.
  const atFour = checkConsistency(log.key, log.checkpoint(4), forged.checkpoint(), forged.consistencyProof(4));
  t.equal(atFour.verdict, 'unproven');
  // The log serving the honest proof with its rewritten head: also refused.
  t.equal(checkConsistency(log.key, savedAt5, forged.checkpoint(), log.consistencyProof(5)).verdict, 'unproven');
  // Edits after the saved head are not the funder's business: it was not covered.
  t.equal(
    checkConsistency(log.key, savedAt5, rewritten(log, 9).checkpoint(), rewritten(log, 9).consistencyProof(5)).verdict,
    'consistent',
  );
});

t.test('truncation re-signed with the real key is named with the positions that are gone', async (t) => {
  const log = grown(13);
  const saved = log.checkpoint(20);
  const truncated = rewritten(log, 0, 17);
  const verdict = checkConsistency(log.key, saved, truncated.checkpoint(17, 1_790_000_000_000), {
    from: 20,
    to: 17,
    proof: [],
  });
  t.equal(verdict.verdict, 'truncated');
  t.match(verdict, {
    message: /today's log has 17 entries, your saved head covered 20: entries at positions 18 to 20 are gone/,
  });
  // Truncate, then append new entries until the size is back: a rewrite of the tail.
  const regrown = rewritten(log, 0, 17);
  for (let i = 0; i < 6; i++) {
    regrown.append('grant-G-1', 'SpendRecorded', {
      amountPence: 1,
      category: 'staff',
      periodStart: '2025-04-01',
      periodEnd: '2025-04-30',
      evidenceRef: `X-${i}`,
    });
  }
  t.equal(checkConsistency(log.key, saved, regrown.checkpoint(), regrown.consistencyProof(20)).verdict, 'diverged');
});

t.test('heads not signed by the pinned key are unverifiable, whichever one it is', async (t) => {
  const log = grown(3);
  const attacker = parseSignerKey(generateKeys('vru.test/audit-log').signerKey);
  const other = checkConsistency(
    log.key,
    log.checkpoint(5),
    log.checkpoint(13, undefined, attacker),
    log.consistencyProof(5),
  );
  t.match(other, { verdict: 'unverifiable', message: /^today's head: not signed by the pinned key/ });
  t.match(
    checkConsistency(log.key, log.checkpoint(5, undefined, attacker), log.checkpoint(), log.consistencyProof(5)),
    { verdict: 'unverifiable', message: /^your saved head/ },
  );
});

t.test('proofs for other sizes, garbage proofs and a head older than the saved one are refused', async (t) => {
  const log = grown(5);
  const [saved, today] = [log.checkpoint(5), log.checkpoint()];
  t.match(checkConsistency(log.key, saved, today, log.consistencyProof(6)), {
    verdict: 'unverifiable',
    message: /the proof is from 6 to 15/,
  });
  t.equal(checkConsistency(log.key, saved, today, { from: 5, to: 15, proof: ['nope'] }).verdict, 'unverifiable');
  t.equal(checkConsistency(log.key, saved, today, null).verdict, 'unverifiable');
  t.equal(checkConsistency(log.key, saved, today, { from: 5, to: 15, proof: [] }).verdict, 'unproven');
  t.match(checkConsistency(log.key, log.checkpoint(5, 2_000_000_000_000), today, log.consistencyProof(5)), {
    verdict: 'unverifiable',
    message: /older than your saved head/,
  });
  const same = checkConsistency(log.key, today, today, { from: 15, to: 15, proof: [] });
  t.equal(same.verdict, 'consistent', "today's head again");
  const sameSizeOtherRoot = rewritten(log, 2);
  t.equal(
    checkConsistency(log.key, today, sameSizeOtherRoot.checkpoint(), { from: 15, to: 15, proof: [] }).verdict,
    'diverged',
  );
});
