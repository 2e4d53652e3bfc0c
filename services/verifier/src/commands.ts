import { CheckpointError, openCheckpoint, parseVerifierKey, type TreeHead, type VerifierKey } from './checkpoint.js';
import { checkConsistency, type ConsistencyVerdict } from './consistency.js';
import { toBase64 } from './encoding.js';
import { verifyEvidencePack } from './evidence-pack.js';
import { verifyFrozenReturn } from './frozen-return.js';

/** Where the log serves what the verifier fetches (the API answers these for funder keys). */
export const AUDIT_LOG_ROUTES = {
  /** The latest signed tree head, as a signed note (text/plain). */
  checkpoint: '/v1/audit/log/checkpoint',
  /** `?from=m&to=n`: a consistency proof, JSON { from, to, proof }. */
  consistency: '/v1/audit/log/consistency',
} as const;

export const USAGE = `vru-verify: checks the VRU audit log with nothing but its pinned public key.

  vru-verify head        [KEY] HEAD_FILE
      check a saved signed tree head against the pinned key
  vru-verify consistency [KEY] --old HEAD_FILE (--url API_URL | --new HEAD_FILE --proof PROOF_FILE) [--save FILE]
      prove that today's log extends the head you saved, or say where it does not; --save writes today's
      verified head to FILE, to keep for next time
  vru-verify pack        [KEY] PACK_FILE
      verify an evidence pack offline: the head, every inclusion proof, and the figures re-computed from the events
  vru-verify return      [KEY] RETURN_FILE
      verify a frozen return as GET /v1/returns/{id} answers it: signed by the pinned key, its statement names
      this return, and its figures hash to the signed digest

  KEY is --key VERIFIER_KEY or --key-file FILE; without either, AUDIT_PUBLIC_KEY is used. Never take the key from
  the log itself: use the one the operator published. With --url, VRU_API_KEY is sent as the bearer key.
  Add --json for one JSON object on standard output. Exit status: 0 verified, 1 verification failed,
  2 bad usage or unreadable input.`;

export interface VerifierIo {
  readFile(path: string): Promise<string>;
  writeFile(path: string, text: string): Promise<void>;
  fetch(
    url: string,
    init: { headers: Record<string, string> },
  ): Promise<{ ok: boolean; status: number; text(): Promise<string> }>;
  env: Record<string, string | undefined>;
  out(line: string): void;
  err(line: string): void;
}

class UsageError extends Error {}

interface Options {
  command: string;
  positional: string[];
  flags: Map<string, string>;
  json: boolean;
}

const VALUED = new Set(['--key', '--key-file', '--old', '--new', '--proof', '--url', '--save']);

function parseArgs(argv: readonly string[]): Options {
  const [command = '', ...rest] = argv;
  const positional: string[] = [];
  const flags = new Map<string, string>();
  let json = false;
  for (let i = 0; i < rest.length; i++) {
    const arg = rest[i]!;
    if (arg === '--json') json = true;
    else if (VALUED.has(arg)) {
      const value = rest[++i];
      if (value === undefined) throw new UsageError(`${arg} needs a value`);
      flags.set(arg, value);
    } else if (arg.startsWith('--')) throw new UsageError(`unknown option ${arg}`);
    else positional.push(arg);
  }
  return { command, positional, flags, json };
}

async function pinnedKey(o: Options, io: VerifierIo): Promise<VerifierKey> {
  const text =
    o.flags.get('--key') ??
    (o.flags.has('--key-file') ? await io.readFile(o.flags.get('--key-file')!) : undefined) ??
    io.env.AUDIT_PUBLIC_KEY;
  if (!text) throw new UsageError('no pinned key: give --key, --key-file or AUDIT_PUBLIC_KEY');
  try {
    return parseVerifierKey(text);
  } catch (err) {
    throw new UsageError(`the pinned key: ${(err as Error).message}`);
  }
}

