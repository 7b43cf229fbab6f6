/**
 * `kiln serve` under load, against a trivial Fastify route in the same run (issue 13's targets):
 * - predict by entity id: 50 features read from the embedded online store, a 200-tree depth-6 model,
 *   reason codes on, the durable decision log: p99 <= 2 ms at 1,000 requests/s;
 * - saturated throughput >= 50% of the trivial route's; durable costs <= 20% of throughput against buffered;
 * (`kiln score` >= 200,000 rows/s from a table is measured by bench/score.ts.)
 * The world is the simulator's (seeded); the features are the demo's `credit_v1` plus six more (50
 * columns); the model is trained by `kiln train` with 200 rounds and no early stopping. Each server is a
 * `kiln serve` process of its own, and the load comes from another process (bench/serve-load.ts: an
 * open loop at a constant rate for latency, autocannon for saturation; keep-alive connections on
 * loopback). Each measurement follows a warm-up of the same load.
 *   npx tsx bench/serve.ts [--borrowers 12000] [--months 24] [--seconds 10] [--rate 1000] [--connections 8] [--reasons 1] [--pool 1000] [--cold-rate 200] [--keep 0]
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { copyFileSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { tempDir } from '../test/helpers.js';
import { arg, freePort, loadMeasure, loadRun, machine, printTable, type LoadResult } from './util.js';

const BORROWERS = arg('borrowers', 12000);
const MONTHS = arg('months', 24);
const SECONDS = arg('seconds', 10);
const RATE = arg('rate', 1000);
const CONNECTIONS = arg('connections', 8);
const REASONS = arg('reasons', 1) === 1;
/** Applicants scored repeatedly (the rest of the borrowers are each scored once). */
const POOL = arg('pool', 1000);
/** Rate of the first-read run (a first read costs a few ms: 1,000/s would only measure a queue). */
const COLD_RATE = arg('cold-rate', 200);
/** --keep 1: leave the project directory (for profiling `kiln serve` by hand). */
const KEEP = arg('keep', 0) === 1;
const ROOT = join(import.meta.dirname, '..');
const BIN = join(ROOT, 'bin', 'kiln.js');

const { dir, cleanup } = tempDir('kiln-bench-serve-');
const children: ChildProcess[] = [];
process.on('exit', () => { for (const c of children) c.kill('SIGKILL'); if (KEEP) console.log(`kept ${dir}`); else cleanup(); });

function kiln(args: string[], env: NodeJS.ProcessEnv = {}): string {
  const r = spawnSync(process.execPath, [BIN, ...args, '--project', dir], { encoding: 'utf8', env: { ...process.env, ...env, NO_COLOR: '1' }, maxBuffer: 1 << 28 });
  if (r.status !== 0) throw new Error(`kiln ${args.join(' ')} failed (${r.status}):\n${r.stderr}\n${r.stdout}`);
  return r.stdout;
}


