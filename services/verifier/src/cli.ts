#!/usr/bin/env node
import { readFile, writeFile } from 'node:fs/promises';
import { runVerifier } from './commands.js';

// Reads and writes only the files named on the command line, and fetches only from --url.
process.exitCode = await runVerifier(process.argv.slice(2), {
  readFile: (path) => readFile(path, 'utf8'),
  writeFile: (path, text) => writeFile(path, text, { encoding: 'utf8', flag: 'w' }),
  fetch: (url, init) => fetch(url, { ...init, redirect: 'error', signal: AbortSignal.timeout(30_000) }),
  env: process.env,
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
});
