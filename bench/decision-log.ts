/**
 * Decision log micro-benchmark: appends/s with 64 concurrent appenders for `durable` and `buffered`
 * (records of ~600 bytes, one per append, as the request path appends them), the append latency
 * (durable: until the record is fsynced), the records per group commit and the commit time; then
 * durable at a paced 1,000 appends/s, the p99 the serving target is about. Figures only, no assertions.
 *   npx tsx bench/decision-log.ts [--seconds 3] [--appenders 64] [--rate 1000]
 */
import { openDecisionLog, type DecisionLog } from '../src/serve/decisions/index.js';
import type { Durability } from '../src/serve/types.js';
import { decisionRecord } from '../test/serve/decision-records.js';
import { tempDir } from '../test/helpers.js';
import { arg, machine, printTable } from './util.js';

const SECONDS = arg('seconds', 3);
const APPENDERS = arg('appenders', 64);
const RATE = arg('rate', 1000);

const q = (xs: number[], p: number): number => { const s = [...xs].sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.floor(p * s.length))] ?? NaN; };
const f = (x: number, d = 2): string => x.toFixed(d);

/** Samples the commit time after every commit. */
function commitTimes(log: DecisionLog): { times: number[]; stop: () => void } {
  const times: number[] = [];
  let seen = 0;
  const t = setInterval(() => { const s = log.stats(); if (s.commits > seen) { seen = s.commits; times.push(s.lastCommitMs); } }, 0);
  return { times, stop: () => clearInterval(t) };
}

async function saturate(durability: Durability): Promise<(string | number)[]> {
  const { dir, cleanup } = tempDir('kiln-bench-dec-');
  const log = await openDecisionLog(dir, { durability, flushMs: 100 });
  const lat: number[] = [];
  const ct = commitTimes(log);
  let i = 0;
  const end = performance.now() + SECONDS * 1000;
  await Promise.all(Array.from({ length: APPENDERS }, async () => {
    while (performance.now() < end) {
      const t0 = performance.now();
      await log.append([decisionRecord(i++)]);
      lat.push(performance.now() - t0);
      if (durability === 'buffered') await new Promise((r) => setImmediate(r)); // as a request would: the loop turns
    }
  }));
  await log.flush();
  const s = log.stats();
  ct.stop();
  await log.close();
  cleanup();
  return [durability, `${APPENDERS} concurrent`, Math.round(i / SECONDS), f(q(lat, 0.5), 3), f(q(lat, 0.99), 3), s.commits, f(s.committed / s.commits, 1), f(q(ct.times, 0.5)), f(q(ct.times, 0.99))];
}

async function paced(): Promise<(string | number)[]> {
  const { dir, cleanup } = tempDir('kiln-bench-dec-');
  const log = await openDecisionLog(dir, { durability: 'durable' });
  const lat: number[] = [];
  const ct = commitTimes(log);
  const n = RATE * SECONDS;
  const t0 = performance.now();
  const pending: Promise<void>[] = [];
  for (let i = 0; i < n; i++) {
    const due = t0 + (i * 1000) / RATE;
    while (performance.now() < due) await new Promise((r) => setImmediate(r));
    const a = performance.now();
    pending.push(log.append([decisionRecord(i)]).then(() => { lat.push(performance.now() - a); }));
  }
  await Promise.all(pending);
  const s = log.stats();
  ct.stop();
  await log.close();
  cleanup();
  return ['durable', `${RATE}/s paced`, Math.round(n / ((performance.now() - t0) / 1000)), f(q(lat, 0.5), 3), f(q(lat, 0.99), 3), s.commits, f(s.committed / s.commits, 1), f(q(ct.times, 0.5)), f(q(ct.times, 0.99))];
}

console.log(`decision log: ${SECONDS} s per case on ${machine()}`);
const rows = [await saturate('durable'), await saturate('buffered'), await paced()];
printTable(['durability', 'load', 'appends/s', 'append p50 ms', 'append p99 ms', 'commits', 'records/commit', 'commit p50 ms', 'commit p99 ms'], rows);
const [d, b] = [Number(rows[0]![2]), Number(rows[1]![2])];
console.log(`durable / buffered throughput: ${f((d / b) * 100, 0)}%`);
