/**
 * How long this machine stops a running thread (host preemption, scheduling): each probing thread spins
 * on the clock for `--seconds` and records every gap between two readings over 0.5 ms. Run with one
 * probing thread, then with as many as `--threads` (default: the machine's cores), as a server and its
 * load generator keep the cores busy. A p99 latency target of 2 ms at 1,000 requests/s is measurable only
 * where stalls over 2 ms are rarer than ~1% of the requests' time (bench/serve.ts).
 *   npx tsx bench/stalls.ts [--seconds 10] [--threads N]
 */
import { availableParallelism, loadavg } from 'node:os';
import { Worker } from 'node:worker_threads';
import { arg, machine, printTable } from './util.js';

const SECONDS = arg('seconds', 10);
const THREADS = arg('threads', availableParallelism());

/** The probe, as source: run in the calling thread and in workers alike. */
const PROBE = `(ms) => {
  const end = performance.now() + ms;
  let last = performance.now();
  const gaps = [];
  for (;;) {
    const t = performance.now();
    if (t > end) break;
    if (t - last > 0.5) gaps.push(t - last);
    last = t;
  }
  return gaps;
}`;
const probe = (0, eval)(PROBE) as (ms: number) => number[];

async function run(threads: number): Promise<number[][]> {
  const workers = Array.from({ length: threads - 1 }, () => new Worker(`const { parentPort, workerData } = require('node:worker_threads'); parentPort.postMessage((${PROBE})(workerData));`, { eval: true, workerData: SECONDS * 1000 }));
  const theirs = workers.map((w) => new Promise<number[]>((resolve, reject) => { w.once('message', resolve); w.once('error', reject); }));
  const mine = probe(SECONDS * 1000);
  return [mine, ...(await Promise.all(theirs))];
}

console.log(`machine: ${machine()}; load average ${loadavg().map((x) => x.toFixed(2)).join(' ')}; ${SECONDS} s a run`);
const rows: string[][] = [];
for (const threads of [...new Set([1, THREADS])]) {
  const all = await run(threads);
  all.forEach((gaps, k) => {
    const over = (ms: number): number => gaps.filter((g) => g > ms).length;
    const lost = gaps.reduce((s, g) => s + g, 0);
    rows.push([`${threads} busy`, String(k + 1), String(over(0.5)), String(over(2)), String(over(10)), Math.max(0, ...gaps).toFixed(1), `${((lost / (SECONDS * 1000)) * 100).toFixed(2)}%`]);
  });
}
printTable(['threads', 'thread', 'stalls > 0.5 ms', '> 2 ms', '> 10 ms', 'longest ms', 'time stalled'], rows);
