// ESLint formatter for scripts/lint --summary: findings counted by rule and by directory, to see where a new or tuned
// rule bites before listing every finding.
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = fileURLToPath(new URL('../..', import.meta.url));

export default function summary(results) {
  const byRule = new Map();
  const byDirectory = new Map();
  const count = (map, key) => map.set(key, (map.get(key) ?? 0) + 1);
  let findings = 0;
  for (const result of results) {
    const directory = path.dirname(path.relative(repo, result.filePath));
    if (!byDirectory.has(directory)) byDirectory.set(directory, 0);
    for (const message of result.messages) {
      findings += 1;
      count(byRule, message.ruleId ?? 'parse error');
      count(byDirectory, directory);
    }
  }
  const table = (map) =>
    [...map]
      .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
      .map(([key, n]) => `${String(n).padStart(7)}  ${key}`)
      .join('\n');
  return [
    `${findings} findings in ${results.filter((r) => r.messages.length > 0).length} of ${results.length} files`,
    '',
    'by rule:',
    table(byRule),
    '',
    'by directory (0: clean):',
    table(byDirectory),
    '',
  ].join('\n');
}
