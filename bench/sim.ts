/**
 * Simulator throughput: `kiln sim` at 100k and 1M borrowers (24 months, default options), each size in
 * its own process so that peak RSS is per size. Prints rows per table, seconds, events/s (events =
 * transactions + applications + repayments), peak RSS and the database size.
 *
 *   npx tsx bench/sim.ts                      # 100k and 1M borrowers
 *   npx tsx bench/sim.ts --quick              # 20k and 100k
 *   npx tsx bench/sim.ts --borrowers 300000   # one size (or BENCH_BORROWERS=300000)
 *   npx tsx bench/sim.ts --inline             # generate on the main thread (no worker)
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatCount } from '../src/core/progress.js';
import { simulate, type SimSummary } from '../src/sim/index.js';
import { OfflineStore } from '../src/store/offline.js';
import { arg, machine, printTable } from './util.js';

interface Result {
  borrowers: number;
  summary: SimSummary;
  peakRssMiB: number;
  dbMiB: number;
  worker: boolean;
}

const MARK = '@@sim-bench@@';

async function one(borrowers: number, worker: boolean): Promise<Result> {
  const dir = mkdtempSync(join(process.env.BENCH_DIR ?? tmpdir(), 'kiln-bench-sim-'));
  const file = join(dir, 'bench.duckdb');
  try {
    const store = await OfflineStore.open(file);
    const summary = await simulate(store, { borrowers }, { progress: true, worker });
    store.close();
    let bytes = 0;
    for (const f of [file, `${file}.wal`]) { try { bytes += statSync(f).size; } catch { /* no WAL */ } }
    return { borrowers, summary, peakRssMiB: process.resourceUsage().maxRSS / 1024, dbMiB: bytes / 2 ** 20, worker };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function report(results: Result[]): void {
  console.log(`\nmachine: ${machine()}\n`);
  printTable(
    ['borrowers', 'events', 'seconds', 'events/s', 'peak RSS', 'db size', 'approval', 'default 12m', 'thread'],
    results.map((r) => [
      formatCount(r.borrowers), formatCount(r.summary.totalEvents), r.summary.seconds.toFixed(1),
      formatCount(r.summary.eventsPerSecond), `${r.peakRssMiB.toFixed(0)} MiB`, `${r.dbMiB.toFixed(0)} MiB`,
      `${(r.summary.stats.approvalRate * 100).toFixed(1)}%`, `${(r.summary.stats.defaultRate12m * 100).toFixed(1)}%`,
      r.worker ? 'worker' : 'inline',
    ]),
  );
  console.log('\nrows per table:\n');
  const names = results[0]?.summary.tables.map((t) => t.name) ?? [];
  printTable(
    ['table', ...results.map((r) => formatCount(r.borrowers))],
    names.map((n) => [n, ...results.map((r) => String(r.summary.tables.find((t) => t.name === n)?.rows ?? 0))]),
  );
}

async function main(): Promise<void> {
  const worker = !process.argv.includes('--inline');
  const child = process.argv.indexOf('--one');
  if (child >= 0) {
    const r = await one(Number(process.argv[child + 1]), worker);
    console.log(`${MARK}${JSON.stringify(r)}`);
    return;
  }
  const single = arg('borrowers', NaN);
  const sizes = Number.isFinite(single) ? [single] : process.argv.includes('--quick') ? [20_000, 100_000] : [100_000, 1_000_000];
  const results: Result[] = [];
  for (const n of sizes) {
    console.log(`\nsimulating ${formatCount(n)} borrowers...`);
    const r = spawnSync(process.execPath, [...process.execArgv, process.argv[1]!, '--one', String(n), ...(worker ? [] : ['--inline'])], {
      stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8', maxBuffer: 64 * 2 ** 20,
    });
    const line = r.stdout.split('\n').find((l) => l.startsWith(MARK));
    if (r.status !== 0 || !line) {
      process.stdout.write(r.stdout);
      throw new Error(`the ${n}-borrower run failed (exit code ${r.status})`);
    }
    results.push(JSON.parse(line.slice(MARK.length)) as Result);
  }
  report(results);
}

await main();