const headJson = (h: TreeHead) => ({
  origin: h.origin,
  size: h.size,
  rootHash: toBase64(h.rootHash),
  timestamp: new Date(h.timestamp).toISOString(),
});
const headLine = (h: TreeHead) =>
  `${h.size} entries, root ${toBase64(h.rootHash)}, signed ${new Date(h.timestamp).toISOString()}`;

async function fetchText(io: VerifierIo, url: string): Promise<string> {
  const apiKey = io.env.VRU_API_KEY;
  let res: Awaited<ReturnType<VerifierIo['fetch']>>;
  try {
    res = await io.fetch(url, { headers: apiKey ? { authorization: `Bearer ${apiKey}` } : {} });
  } catch (err) {
    throw new UsageError(`could not reach ${url}: ${(err as Error).message}`);
  }
  if (!res.ok) throw new UsageError(`${url} answered ${res.status}`);
  return res.text();
}

function parseJson(text: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new UsageError(`${what} is not JSON`);
  }
}

async function head(o: Options, io: VerifierIo): Promise<number> {
  const key = await pinnedKey(o, io);
  const [file] = o.positional;
  if (!file || o.positional.length > 1) throw new UsageError('head takes one HEAD_FILE');
  try {
    const h = openCheckpoint(await io.readFile(file), key);
    if (o.json) io.out(JSON.stringify({ ok: true, head: headJson(h) }));
    else io.out(`verified: signed by ${key.name}: ${headLine(h)}`);
    return 0;
  } catch (err) {
    if (!(err instanceof CheckpointError)) throw err;
    if (o.json) io.out(JSON.stringify({ ok: false, problem: err.message }));
    else io.out(`NOT VERIFIED: ${err.message}`);
    return 1;
  }
}

async function consistency(o: Options, io: VerifierIo): Promise<number> {
  const key = await pinnedKey(o, io);
  const oldFile = o.flags.get('--old');
  if (!oldFile || o.positional.length > 0) throw new UsageError('consistency needs --old HEAD_FILE');
  const saved = await io.readFile(oldFile);
  let current: string;
  let proof: unknown;
  const url = o.flags.get('--url');
  if (url) {
    if (o.flags.has('--new') || o.flags.has('--proof')) throw new UsageError('give either --url or --new and --proof');
    const base = url.replace(/\/+$/, '');
    current = await fetchText(io, `${base}${AUDIT_LOG_ROUTES.checkpoint}`);
    let savedSize: number;
    let currentSize: number;
    try {
      savedSize = openCheckpoint(saved, key).size;
      currentSize = openCheckpoint(current, key).size;
    } catch {
      // checkConsistency names which head fails; the proof is not needed for that.
      savedSize = currentSize = 0;
    }
    proof =
      savedSize > 0 && currentSize >= savedSize
        ? parseJson(
            await fetchText(io, `${base}${AUDIT_LOG_ROUTES.consistency}?from=${savedSize}&to=${currentSize}`),
            'the consistency proof',
          )
        : { from: savedSize, to: currentSize, proof: [] };
  } else {
    const newFile = o.flags.get('--new');
    const proofFile = o.flags.get('--proof');
    if (!newFile || !proofFile)
      throw new UsageError('consistency needs --url API_URL, or --new HEAD_FILE and --proof PROOF_FILE');
    current = await io.readFile(newFile);
    proof = parseJson(await io.readFile(proofFile), 'the consistency proof');
  }
  const verdict: ConsistencyVerdict = checkConsistency(key, saved, current, proof);
  const save = o.flags.get('--save');
  if (verdict.verdict === 'consistent' && save) await io.writeFile(save, current);
  if (o.json) {
    io.out(
      JSON.stringify(
        verdict.verdict === 'unverifiable'
          ? { ok: false, ...verdict }
          : {
              ...verdict,
              ok: verdict.verdict === 'consistent',
              saved: headJson(verdict.saved),
              current: headJson(verdict.current),
            },
      ),
    );
  } else if (verdict.verdict === 'consistent') {
    io.out(
      `consistent: today's log (${headLine(verdict.current)}) extends your saved head (${headLine(verdict.saved)}) ` +
        `with ${verdict.appended} new entries; nothing you saw was changed or removed.`,
    );
    if (save) io.out(`today's head saved to ${save}`);
  } else {
    io.out(`NOT CONSISTENT (${verdict.verdict}): ${verdict.message}`);
  }
  return verdict.verdict === 'consistent' ? 0 : 1;
}

