/**
 * `kiln embeddings train --on-workers`: the training of an embedding space (four monthly versions, each with
 * its HNSW index) as one job for two `kiln worker` processes on the real Redis, the metadata on the real
 * PostgreSQL. The worker that takes the job is SIGKILLed after it registered a version: the other resumes
 * from the versions the job's lineage names, the job commits once, and there are exactly four versions.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JobQueue, type EmbeddingTrainJob } from '../../src/jobs/index.js';
import { MetaStore } from '../../src/store/index.js';
import { EmbeddingRegistry } from '../../src/registry/index.js';
import { kiln } from '../helpers.js';
import { redisConnection } from '../loop/redis.js';
import { dropSchema, META_BACKENDS, TEST_DATABASE_URL, testSchema } from '../meta-backends.js';
import { redisMode } from '../online/helpers.js';
import { spaceProject, spacesConfig } from '../embeddings/space-fixture.js';
import { exited, startWorker, until, type WorkerProcess } from '../worker-process.js';

const ROOT = join(import.meta.dirname, '..', '..');
const ENV = { KILN_FROM_SOURCE: '1', NO_COLOR: '1' };
const pg = META_BACKENDS.includes('postgres');
const redis = pg ? (await redisMode()) === 'run' : false;


describe.skipIf(!pg || !redis)('embedding training as a job on workers', () => {
  const prefix = `kiln-jobs-${randomBytes(4).toString('hex')}`;
  const schema = testSchema();
  const workers: WorkerProcess[] = [];
  let dir: string;
  let cleanup: () => void;

  beforeAll(async () => {
    const config = spacesConfig().replace("name: 'emb',", `name: 'emb', metadata: { url: ${JSON.stringify(TEST_DATABASE_URL)}, schema: '${schema}' },`);
    const p = await spaceProject('jobs', { config, borrowers: 300 });
    dir = p.dir;
    cleanup = p.cleanup;
    p.project.close();
  }, 60_000);

  afterAll(async () => {
    for (const w of workers) if (w.child.exitCode === null && w.child.signalCode === null) { w.child.kill('SIGKILL'); await exited(w.child); }
    const q = await JobQueue.connect({ prefix, connection: redisConnection() });
    await q.queue.obliterate({ force: true });
    const keys = await q.redis.keys(`${prefix}:*`);
    if (keys.length) await q.redis.del(...keys);
    await q.close();
    cleanup?.();
    dropSchema(schema);
  });

  it('a worker killed after registering a version: the job resumes on the other and commits once, four versions in all', async () => {
    workers.push(await startWorker(dir, prefix, ['--no-backfills', '--no-trials']), await startWorker(dir, prefix, ['--no-backfills', '--no-trials']));
    const r = await kiln(['embeddings', 'train', 'merchants', '--project', dir, '--every', 'month', '--from', '2024-03-01', '--to', '2024-06-01', '--alias', 'current', '--reason', 'monthly backfill', '--on-workers', '--queue', prefix, '--json'], ROOT, ENV);
    expect(r.code, r.stderr).toBe(0);
    const spec = JSON.parse(r.stdout) as EmbeddingTrainJob;
    expect(spec.cuts).toHaveLength(4);
    const meta = MetaStore.open(join(dir, '.kiln', 'meta.sqlite'), { url: TEST_DATABASE_URL, schema });
    const reg = new EmbeddingRegistry(meta.db, join(dir, '.kiln', 'embeddings'));
    try {
      await until('a version registered by the job', () => reg.has('merchants') && reg.versions('merchants').length >= 1);
      const victim = workers.find((w) => w.log.some((l) => l.includes(`job ${spec.id}: started`)))!;
      victim.child.kill('SIGKILL');
      await exited(victim.child);
      const q = await JobQueue.connect({ prefix, connection: redisConnection() });
      try {
        const result = await q.wait(spec.id, undefined, 100);
        expect(result.versions).toEqual([1, 2, 3, 4]);
        expect(result.worker).not.toContain(`:${victim.child.pid}`);
        expect(await q.commits(spec.id)).toHaveLength(1);
      } finally {
        await q.close();
      }
      const versions = reg.versions('merchants');
      expect(versions.map((v) => v.version).sort()).toEqual([1, 2, 3, 4]);
      expect(versions.map((v) => v.lineage.job).sort()).toEqual([0, 1, 2, 3].map((i) => `${spec.id}#${i}`));
      expect(reg.aliases('merchants')).toEqual({ current: 4 });
      expect(versions.find((v) => v.version === 1)!.trainedUntil).toMatch(/^2024-03-01/);
      // kiln jobs shows it beside backfills and searches.
      const st = await kiln(['jobs', 'status', spec.id, '--queue', prefix], ROOT, ENV);
      expect(st.stdout).toContain(`job ${spec.id}: done, embedding space merchants, 4/4 versions`);
      const list = await kiln(['jobs', 'list', '--queue', prefix, '--json'], ROOT, ENV);
      expect(JSON.parse(list.stdout)).toEqual([expect.objectContaining({ id: spec.id, kind: 'job', state: 'done', done: 4, total: 4 })]);
    } finally {
      meta.close();
    }
  }, 180_000);
});
