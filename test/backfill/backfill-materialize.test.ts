/**
 * `kiln backfill materialize`: the Redis online store's state as of a time, in 5 partitions computed by two
 * `kiln worker` processes, one SIGKILLed in the middle of a partition. Each partition commits once (staged,
 * then moved in one MULTI), no staging key is left, the manifest records the materialisation, and every
 * entity reads the same values as after the single-process `materialize` into another prefix.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BackfillQueue, type BackfillSpec } from '../../src/backfill/index.js';
import { materialize, openOnlineStore } from '../../src/online/index.js';
import { Project } from '../../src/store/index.js';
import { kiln, simulatedProject } from '../helpers.js';
import { redisConnection } from '../loop/redis.js';
import { REDIS_URL, redisMode } from '../online/helpers.js';
import { exited, startWorker, until, type WorkerProcess } from '../worker-process.js';

const ROOT = join(import.meta.dirname, '..', '..');
const ENV = { KILN_FROM_SOURCE: '1', NO_COLOR: '1' };
const AS_OF = '2025-06-01T00:00:00Z';
const redis = (await redisMode()) === 'run';


describe.skipIf(!redis)('kiln backfill materialize on workers', () => {
  const tag = randomBytes(4).toString('hex');
  const queuePrefix = `kiln-bf-mat-${tag}`;
  const ref = `kiln:mat-ref-${tag}:`;
  const live = `kiln:mat-live-${tag}:`;
  const workers: WorkerProcess[] = [];
  let world: Awaited<ReturnType<typeof simulatedProject>>;
  let ids: number[] = [];

  beforeAll(async () => {
    world = await simulatedProject('kiln-bf-mat-', {}, { borrowers: 800, seed: 13 });
    await materialize(world.project, { backend: 'redis', redisUrl: REDIS_URL, prefix: ref, features: 'credit_v1', asOf: AS_OF, quiet: true });
    ids = (await world.project.offline.all<{ id: number }>('SELECT DISTINCT borrower_id::INT AS id FROM borrowers ORDER BY 1')).map((r) => r.id);
    world.project.close();
  }, 120_000);

  afterAll(async () => {
    for (const w of workers) if (w.child.exitCode === null && w.child.signalCode === null) { w.child.kill('SIGKILL'); await exited(w.child); }
    const q = await BackfillQueue.connect({ prefix: queuePrefix, connection: redisConnection() });
    await q.queue.obliterate({ force: true });
    const r = new Redis(REDIS_URL);
    for (const p of [`${queuePrefix}:*`, `${ref}*`, `${live}*`]) { const keys = await r.keys(p); if (keys.length) await r.del(...keys); }
    r.disconnect();
    await q.close();
    world?.cleanup();
  });

  it('two workers, one SIGKILLed mid-partition: each partition once, the same values as one process, nothing staged left', async () => {
    workers.push(await startWorker(world.dir, queuePrefix, ['--backfill-threads', '1', '--no-trials']), await startWorker(world.dir, queuePrefix, ['--backfill-threads', '1', '--no-trials']));
    const [victim] = workers;
    const r = await kiln(['backfill', 'materialize', '--project', world.dir, '--features', 'credit_v1', '--as-of', AS_OF, '--online-prefix', live, '--partitions', '5', '--queue', queuePrefix, '--json'], ROOT, ENV);
    expect(r.code, r.stderr).toBe(0);
    const spec = JSON.parse(r.stdout) as BackfillSpec;
    expect(spec).toMatchObject({ kind: 'materialize', partitions: 5, online: { prefix: live, asOf: '2025-06-01T00:00:00.000Z' } });
    const started = await until('a partition started on the victim', () => victim!.log.find((l) => / partition \d+\/5: started/.test(l)));
    victim!.child.kill('SIGKILL');
    await exited(victim!.child);
    const killed = Number(/ partition (\d+)\/5/.exec(started)![1]);
    const q = await BackfillQueue.connect({ prefix: queuePrefix, connection: redisConnection() });
    try {
      const status = await until('every partition committed', async () => { const s = await q.status(spec.id); return s.state === 'done' && s.manifest ? s : null; });
      expect(status.commits).toHaveLength(5);
      expect(new Set(status.commits.map((c) => c.partition)).size).toBe(5);
      expect(status.parts[killed]!.worker).not.toContain(`:${victim!.child.pid}`);
    } finally {
      await q.close();
    }
    const redisClient = new Redis(REDIS_URL);
    try {
      expect(await redisClient.keys(`${live}stage:*`)).toEqual([]);
    } finally {
      redisClient.disconnect();
    }
    const project = await Project.open({ project: world.dir });
    const a = await openOnlineStore(project, { backend: 'redis', redisUrl: REDIS_URL, prefix: ref, features: 'credit_v1' });
    const b = await openOnlineStore(project, { backend: 'redis', redisUrl: REDIS_URL, prefix: live, features: 'credit_v1' });
    try {
      const [ra, rb] = [await a.getOnlineFeatures(ids, undefined, { asOf: AS_OF }), await b.getOnlineFeatures(ids, undefined, { asOf: AS_OF })];
      expect(rb).toEqual(ra);
      expect(ra.length).toBe(ids.length);
      // Not trivially equal: most borrowers have spent something in the last 30 days as of the time.
      const filled = ra.filter((row) => Object.entries(row).some(([k, v]) => k !== 'borrower_id' && typeof v === 'number' && v > 0));
      expect(filled.length).toBeGreaterThan(ids.length / 2);
      const [ma, mb] = [await a.materialization(), await b.materialization()];
      expect(mb!.asOf).toBe(ma!.asOf);
      expect(mb!.sources.map((x) => [x.name, x.events, x.entities, x.latestEvent])).toEqual(ma!.sources.map((x) => [x.name, x.events, x.entities, x.latestEvent]));
    } finally {
      await a.close();
      await b.close();
      project.close();
    }
  }, 120_000);
});
