/**
 * The online store at issue 15's width: 360 features, 1,818 values an entity (bench/wide-shape.ts), over the
 * demo world (`simulate(..., { borrowers: 40,000, months: 24, seed: 42 })`: ~3.1 M transactions).
 * Materialises an embedded store as of the world's end and prints its seconds and peak RSS (maxRSS, and
 * process.memoryUsage().rss sampled every 50 ms), then reads one entity's 1,818 values over many entities:
 * p50/p99 with the cache of partial aggregates (`cacheSeries` default, after a warm-up) and without it
 * (`cacheSeries: 0`: every read merges tiles). Each phase runs in a process of its own (as bench/online.ts
 * does), so one phase's heap and garbage collection do not land in the next.
 * Targets: materialise with peak RSS <= 1 GB at <= the baseline's seconds; read p99 <= 5 ms cached and cold.
 *   npx tsx bench/online-wide.ts [--borrowers 40000] [--entities 500] [--passes 4] [--max-series N] [--reads 0|1] [--batch 20000 (events a write batch)] [--dir DIR (reuse a world)]
 */
import { spawnSync } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { Rng } from '../src/core/rng.js';
import { EmbeddedOnlineStore, OnlineFeatureStore, isoMicros } from '../src/online/index.js';
import { materialize } from '../src/online/materialize.js';
import { simulate } from '../src/sim/index.js';
import { Project, initProject } from '../src/store/index.js';
import { tempDir } from '../test/helpers.js';
import { arg, machine, printTable } from './util.js';
import { wideColumnCount, wideDefinitions } from './wide-shape.js';

const BORROWERS = arg('borrowers', 40_000);
const ENTITIES = arg('entities', 500);
const PASSES = arg('passes', 4);
const READS = arg('reads', 1) === 1;
const BATCH = arg('batch', 20_000);
const MAX_IN_MEMORY = arg('max-series', NaN);
const PHASE = process.env.KILN_BENCH_WIDE_PHASE ?? '';
const TARGET = { rssBytes: 1e9, readP99Ms: 5 };
const dirArg = process.argv.indexOf('--dir');
const MB = 2 ** 20;

const settle = async (): Promise<void> => {
  (globalThis as { gc?: () => void }).gc?.();
  await new Promise((resolve) => setTimeout(resolve, 250));
};
const pct = (sorted: readonly number[], p: number): number => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
/** The embedded backend, with `--max-series N` as its `maxSeriesInMemory` when given. */
const backend = (file: string): EmbeddedOnlineStore => EmbeddedOnlineStore.open(file, Number.isFinite(MAX_IN_MEMORY) ? { maxSeriesInMemory: MAX_IN_MEMORY } : {});

/** The world's end (as of which the store is materialised) and a seeded sample of entities with events. */
async function worldFacts(project: Project): Promise<{ asOf: number; entities: string[] }> {
  const [end] = await project.offline.all<{ t: number }>('SELECT epoch_us(max(ts))::DOUBLE AS t FROM transactions');
  const ids = await project.offline.all<{ id: string }>('SELECT DISTINCT CAST(borrower_id AS VARCHAR) AS id FROM transactions ORDER BY 1');
  const rng = new Rng(11);
  const entities = Array.from({ length: Math.min(ENTITIES, ids.length) }, () => ids[rng.int(ids.length)]!.id);
  return { asOf: Math.floor(end!.t / 1000) + 1, entities };
}

async function phaseMaterialize(dir: string): Promise<Record<string, number>> {
  const project = await Project.open({ project: dir });
  let peak = 0;
  const timer = setInterval(() => { peak = Math.max(peak, process.memoryUsage().rss); }, 50);
  try {
    const { asOf } = await worldFacts(project);
    const file = join(dir, 'online-wide.sqlite');
    rmSync(file, { force: true });
    const online = await OnlineFeatureStore.open(backend(file), wideDefinitions(), { features: 'wide' });
    const before = process.memoryUsage().rss;
    const cpu0 = process.cpuUsage();
    const s = await materialize(project, online, { asOf, quiet: true, batchEvents: BATCH });
    const cpu = process.cpuUsage(cpu0);
    await online.close();
    peak = Math.max(peak, process.memoryUsage().rss);
    return { seconds: s.seconds, cpuSeconds: (cpu.user + cpu.system) / 1e6, events: s.events, maxRss: process.resourceUsage().maxRSS * 1024, sampledPeak: peak, rssBefore: before };
  } finally {
    clearInterval(timer);
    project.close();
  }
}

