/**
 * Runs every benchmark in bench/ one after another (each in its own process, so one's memory does not
 * colour the next) and prints their figures. Extra arguments are passed to each.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

const here = import.meta.dirname;
const skip = new Set(['run-all.ts', 'util.ts', 'credit-data.ts', 'serve-load.ts', 'wide-shape.ts', 'nn-evidence.ts', 'evidence-stats.ts']);
const benches = readdirSync(here).filter((f) => f.endsWith('.ts') && !skip.has(f)).sort();
let failed = 0;
for (const b of benches) {
  console.log(`\n### bench/${b}\n`);
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(here, b), ...process.argv.slice(2)], { stdio: 'inherit' });
  if (r.status !== 0) { failed++; console.error(`bench/${b} failed with exit code ${r.status}`); }
}
process.exitCode = failed ? 1 : 0;