async function pack(o: Options, io: VerifierIo): Promise<number> {
  const key = await pinnedKey(o, io);
  const [file] = o.positional;
  if (!file || o.positional.length > 1) throw new UsageError('pack takes one PACK_FILE');
  const result = verifyEvidencePack(parseJson(await io.readFile(file), 'the evidence pack'), key);
  if (o.json) {
    io.out(JSON.stringify({ ...result, head: result.head ? headJson(result.head) : undefined }));
  } else if (result.ok) {
    const f = result.recomputed!;
    io.out(
      `verified: ${result.eventsProven} events of grant ${f.grantRef} are in the log signed by ${key.name} ` +
        `(${headLine(result.head!)})`,
    );
    io.out(
      `  awarded ${f.awardedPence} pence, spent ${f.spentPence}, remaining ${f.remainingPence} ` +
        '(re-computed from the events; the pack agrees)',
    );
    for (const [category, pence] of Object.entries(f.spentByCategory)) io.out(`  ${category}: ${pence}`);
    for (const [quarter, pence] of Object.entries(f.spentByQuarter)) io.out(`  ${quarter}: ${pence}`);
  } else {
    io.out(`NOT VERIFIED: ${result.problems.length} problem(s)`);
    for (const p of result.problems) io.out(`  ${p.path || '/'}: ${p.message}`);
  }
  return result.ok ? 0 : 1;
}

async function frozenReturn(o: Options, io: VerifierIo): Promise<number> {
  const key = await pinnedKey(o, io);
  const [file] = o.positional;
  if (!file || o.positional.length > 1) throw new UsageError('return takes one RETURN_FILE');
  const doc = parseJson(await io.readFile(file), 'the frozen return');
  const verdict = verifyFrozenReturn(doc, key);
  const r = doc as { id?: unknown; report?: unknown; position?: unknown; figuresSha256?: unknown };
  if (o.json) io.out(JSON.stringify(verdict));
  else if (verdict.ok) {
    io.out(
      `verified: frozen return ${String(r.id)} (${String(r.report)} at position ${String(r.position)}) is signed by ${key.name}; ` +
        `its figures hash to ${String(r.figuresSha256)}`,
    );
  } else {
    io.out(`NOT VERIFIED: ${verdict.problems.length} problem(s)`);
    for (const p of verdict.problems) io.out(`  ${p}`);
  }
  return verdict.ok ? 0 : 1;
}

/** The vru-verify command: returns the exit status. */
export async function runVerifier(argv: readonly string[], io: VerifierIo): Promise<number> {
  try {
    const o = parseArgs(argv);
    switch (o.command) {
      case 'head':
        return await head(o, io);
      case 'consistency':
        return await consistency(o, io);
      case 'pack':
        return await pack(o, io);
      case 'return':
        return await frozenReturn(o, io);
      case 'help':
      case '--help':
      case '-h':
        io.out(USAGE);
        return 0;
      default:
        throw new UsageError(o.command ? `unknown command ${o.command}` : 'no command');
    }
  } catch (err) {
    if (err instanceof UsageError) {
      io.err(`vru-verify: ${err.message}`);
      io.err('run vru-verify help for usage');
      return 2;
    }
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'EISDIR') {
      io.err(`vru-verify: cannot read ${(err as NodeJS.ErrnoException).path ?? 'a file'}`);
      return 2;
    }
    throw err;
  }
}
