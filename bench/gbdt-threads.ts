/**
 * Where a second training thread starts to pay: kiln's GBDT on 1 and on 2 threads (worker threads forced
 * with minEntriesForThreads: 0) for shapes around MIN_ENTRIES_FOR_THREADS, each training in a fresh process
 * (cold, as a user's `kiln gbdt train` or bench/gbdt.ts --repeat pays it), the two alternated. Seeded
 * synthetic binary task (ROWSxFEATURES), or `credit`: Give Me Some Credit's first 80% of rows (as
 * bench/gbdt.ts trains on; skipped when ../shared/data is absent); max_depth 6, 200 rounds, max_bin 256.
 * Prints each shape's times and the 2 / 1 thread ratio of their medians (< 1: two threads faster).
 *   npx tsx bench/gbdt-threads.ts [--runs 3] [--shapes credit,120000x10,160000x10,240000x10,25000x50,30000x50,60000x25]
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { loadavg } from 'node:os';
import { CREDIT, loadCredit } from './credit-data.js';
import { arg, builtOrSource, machine, median, printTable } from './util.js';

const RUNS = arg('runs', 3);
const at = process.argv.indexOf('--shapes');
const SHAPES = (at > 0 ? process.argv[at + 1]! : 'credit,120000x10,160000x10,240000x10,25000x50,30000x50,60000x25').split(',')
  .filter((s) => s !== 'credit' || existsSync(CREDIT));

/** Seeded synthetic columns and labels: a third of the features integer-valued, a nonlinear logit. */
function synthetic(n: number, F: number): { cols: Float32Array[]; label: Float32Array } {
  let s = 12345;
  const u = (): number => (s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 4294967296;
  const cols = Array.from({ length: F }, () => new Float32Array(n));
  const label = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    let z = 0;
    for (let j = 0; j < F; j++) {
      const v = u() * 2 - 1;
      cols[j]![i] = j % 3 === 0 ? Math.round(v * 20) : v;
      z += (j % 4 === 0 ? Math.sin(3 * v) : v * v) / (1 + j * 0.3);
    }
    label[i] = u() < 1 / (1 + Math.exp(1 - z)) ? 1 : 0;
  }
  return { cols, label };
}

const child = process.argv.indexOf('--child');
if (child > 0) {
  const shape = process.argv[child + 1]!;
  const threads = Number(process.argv[child + 2]);
  const { mod } = await builtOrSource<typeof import('../src/entries/gbdt.js')>('entries/gbdt');
  let cols: Float32Array[], label: Float32Array;
  if (shape === 'credit') {
    const d = await loadCredit();
    if (typeof d === 'string') throw new Error(d);
    const ntr = Math.floor(d.label.length * 0.8);
    cols = d.cols.map((c) => c.subarray(0, ntr));
    label = d.label.subarray(0, ntr);
  } else {
    const [n, F] = shape.split('x').map(Number) as [number, number];
    ({ cols, label } = synthetic(n, F));
  }
  const t0 = performance.now();
  await mod.train({
    features: cols, label, featureNames: cols.map((_, j) => `f${j}`), minEntriesForThreads: 0,
    params: { objective: 'binary:logistic', max_depth: 6, learning_rate: 0.1, n_estimators: 200, max_bin: 256, nthread: threads, seed: 0 },
  });
  console.log(JSON.stringify({ s: (performance.now() - t0) / 1000 }));
  process.exit(0);
}

const { mod, from } = await builtOrSource<typeof import('../src/entries/gbdt.js')>('entries/gbdt');
console.log(`machine: ${machine()}; load average ${loadavg().map((x) => x.toFixed(2)).join(' ')}; kiln from ${from}; threads from ${mod.MIN_ENTRIES_FOR_THREADS.toLocaleString("en-US")} entries, ${mod.MIN_WIDE_ENTRIES_FOR_THREADS.toLocaleString("en-US")} for rows of ${mod.WIDE_FROM_FEATURES}+ features`);
const time = (shape: string, threads: number): number => {
  const r = spawnSync(process.execPath, [...process.execArgv, import.meta.filename, '--child', shape, String(threads)], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`training ${shape} on ${threads} threads failed:\n${r.stderr}`);
  return (JSON.parse(r.stdout.trim().split('\n').pop()!) as { s: number }).s;
};
const rows: string[][] = [];
for (const shape of SHAPES) {
  const [n, F] = shape === 'credit' ? [120_000, 10] : (shape.split('x').map(Number) as [number, number]);
  const one: number[] = [];
  const two: number[] = [];
  for (let k = 0; k < RUNS; k++) {
    two.push(time(shape, 2));
    one.push(time(shape, 1));
  }
  const ratio = median(two) / median(one);
  const name = shape === 'credit' ? 'give-me-some-credit 120,000 x 10' : `${n.toLocaleString('en-US')} x ${F}`;
  rows.push([name, (n * F).toLocaleString('en-US'), one.map((x) => x.toFixed(2)).join(' '), two.map((x) => x.toFixed(2)).join(' '), ratio.toFixed(2), String(mod.threadsFor(n, F, 2))]);
  console.log(`${name}: 1 thread ${one.map((x) => x.toFixed(2)).join(' ')}; 2 threads ${two.map((x) => x.toFixed(2)).join(' ')}`);
}
printTable(['shape', 'entries', '1 thread, s', '2 threads, s', '2 / 1 (medians)', 'threads kiln uses at nthread 2'], rows);