async function readPhase(online: OnlineFeatureStore, entities: readonly string[], asOf: number): Promise<Record<string, number>> {
  const at = isoMicros(asOf * 1000);
  for (const e of entities) await online.getOnlineFeatures([e], 'wide', { asOf: at }); // load (and rebuild tiles), then warm
  for (const e of entities) await online.getOnlineFeatures([e], 'wide', { asOf: at });
  await settle();
  const ms: number[] = [];
  // CPU time of the process per read (all its threads: garbage collection included), which a busy machine
  // moves far less than wall time: there a read waits for a core now and then.
  const cpu: number[] = [];
  for (let p = 0; p < PASSES; p++) {
    for (const e of entities) {
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      await online.getOnlineFeatures([e], 'wide', { asOf: at });
      ms.push(performance.now() - t0);
      const c = process.cpuUsage(c0);
      cpu.push((c.user + c.system) / 1000);
    }
  }
  ms.sort((a, b) => a - b);
  cpu.sort((a, b) => a - b);
  return { p50: pct(ms, 0.5), p99: pct(ms, 0.99), max: ms[ms.length - 1]!, n: ms.length, cpuP50: pct(cpu, 0.5), cpuP99: pct(cpu, 0.99) };
}

async function phaseRead(dir: string, cached: boolean): Promise<Record<string, number>> {
  const project = await Project.open({ project: dir });
  const { asOf, entities } = await worldFacts(project);
  project.close();
  const online = await OnlineFeatureStore.open(backend(join(dir, 'online-wide.sqlite')), wideDefinitions(), cached ? {} : { cacheSeries: 0 });
  const [probe] = await online.getOnlineFeatures([entities[0]!], 'wide', { asOf: isoMicros(asOf * 1000) });
  const values = Object.keys(probe!).length - 1;
  if (values !== wideColumnCount()) throw new Error(`the wide set reads ${values} values, not ${wideColumnCount()}`);
  const r = await readPhase(online, entities, asOf);
  await online.close();
  return { ...r, rss: process.memoryUsage().rss };
}

if (PHASE) {
  const dir = process.env.KILN_BENCH_WIDE_DIR!;
  const out = PHASE === 'materialize' ? await phaseMaterialize(dir) : await phaseRead(dir, PHASE === 'cached');
  process.stdout.write(`\n@@result ${JSON.stringify(out)}\n`);
} else {
  const own = dirArg < 0 ? tempDir('kiln-bench-wide-') : null;
  const dir = own?.dir ?? process.argv[dirArg + 1]!;
  try {
    console.log(`load average ${loadavg().map((x) => x.toFixed(2)).join(' ')} (2 shared cores: figures move with it); ${machine()}`);
    if (!existsSync(join(dir, '.kiln-wide-world'))) {
      await initProject(dir, { name: 'wide' });
      const project = await Project.open({ project: dir });
      const t0 = performance.now();
      const sim = await simulate(project.offline, { borrowers: BORROWERS, months: 24, seed: 42 });
      project.close();
      const { writeFileSync } = await import('node:fs');
      writeFileSync(join(dir, '.kiln-wide-world'), String(BORROWERS));
      console.log(`world: ${BORROWERS.toLocaleString()} borrowers, ${sim.totalEvents.toLocaleString()} events in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
    }
    const child = (phase: string): Record<string, number> => {
      const r = spawnSync(process.execPath, ['--expose-gc', '--import', 'tsx', import.meta.filename, ...process.argv.slice(2)], {
        env: { ...process.env, KILN_BENCH_WIDE_PHASE: phase, KILN_BENCH_WIDE_DIR: dir }, encoding: 'utf8', maxBuffer: 64 * MB, stdio: ['ignore', 'pipe', 'inherit'],
      });
      const line = r.stdout.split('\n').find((l) => l.startsWith('@@result '));
      if (r.status !== 0 || !line) throw new Error(`phase ${phase} failed with exit ${r.status}`);
      return JSON.parse(line.slice(9)) as Record<string, number>;
    };
    const m = child('materialize');
    console.log(`materialise ${m.events!.toLocaleString()} events: ${m.seconds!.toFixed(1)} s (${m.cpuSeconds!.toFixed(1)} CPU-s), maxRSS ${(m.maxRss! / MB).toFixed(0)} MiB, sampled RSS peak ${(m.sampledPeak! / MB).toFixed(0)} MiB (${(m.rssBefore! / MB).toFixed(0)} MiB before)`);
    if (READS) {
      const hot = child('cached');
      const cold = child('cold');
      const row = (name: string, r: Record<string, number>): (string | number)[] => [
        name, r.p50!.toFixed(3), r.p99!.toFixed(3), r.max!.toFixed(2), `${r.cpuP50!.toFixed(2)} / ${r.cpuP99!.toFixed(2)}`, r.n!, `p99 <= ${TARGET.readP99Ms} ms`, (r.p99! / TARGET.readP99Ms).toFixed(2),
      ];
      printTable(['measure', 'p50 ms', 'p99 ms', 'max ms', 'CPU ms p50 / p99', 'reads', 'target', 'ratio to target (<1 is better)'], [
        ['materialise: peak RSS (maxRSS)', '', '', '', '', '', '<= 1 GB', (m.maxRss! / TARGET.rssBytes).toFixed(2)],
        row(`read ${wideColumnCount()} values, cached partials`, hot),
        row(`read ${wideColumnCount()} values, merging tiles`, cold),
      ]);
      console.log(`read processes' RSS at the end: cached ${(hot.rss! / MB).toFixed(0)} MiB, cold ${(cold.rss! / MB).toFixed(0)} MiB`);
    }
  } finally {
    own?.cleanup();
  }
}
