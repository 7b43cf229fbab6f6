/**
 * Backfill throughput (issue 20): a point-in-time training set of the demo's `credit_v1` features over a
 * monthly spine (every borrower at the first of each of 12 months), built once in one process
 * (buildTrainingSet) and then as a backfill of --partitions partitions computed by 1 and by 2 `kiln worker`
 * processes (real processes, BullMQ on the real Redis; one DuckDB thread per worker, so 2 workers use 2
 * cores). Time is from enqueueing to the last part committed (planning, the snapshot, is timed apart);
 * rows/s is spine rows over that time; speed-up is against 1 worker; mean part s is a partition's own
 * time in its worker (copy, build, commit), which grows when the workers compete for cores.
 *
 * Usage: npx tsx bench/scale.ts --part backfill [--borrowers 3000] [--partitions 8] [--seed 5]
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BackfillQueue, planBackfill } from '../../src/backfill/index.js';
import { buildTrainingSet } from '../../src/features/training/index.js';
import { simulate } from '../../src/sim/index.js';
import { initProject, Project } from '../../src/store/index.js';
import { trainModel } from '../../src/pipelines/index.js';
import { scoreBatch } from '../../src/serve/index.js';
import { creditConfigText } from '../../test/serve/http-helpers.js';
import { arg, machine, printTable } from '../util.js';

const BORROWERS = arg('borrowers', 3000);
const PARTITIONS = arg('partitions', 8);
const SEED = arg('seed', 5);
const ROOT = join(import.meta.dirname, '..', '..');
const BIN = join(ROOT, 'bin', 'kiln.js');
const SPINE = { table: 'bench_spine', key: 'borrower_id', timestamp: 'as_of' };

function startWorker(dir: string, prefix: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, [BIN, 'worker', '--project', dir, '--backfill-queue', prefix, '--backfill-threads', '1'], {
    cwd: ROOT, env: { ...process.env, KILN_FROM_SOURCE: '1', NO_COLOR: '1' }, stdio: ['ignore', 'ignore', 'pipe'],
  });
  let err = '';
  return new Promise((resolve, reject) => {
    child.stderr!.on('data', (d: Buffer) => { err += d.toString(); if (err.includes('kiln worker: pid')) resolve(child); });
    child.on('exit', (code) => reject(new Error(`kiln worker exited (${code}): ${err}`)));
  });
}

export async function benchBackfill(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'kiln-bench-scale-'));
  const children: ChildProcess[] = [];
  const prefix = `kiln-bench-scale-${process.pid}`;
  const queue = await BackfillQueue.connect({ prefix });
  try {
    writeFileSync(join(dir, 'kiln.config.ts'), creditConfigText('bench-scale', { max_depth: 4, learning_rate: 0.1, n_estimators: 100 }));
    await initProject(dir);
    let project = await Project.open({ project: dir });
    const world = await simulate(project.offline, { borrowers: BORROWERS, seed: SEED, months: 24, start: '2024-01-01' });
    for (const t of world.tables) project.meta.upsertTable({ name: t.name, timestampColumn: t.timestampColumn ?? null, keyColumn: t.keyColumn ?? null, source: 'sim', description: t.description });
    await project.offline.run(`CREATE TABLE bench_spine AS SELECT b.borrower_id, m AS as_of FROM borrowers b, range(TIMESTAMP '2025-01-01', TIMESTAMP '2026-01-01', INTERVAL 1 MONTH) t(m) ORDER BY m, b.borrower_id`);
    await trainModel(project, 'credit', { quiet: true, force: true });
    const rows: (string | number)[][] = [];
    for (const kind of ['training-set', 'score'] as const) {
      let t0 = performance.now();
      const n = kind === 'score'
        ? (await scoreBatch(project, { model: 'credit@1', spine: SPINE.table, key: SPINE.key, time: SPINE.timestamp, output: join(dir, 'single-score.parquet'), quiet: true })).rows
        : (await buildTrainingSet(project, { spine: SPINE, features: 'credit_v1', out: join(dir, 'single.parquet') })).rows;
      const singleS = (performance.now() - t0) / 1000;
      project.close();
      rows.push([`${kind}: single process (${kind === 'score' ? 'scoreBatch' : 'buildTrainingSet'}, DuckDB threads all)`, n, '-', singleS.toFixed(2), Math.round(n / singleS), '-', '-', '-']);
      let base = 0;
      for (const workers of [1, 2]) {
        for (let i = 0; i < workers; i++) children.push(await startWorker(dir, prefix));
        project = await Project.open({ project: dir });
        t0 = performance.now();
        const spec = await planBackfill(project, { features: 'credit_v1', spine: SPINE, partitions: PARTITIONS, out: join(dir, `out-${kind}-${workers}`), ...(kind === 'score' ? { score: { model: 'credit@1' } } : {}) });
        const planS = (performance.now() - t0) / 1000;
        project.close();
        t0 = performance.now();
        await queue.enqueue(spec);
        let st = await queue.status(spec.id);
        while (st.state === 'running') { await new Promise((r) => setTimeout(r, 50)); st = await queue.status(spec.id); }
        const s = (performance.now() - t0) / 1000;
        if (st.state !== 'done') throw new Error(`backfill ${spec.id} ended ${st.state}`);
        if (workers === 1) base = s;
        const partS = JSON.parse(readFileSync(join(spec.dir, '_manifest.json'), 'utf8')).parts.map((p: { seconds: number }) => p.seconds) as number[];
        const byWorker = new Map<string, number>();
        for (const c of st.commits) byWorker.set(c.worker, (byWorker.get(c.worker) ?? 0) + 1);
        rows.push([`${kind}: backfill, ${workers} worker${workers > 1 ? 's' : ''} x 1 thread, ${PARTITIONS} partitions`, st.rows, planS.toFixed(2), s.toFixed(2), Math.round(st.rows / s), (base / s).toFixed(2),
          (partS.reduce((a, b) => a + b, 0) / partS.length).toFixed(2), [...byWorker.values()].join('+')]);
        for (const c of children.splice(0)) { c.kill('SIGTERM'); await new Promise((r) => c.once('exit', r)); }
      }
      project = await Project.open({ project: dir });
    }
    project.close();
    console.log(`backfill throughput: ${BORROWERS} borrowers x 12 monthly points, credit_v1 (the training set, and the scores of a 100-tree depth-4 model on it); ${machine()}`);
    printTable(['how', 'rows', 'plan s', 'compute s', 'rows/s', 'speed-up', 'mean part s', 'parts per worker'], rows);
  } finally {
    for (const c of children) c.kill('SIGKILL');
    await queue.queue.obliterate({ force: true }).catch(() => undefined);
    const keys = await queue.redis.keys(`${prefix}:*`);
    if (keys.length) await queue.redis.del(...keys);
    await queue.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
