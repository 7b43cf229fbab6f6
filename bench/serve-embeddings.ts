/**
 * `kiln serve` answering embedding look-ups: `GET /v1/embeddings/:space/:id` and
 * `POST /v1/embeddings/:space/neighbors` (k = 10, by id) on N x DIM vectors (default 100,000 x 64: 100
 * seeded Gaussian clusters, cosine), written as a version directly (writeVersionFiles + register, alias
 * `current`). The server is a `kiln serve --embeddings bench@current` process of its own; the load comes
 * from bench/serve-load.ts in another process: autocannon over `--connections` keep-alive connections for
 * saturated throughput, then an open loop for latency (p50, p99) at `--rate` requests/s or half the
 * saturated throughput, whichever is lower (a rate past what the machine gives would measure a queue).
 * Each measurement follows a warm-up of the same load; requests cycle through 5,000 random entities. For
 * scale: the same look-ups in process (no HTTP), and a trivial Fastify route saturated the same way.
 *   npx tsx bench/serve-embeddings.ts [--n 100000] [--dim 64] [--seconds 10] [--rate 1000] [--connections 8]
 */
import type { ChildProcess } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { Rng } from '../src/core/rng.js';
import { clusteredVectors, VersionFiles, writeVersionFiles } from '../src/embeddings/index.js';
import { initProject, Project } from '../src/store/index.js';
import { tempDir } from '../test/helpers.js';
import { arg, loadMeasure, machine, printTable, startProcess, type LoadResult } from './util.js';

const N = arg('n', 100_000);
const DIM = arg('dim', 64);
const SECONDS = arg('seconds', 10);
const RATE = arg('rate', 1000);
const CONNECTIONS = arg('connections', 8);
const ROOT = join(import.meta.dirname, '..');
const BIN = join(ROOT, 'bin', 'kiln.js');

const { dir, cleanup } = tempDir('kiln-bench-serve-emb-');
const children: ChildProcess[] = [];
process.on('exit', () => { for (const c of children) c.kill('SIGKILL'); cleanup(); });


const start = (args: string[], what: string, readyPath: string): Promise<{ url: string; stop: () => Promise<void> }> => startProcess(args, what, readyPath, children);

type Load = LoadResult;
const measure = (url: string, opts: { rate: number; seconds: number; bodies?: string; paths?: string }): Load => loadMeasure(url, { ...opts, connections: CONNECTIONS });

const ms = (x: number): string => x.toFixed(3);
const quantile = (xs: number[], p: number): number => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(p * xs.length))]!;

console.log(`machine: ${machine()}`);
console.log(`load average at start: ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);

// ---- setup: one version of space 'bench', registered directly, alias current
let t0 = performance.now();
writeFileSync(join(dir, 'kiln.config.ts'), `export default { name: 'emb-bench' };\n`);
await initProject(dir);
const project = await Project.open({ project: dir });
const vectors = clusteredVectors(N, DIM, 100, 7);
const ids = Array.from({ length: N }, (_, i) => `e${i}`);
const staged = join(project.embeddings.spaceDir('bench'), '.staged');
const { manifest } = writeVersionFiles(staged, 'bench', { ids, vectors, dim: DIM, metric: 'cos' }, { threads: 0 });
const version = project.embeddings.register('bench', staged, {
  entity: 'item', trainer: 'synthetic', dim: DIM, metric: 'cos', size: N, dataFrom: null, dataTo: null, trainedUntil: null,
  params: { clusters: 100, seed: 7 }, metrics: {}, lineage: { sources: [], configHash: null, spec: null }, checksum: manifest.checksum,
}, { reason: 'bench' });
project.embeddings.setAlias('bench', 'current', version.version, { reason: 'bench' });
project.close();
console.log(`version: ${N} x ${DIM} written, HNSW built and registered in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

const rng = new Rng(11);
const picks = Array.from({ length: 5000 }, () => `e${rng.int(N)}`);
const pathsFile = join(dir, 'paths.json');
const bodiesFile = join(dir, 'bodies.json');
writeFileSync(pathsFile, JSON.stringify(picks.map((id) => `/v1/embeddings/bench/${id}`)));
writeFileSync(bodiesFile, JSON.stringify(picks.map((id) => ({ id, k: 10 }))));

// ---- in process, no HTTP: what a request does once routed
t0 = performance.now();
const files = VersionFiles.open(version.path, version.checksum);
const openMs = performance.now() - t0;
const get: number[] = [], near: number[] = [];
for (let r = 0; r < 2; r++) {
  for (const id of picks) {
    let s = performance.now();
    JSON.stringify(Array.from(files.vector(id)!));
    get.push(performance.now() - s);
    s = performance.now();
    files.nearest(files.vector(id)!, 10, { exclude: [id] });
    near.push(performance.now() - s);
  }
}
get.splice(0, picks.length);
near.splice(0, picks.length);

// ---- over HTTP
const serve = await start([BIN, 'serve', '--project', dir, '--embeddings', 'bench@current'], 'kiln serve', '/readyz');
const rows: (string | number)[][] = [];
const row = (what: string, mode: string, l: Load): void => {
  rows.push([what, mode, l.rps.toFixed(0), ms(l.p50), ms(l.p99), l.errors + l.non2xx]);
};
for (const [what, target, payload] of [
  ['GET /v1/embeddings/bench/:id', `${serve.url}/`, { paths: pathsFile }],
  ['POST /v1/embeddings/bench/neighbors k=10', `${serve.url}/v1/embeddings/bench/neighbors`, { bodies: bodiesFile }],
] as const) {
  const saturated = measure(target, { rate: 0, seconds: SECONDS, ...payload });
  row(what, `saturated, ${CONNECTIONS} conn`, saturated);
  const rate = Math.max(1, Math.min(RATE, Math.floor(saturated.rps / 2 / 50) * 50));
  row(what, `open loop ${rate}/s`, measure(target, { rate, seconds: SECONDS, ...payload }));
}
await serve.stop();

const script = join(ROOT, 'bench', `.trivial-${process.pid}.mjs`);
writeFileSync(script, `import Fastify from 'fastify';\nconst app = Fastify();\napp.get('/ping', async () => ({ ok: true }));\nconst port = Number(process.argv[process.argv.indexOf('--port') + 1]);\nawait app.listen({ port, host: '127.0.0.1' });\n`);
const trivial = await start([script], 'trivial Fastify', '/ping');
rmSync(script, { force: true });
row('GET /ping (trivial Fastify route)', `saturated, ${CONNECTIONS} conn`, measure(`${trivial.url}/ping`, { rate: 0, seconds: SECONDS }));
await trivial.stop();

console.log(`\nin process (no HTTP), ${picks.length} look-ups: open the version ${openMs.toFixed(0)} ms; vector + JSON p50 ${ms(quantile(get, 0.5))} ms, p99 ${ms(quantile(get, 0.99))} ms; HNSW k=10 p50 ${ms(quantile(near, 0.5))} ms, p99 ${ms(quantile(near, 0.99))} ms\n`);
printTable(['route', 'load', 'requests/s', 'p50 ms', 'p99 ms', 'errors'], rows);
console.log(`\nload average at end: ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
