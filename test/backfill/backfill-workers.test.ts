/**
 * Backfills on the real Redis with real `kiln worker` processes: a training set in 6 partitions computed by
 * two workers, one SIGKILLed in the middle of a partition. Every partition is committed exactly once, no
 * temp file is left, and the union of the parts equals buildTrainingSet's single-process output row for
 * row. A cancelled backfill drops its queued partitions.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BackfillQueue, type BackfillManifest, type BackfillSpec } from '../../src/backfill/index.js';
import { buildTrainingSet } from '../../src/features/training/index.js';
import { OfflineStore } from '../../src/store/index.js';
import { kiln, simulatedProject } from '../helpers.js';
import { redisMode } from '../online/helpers.js';
import { redisConnection } from '../loop/redis.js';
import { compareRows } from './compare.js';
import { exited, startWorker, until, type WorkerProcess } from '../worker-process.js';

const ROOT = join(import.meta.dirname, '..', '..');
const ENV = { KILN_FROM_SOURCE: '1', NO_COLOR: '1' };
const SPINE = ['--spine', 'loan_labels', '--key', 'borrower_id', '--timestamp', 'funded_at'];


describe('kiln backfill training-set on BullMQ workers', () => {
  const prefix = `kiln-backfill-test-${randomBytes(4).toString('hex')}`;
  const workers: WorkerProcess[] = [];
  let skip = false;
  let world: Awaited<ReturnType<typeof simulatedProject>>;
  let single: string;
  let queue: BackfillQueue;

  beforeAll(async () => {
    skip = (await redisMode()) === 'skip';
    if (skip) return;
    world = await simulatedProject('kiln-backfill-', {}, { borrowers: 1200, seed: 11 });
    single = join(world.dir, 'single.parquet');
    await buildTrainingSet(world.project, { spine: { table: 'loan_labels', key: 'borrower_id', timestamp: 'funded_at' }, features: 'credit_v1', out: single });
    world.project.close();
    queue = await BackfillQueue.connect({ prefix, connection: redisConnection() });
  }, 60_000);

  afterAll(async () => {
    for (const w of workers) if (w.child.exitCode === null && w.child.signalCode === null) { w.child.kill('SIGKILL'); await exited(w.child); }
    if (!skip) {
      await queue.queue.obliterate({ force: true });
      const keys = await queue.redis.keys(`${prefix}:*`);
      if (keys.length) await queue.redis.del(...keys);
      await queue.close();
      world.cleanup();
    }
  });

  it('two workers, one SIGKILLed mid-partition: each partition commits once and the union equals the single-process set', async (ctx) => {
    if (skip) ctx.skip();
    workers.push(await startWorker(world.dir, prefix, ['--backfill-threads', '2']), await startWorker(world.dir, prefix, ['--backfill-threads', '2']));
    const [victim] = workers;
    const out = join(world.dir, 'backfill-out');
    const r = await kiln(['backfill', 'training-set', '--project', world.dir, '--features', 'credit_v1', ...SPINE, '--partitions', '6', '--out', out, '--queue', prefix, '--json'], ROOT, ENV);
    expect(r.code, r.stderr).toBe(0);
    const spec = JSON.parse(r.stdout) as BackfillSpec;
    expect(spec.partitions).toBe(6);
    expect(spec.plannedRows.reduce((a, b) => a + b, 0)).toBeGreaterThan(0);

    const started = await until('the first worker to start a partition', () => victim!.log.find((l) => / partition \d+\/6: started/.test(l)));
    victim!.child.kill('SIGKILL');
    await exited(victim!.child);
    const killedPartition = Number(/ partition (\d+)\/6/.exec(started)![1]);
    expect(victim!.log.some((l) => l.includes(`partition ${killedPartition}/6: committed`))).toBe(false);

    const status = await until('every partition to be committed', async () => {
      const s = await queue.status(spec.id);
      return s.state === 'done' && s.manifest ? s : null;
    });
    expect(status.done).toBe(6);
    expect(status.commits).toHaveLength(6);
    expect(new Set(status.commits.map((c) => c.partition)).size).toBe(6);
    const killed = status.parts[killedPartition]!;
    expect(killed.worker).not.toMatch(new RegExp(`:${victim!.child.pid}$`));
    expect(killed.attempts).toBeGreaterThanOrEqual(2);
    expect(status.retries).toBeGreaterThanOrEqual(1);

    const files = readdirSync(out).sort();
    expect(files.filter((f) => f.startsWith('part-'))).toEqual([0, 1, 2, 3, 4, 5].map((p) => `part-0000${p}.parquet`));
    expect(files.filter((f) => f.startsWith('.'))).toEqual([]);
    expect(existsSync(spec.snapshot)).toBe(false);
    const manifest = JSON.parse(readFileSync(join(out, '_manifest.json'), 'utf8')) as BackfillManifest;
    expect(manifest.parts.map((p) => p.partition)).toEqual([0, 1, 2, 3, 4, 5]);

    const db = await OfflineStore.open(':memory:');
    try {
      const parts = `read_parquet('${join(out, 'part-*.parquet')}')`;
      const whole = `read_parquet('${single}')`;
      const c = await compareRows(db, parts, whole, 'loan_id');
      expect(c.columnsA).toBe(c.columnsB);
      expect(c.rowsB).toBe(manifest.rows);
      expect([c.rowsA, c.ids, c.matched, c.equal]).toEqual([manifest.rows, manifest.rows, manifest.rows, manifest.rows]);
      console.log(`backfill union vs single process: ${c.matched} rows matched, ${c.equal} equal, ${c.exact} bit-identical`);
    } finally {
      db.close();
    }

    const shown = await kiln(['backfill', 'status', spec.id, '--queue', prefix], ROOT, ENV);
    expect(shown.code, shown.stderr).toBe(0);
    expect(shown.stdout).toContain(`backfill ${spec.id}: done, 6/6 parts done, ${manifest.rows} rows`);
  }, 90_000);

  it('a cancelled backfill drops its queued partitions; status says so', async (ctx) => {
    if (skip) ctx.skip();
    for (const w of workers) if (w.child.exitCode === null && w.child.signalCode === null) { w.child.kill('SIGTERM'); await exited(w.child); }
    const r = await kiln(['backfill', 'training-set', '--project', world.dir, '--features', 'credit_v1', ...SPINE, '--partitions', '3', '--queue', prefix], ROOT, ENV);
    expect(r.code, r.stderr).toBe(0);
    const id = r.stdout.trim();
    const c = await kiln(['backfill', 'cancel', id, '--queue', prefix, '--reason', 'wrong spine'], ROOT, ENV);
    expect(c.stdout).toContain('3 queued partition(s) dropped');
    const s = await queue.status(id);
    expect(s.state).toBe('cancelled');
    expect(s.parts.map((p) => p.state)).toEqual(['cancelled', 'cancelled', 'cancelled']);
    expect(s.cancelled).toBe('wrong spine');
    const missing = await kiln(['backfill', 'status', 'bf-nope', '--queue', prefix], ROOT, ENV);
    expect(missing.code).toBe(66);
    expect(missing.stderr).toContain('BACKFILL_NOT_FOUND');
    const bad = await kiln(['backfill', 'training-set', '--project', world.dir, '--features', 'credit_v1', ...SPINE, '--partitions', 'x', '--queue', prefix], ROOT, ENV);
    expect(bad.code).toBe(64);
    expect(bad.stderr).toContain('--partitions');
    const noSpine = await kiln(['backfill', 'training-set', '--project', world.dir, '--features', 'credit_v1', '--spine', 'loan_lables', '--partitions', '2', '--out', join(world.dir, 'never'), '--queue', prefix], ROOT, ENV);
    expect(noSpine.stderr).toContain("did you mean 'loan_labels'");
    expect(existsSync(join(world.dir, 'never'))).toBe(false);
    expect(existsSync(s.spec.snapshot)).toBe(false);
  }, 60_000);

  it('a failing partition is retried with backoff, its reason shown by status; once the cause is gone it completes', async (ctx) => {
    if (skip) ctx.skip();
    const r = await kiln(['backfill', 'training-set', '--project', world.dir, '--features', 'credit_v1', ...SPINE, '--partitions', '2', '--queue', prefix, '--json'], ROOT, ENV);
    expect(r.code, r.stderr).toBe(0);
    const spec = JSON.parse(r.stdout) as BackfillSpec;
    renameSync(spec.snapshot, `${spec.snapshot}.away`);
    const w = await startWorker(world.dir, prefix, ['--backfill-threads', '2']);
    workers.push(w);
    const failing = await until('a failed attempt', async () => (await queue.status(spec.id)).parts.find((p) => p.reason && p.state === 'delayed'));
    expect(failing.reason).toContain('snapshot');
    const shown = await kiln(['backfill', 'status', spec.id, '--queue', prefix], ROOT, ENV);
    expect(shown.stdout).toMatch(new RegExp(`partition ${failing.partition} \\w+ after \\d+ attempt\\(s\\): .*snapshot`));
    renameSync(`${spec.snapshot}.away`, spec.snapshot);
    const done = await until('the retries to complete the backfill', async () => {
      const st = await queue.status(spec.id);
      return st.state === 'done' ? st : null;
    });
    expect(done.retries).toBeGreaterThanOrEqual(2);
    expect(done.commits).toHaveLength(2);
    w.child.kill('SIGTERM');
    await exited(w.child);
  }, 60_000);
});
