/**
 * The read path's objects start young even after a backfill and cached reads kept their kind alive: V8
 * pretenures object and array literal sites whose objects survive, and a read's short-lived objects made
 * old would keep the young objects they point to alive through every scavenge (docs/performance-notes.md).
 * It asserts V8 internals, so it is a benchmark check (`npm run bench`), not a unit test: the probe runs in a
 * child process with --allow-natives-syntax and reports which objects were made old; this exits 1 if any were.
 *   npx tsx bench/young-probe.ts
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { machine } from './util.js';

const probe = fileURLToPath(new URL('./young/probe-child.ts', import.meta.url));
const child = spawnSync(process.execPath, ['--allow-natives-syntax', '--import', 'tsx', probe], { encoding: 'utf8', timeout: 120_000 });
const line = child.stdout.split('\n').find((l) => l.startsWith('@@result '));
if (child.status !== 0 || !line) {
  console.error(`the young-generation probe failed (exit ${child.status}):\n${child.stderr}`);
  process.exit(1);
}
const result = JSON.parse(line.slice('@@result '.length)) as { controlPretenured: boolean; checked: string[]; old: string[] };
console.log(`young-generation probe on ${machine()}: ${result.checked.length} kinds of read-path objects checked; control literal pretenured: ${result.controlPretenured}`);
if (result.checked.length < 12) {
  console.error(`expected at least 12 kinds of objects checked, got ${result.checked.length}`);
  process.exitCode = 1;
} else if (result.old.length) {
  console.error(`made old (pretenured) after long-lived ones of their kind: ${result.old.join(', ')}`);
  process.exitCode = 1;
} else {
  console.log('every one starts in the young generation');
}
