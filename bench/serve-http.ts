/**
 * `kiln serve` on the request path: POST /v1/models/credit/predict by entity id, features from the
 * embedded online store (credit_v1: 46 inputs), a 200-tree depth-6 model, reasons on. The load comes
 * from autocannon in a child process (so it does not share the server's event loop), over keep-alive:
 *   1. a fixed rate (default 1,000 requests/s) for --seconds: latency p50/p99 (target p99 <= 2 ms);
 *   2. saturated (--connections, no rate) against predict and against a trivial Fastify route on the
 *      same machine: predict throughput as a share of the trivial route's (target >= 50%).
 * The decision log is the in-memory writer of test/serve/http-helpers.ts until the real log is merged:
 * swap it there to measure the durable log.
 *   npx tsx bench/serve-http.ts [--borrowers 6000] [--seconds 10] [--rate 1000] [--connections 16]
 */
import { fork } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Fastify from 'fastify';
import { materialize, openOnlineStore } from '../src/online/index.js';
import { trainModel } from '../src/pipelines/index.js';
import { createServer } from '../src/serve/http/index.js';
import { fixedModelSet, loadLiveVersion } from '../src/serve/index.js';
import { simulate } from '../src/sim/index.js';
import { initProject, Project } from '../src/store/index.js';
import { DEMO_FEATURES_FILE, tempDir } from '../test/helpers.js';
import { CountingLog, settings } from '../test/serve/http-helpers.js';
import { arg, machine, printTable } from './util.js';

interface Load { url: string; body: string | null; ids: number[]; seconds: number; rate: number; connections: number }
interface Result { rps: number; p50: number; p90: number; p99: number; max: number; errors: number; non2xx: number }

if (process.argv[2] === '--load') {
  const { default: autocannon } = await import('autocannon');
  const load = JSON.parse(process.argv[3]!) as Load;
  let n = 0;
  const r = await autocannon({
    url: load.url, method: load.body === null ? 'GET' : 'POST', connections: load.connections, duration: load.seconds,
    ...(load.rate ? { overallRate: load.rate } : {}),
    headers: { 'content-type': 'application/json' },
    requests: [{ setupRequest: (req) => (load.body === null ? req : { ...req, body: load.body.replace('"ID"', String(load.ids[n++ % load.ids.length])) }) }],
  });
  const res: Result = { rps: r.requests.average, p50: r.latency.p50, p90: r.latency.p90, p99: r.latency.p99, max: r.latency.max, errors: r.errors, non2xx: r.non2xx };
  process.send!(res);
  process.exit(0);
}

function run(load: Load): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = fork(import.meta.filename, ['--load', JSON.stringify(load)], { stdio: 'inherit' });
    child.once('message', (m) => resolve(m as Result));
    child.once('exit', (code) => { if (code) reject(new Error(`load generator exited with ${code}`)); });
  });
}

const BORROWERS = arg('borrowers', 6000);
const SECONDS = arg('seconds', 10);
const RATE = arg('rate', 1000);
const CONNECTIONS = arg('connections', 16);

const { dir, cleanup } = tempDir('kiln-bench-serve-');
writeFileSync(join(dir, 'kiln.config.ts'), `import { defineConfig } from 'kiln';\nimport { DEMO_FEATURES, DEMO_REASONS, DEMO_REASON_GROUPS } from ${JSON.stringify(DEMO_FEATURES_FILE)};\n`
  + `export default defineConfig({ name: 'bench-serve', features: [...DEMO_FEATURES], models: { credit: { spine: { table: 'loan_labels', timestamp: 'funded_at', key: 'borrower_id' }, label: { column: 'default_12m', availableAt: 'label_available_at' }, features: 'credit_v1', split: { validFrom: '2024-07-01', testFrom: '2024-10-01', testTo: '2025-01-01' }, params: { max_depth: 6, learning_rate: 0.05, n_estimators: 200, early_stopping_rounds: 1000 }, minPositives: 3, defaultReason: 'Other', reasons: DEMO_REASONS, reasonGroups: DEMO_REASON_GROUPS } } });\n`);
await initProject(dir);
const project = await Project.open({ project: dir });
const sim = await simulate(project.offline, { borrowers: BORROWERS, seed: 7 });
for (const t of sim.tables) project.meta.upsertTable({ name: t.name, timestampColumn: t.timestampColumn ?? null, keyColumn: t.keyColumn ?? null, source: 'sim', description: t.description });
await trainModel(project, 'credit', { quiet: true, force: true });
const online = await openOnlineStore(project, { features: 'credit_v1' });
await materialize(project, { store: online, quiet: true });
const ids = (await project.offline.all<{ id: number }>('SELECT DISTINCT borrower_id::INT AS id FROM transactions ORDER BY hash(borrower_id) LIMIT 2000')).map((r) => r.id);
project.releaseOffline();
const live = loadLiveVersion(project, 'credit@1');
const trees = live.bundle.booster.toJSON() as unknown as { trees?: unknown[] };
console.log(`model: ${live.info.signature.features.length} inputs, ${Array.isArray(trees.trees) ? trees.trees.length : '?'} trees, depth 6; ${ids.length} entities`);

const app = createServer({ models: fixedModelSet([{ name: 'credit', primary: live, challenger: null }]), decisions: await CountingLog.open(), online, settings: settings() });
await app.listen({ port: 0, host: '127.0.0.1' });
const port = (app.server.address() as { port: number }).port;
const trivial = Fastify({ logger: false });
trivial.post('/t', async () => ({ ok: true }));
await trivial.listen({ port: 0, host: '127.0.0.1' });
const tport = (trivial.server.address() as { port: number }).port;

const predictUrl = `http://127.0.0.1:${port}/v1/models/credit/predict`;
const body = '{"entityId":"ID","reasons":true}';
await run({ url: predictUrl, body, ids, seconds: 2, rate: 0, connections: 4 }); // warm-up: caches, JIT
const fixed = await run({ url: predictUrl, body, ids, seconds: SECONDS, rate: RATE, connections: CONNECTIONS });
const satPredict = await run({ url: predictUrl, body, ids, seconds: SECONDS, rate: 0, connections: CONNECTIONS });
const satTrivial = await run({ url: `http://127.0.0.1:${tport}/t`, body: '{"entityId":"ID"}', ids, seconds: SECONDS, rate: 0, connections: CONNECTIONS });

console.log(`\n${machine()}`);
printTable(['load', 'req/s', 'p50 ms', 'p90 ms', 'p99 ms', 'max ms', 'errors', 'non-2xx'], [
  [`predict at ${RATE}/s`, fixed.rps.toFixed(0), fixed.p50, fixed.p90, fixed.p99, fixed.max, fixed.errors, fixed.non2xx],
  ['predict saturated', satPredict.rps.toFixed(0), satPredict.p50, satPredict.p90, satPredict.p99, satPredict.max, satPredict.errors, satPredict.non2xx],
  ['trivial route saturated', satTrivial.rps.toFixed(0), satTrivial.p50, satTrivial.p90, satTrivial.p99, satTrivial.max, satTrivial.errors, satTrivial.non2xx],
]);
console.log(`p99 at ${RATE}/s: ${fixed.p99} ms (target <= 2); saturated predict / trivial: ${((100 * satPredict.rps) / satTrivial.rps).toFixed(0)}% (target >= 50%)`);
await app.close();
await trivial.close();
await online.close();
project.close();
cleanup();