async function waitReady(url: string, child: ChildProcess, what: string): Promise<void> {
  const t0 = Date.now();
  while (Date.now() - t0 < 120_000) {
    if (child.exitCode !== null) throw new Error(`${what} exited with ${child.exitCode} before it was ready`);
    try {
      const r = await fetch(url);
      if (r.ok) return;
    } catch { /* not listening yet */ }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${what} was not ready within 120 s`);
}

async function startServe(durability: 'durable' | 'buffered'): Promise<{ url: string; stop: () => Promise<void> }> {
  const port = await freePort();
  const child = spawn(process.execPath, [BIN, 'serve', '--project', dir, '--port', String(port), '--models', 'credit@champion'], {
    env: { ...process.env, KILN_DECISION_DURABILITY: durability, NO_COLOR: '1' }, stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => { stderr += d.toString(); });
  children.push(child);
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitReady(`${url}/readyz`, child, `kiln serve (${durability})`);
  } catch (e) {
    child.kill('SIGKILL');
    throw new Error(`${(e as Error).message}\n${stderr}`);
  }
  return {
    url,
    stop: async () => {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    },
  };
}

async function startTrivial(): Promise<{ url: string; stop: () => Promise<void> }> {
  const port = await freePort();
  const script = `import Fastify from 'fastify';\nconst app = Fastify();\napp.get('/ping', async () => ({ ok: true }));\nawait app.listen({ port: ${port}, host: '127.0.0.1' });\n`;
  const file = join(ROOT, 'bench', `.trivial-${process.pid}.mjs`);
  writeFileSync(file, script);
  const child = spawn(process.execPath, [file], { stdio: 'ignore' });
  children.push(child);
  const url = `http://127.0.0.1:${port}/ping`;
  await waitReady(url, child, 'the trivial Fastify server');
  const { rmSync } = await import('node:fs');
  rmSync(file, { force: true });
  return { url, stop: async () => { child.kill('SIGTERM'); await new Promise((r) => child.once('exit', r)); } };
}

type Load = LoadResult;
const load = (url: string, opts: { rate: number; seconds: number; bodies?: string; connections?: number }): Load => loadRun(url, { ...opts, connections: opts.connections ?? CONNECTIONS });
/** Warm-up, then the measured run. */
const measure = (url: string, opts: { rate: number; seconds: number; bodies?: string; connections?: number }): Load => loadMeasure(url, { ...opts, connections: opts.connections ?? CONNECTIONS });

const ms = (x: number): string => x.toFixed(2);

console.log(`machine: ${machine()}`);
console.log(`load average at start: ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);

// ---- setup: a simulated world, 50 features, a 200-tree depth-6 model, the online store materialized
const t0 = Date.now();
// The world ends this month, so that requests read features as of now, as a live server does.
const month = (k: number): string => { const d = new Date(); const m = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + k, 1)); return m.toISOString().slice(0, 10); };
const START = month(-MONTHS + 1);
copyFileSync(join(ROOT, 'examples', 'demo', 'features.ts'), join(dir, 'features.ts'));
writeFileSync(join(dir, 'kiln.config.ts'), `import { defineConfig, count, countDistinct, featureSet, mean, sum } from 'kiln';
import { DEMO_FEATURES, DEMO_REASONS, DEMO_REASON_GROUPS, creditV1, transactions, applications, repayments } from './features.js';

const more = [
  sum(transactions, 'amount', { name: 'spend_180d', window: '180d' }),
  count(transactions, { name: 'txn_count_90d', window: '90d' }),
  mean(transactions, 'amount', { name: 'avg_ticket_90d', window: '90d' }),
  countDistinct(transactions, 'merchant_id', { name: 'merchants_90d', window: '90d' }),
  count(applications, { name: 'applications_90d', window: '90d' }),
  sum(repayments, 'paid_amount', { name: 'repaid_365d', window: '365d' }),
] as const;

export default defineConfig({
  name: 'bench-serve',
  features: [...DEMO_FEATURES, ...more, featureSet('bench_50', [...creditV1.features.map((name) => ({ name })), ...more] as never)],
  models: {
    credit: {
      spine: { table: 'loan_labels', timestamp: 'funded_at', key: 'borrower_id' },
      label: { column: 'default_12m', availableAt: 'label_available_at' },
      features: 'bench_50',
      minPositives: 3,
      split: { validFrom: '${month(-MONTHS + 7)}', testFrom: '${month(-MONTHS + 10)}', testTo: '${month(-MONTHS + 13)}' },
      params: { max_depth: 6, learning_rate: 0.03, n_estimators: 200, early_stopping_rounds: 1000000, min_child_weight: 1 },
      reasons: { ...DEMO_REASONS },
      reasonGroups: DEMO_REASON_GROUPS,
      defaultReason: 'Other factors in the credit record',
    },
  },
});
`);
kiln(['init', dir]);
kiln(['sim', '--borrowers', String(BORROWERS), '--months', String(MONTHS), '--seed', '42', '--start', START]);
const trained = JSON.parse(kiln(['train', 'credit', '--json', '--force', '--quiet'])) as { version: number };
kiln(['models', 'alias', 'set', `credit@${trained.version}`, 'champion', '--reason', 'bench']);
kiln(['online', 'materialize']);
const ids = kiln(['tables', 'show', 'borrowers', '--limit', String(BORROWERS), '--json']).trim().split('\n').map((l) => (JSON.parse(l) as { borrower_id: number }).borrower_id);
const bodies = (list: number[]): string => {
  const file = join(dir, `bodies-${list.length}-${list[0]}.json`);
  writeFileSync(file, JSON.stringify(list.map((id) => ({ rows: [{ entityId: id }], reasons: REASONS }))));
  return file;
};
// A pool of applicants scored again and again (their partial aggregates stay in the server's cache, as
// for entities a service scores often), and the rest, each scored once (a first read from the store).
const bodiesFile = bodies(ids.slice(0, POOL));
const firstReads = ids.slice(POOL);
console.log(`setup: ${BORROWERS} borrowers x ${MONTHS} months, model v${trained.version}, world from ${START}, ${((Date.now() - t0) / 1000).toFixed(0)} s`);

// ---- latency at a fixed rate, and saturated throughput
const trivial = await startTrivial();
const trivialFixed = measure(trivial.url, { rate: RATE, seconds: SECONDS });
const trivialMax = measure(trivial.url, { rate: 0, seconds: SECONDS });
await trivial.stop();

const results: Record<string, { fixed: Load; max: Load }> = {};
let cold: Load | null = null;
for (const durability of ['durable', 'buffered'] as const) {
  const s = await startServe(durability);
  const url = `${s.url}/v1/models/credit/predict`;
  results[durability] = { fixed: measure(url, { rate: RATE, seconds: SECONDS, bodies: bodiesFile }), max: measure(url, { rate: 0, seconds: SECONDS, bodies: bodiesFile }) };
  if (durability === 'durable' && firstReads.length >= COLD_RATE) {
    // each request a borrower this server has not read: no warm-up, every id once, at a rate first reads sustain
    cold = load(url, { rate: COLD_RATE, seconds: Math.min(SECONDS, Math.floor(firstReads.length / COLD_RATE)), bodies: bodies(firstReads) });
  }
  await s.stop();
}

console.log(`\nload average at end: ${loadavg().map((x) => x.toFixed(2)).join(' ')}\n`);
const d = results.durable!;
const b = results.buffered!;
printTable(['measure', 'figure', 'target', 'ratio to target'], [
  [`predict by id, durable, p50 / p99 at ${RATE} req/s (ms)`, `${ms(d.fixed.p50)} / ${ms(d.fixed.p99)}`, 'p99 <= 2 ms', (2 / d.fixed.p99).toFixed(2)],
  [`predict by id, first read of each borrower, durable, p50 / p99 at ${COLD_RATE} req/s (ms)`, cold ? `${ms(cold.p50)} / ${ms(cold.p99)}` : '-', '', ''],
  [`predict by id, buffered, p50 / p99 at ${RATE} req/s (ms)`, `${ms(b.fixed.p50)} / ${ms(b.fixed.p99)}`, '', ''],
  [`trivial route, p50 / p99 at ${RATE} req/s (ms)`, `${ms(trivialFixed.p50)} / ${ms(trivialFixed.p99)}`, '', ''],
  ['saturated: trivial / durable / buffered (req/s)', `${trivialMax.rps.toFixed(0)} / ${d.max.rps.toFixed(0)} / ${b.max.rps.toFixed(0)}`, '', ''],
  ['durable throughput / trivial', (d.max.rps / trivialMax.rps).toFixed(2), '>= 0.50', (d.max.rps / trivialMax.rps / 0.5).toFixed(2)],
  ['durable throughput / buffered', (d.max.rps / b.max.rps).toFixed(2), '>= 0.80', (d.max.rps / b.max.rps / 0.8).toFixed(2)],
]);
const failed = [trivialFixed, trivialMax, d.fixed, d.max, b.fixed, b.max, ...(cold ? [cold] : [])].reduce((n, l) => n + l.errors + l.non2xx, 0);
console.log(`\nfailed requests in all runs: ${failed}`);
