/**
 * A scoring backfill (`kiln backfill score`) on a project whose metadata is on the real PostgreSQL, computed
 * by two `kiln worker` processes from the real Redis, one SIGKILLed in the middle of a partition: every
 * partition commits exactly once, and the union of the parts equals `kiln score`'s single-process output,
 * row for row (same version, same scores, same reasons).
 */
import { randomBytes } from 'node:crypto';
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BackfillQueue, type BackfillManifest, type BackfillSpec } from '../../src/backfill/index.js';
import { trainModel } from '../../src/pipelines/index.js';
import { scoreBatch } from '../../src/serve/index.js';
import { simulate } from '../../src/sim/index.js';
import { initProject, OfflineStore, Project, quoteLiteral } from '../../src/store/index.js';
import { kiln, tempDir } from '../helpers.js';
import { redisConnection } from '../loop/redis.js';
import { dropSchema, META_BACKENDS, TEST_DATABASE_URL, testSchema } from '../meta-backends.js';
import { redisMode } from '../online/helpers.js';
import { creditConfigText } from '../serve/http-helpers.js';
import { exited, startWorker, until, type WorkerProcess } from '../worker-process.js';

const ROOT = join(import.meta.dirname, '..', '..');
const ENV = { KILN_FROM_SOURCE: '1', NO_COLOR: '1' };
const pg = META_BACKENDS.includes('postgres');
const redis = pg ? (await redisMode()) === 'run' : false;


describe.skipIf(!pg || !redis)('kiln backfill score on workers, metadata on PostgreSQL', () => {
  const prefix = `kiln-backfill-score-${randomBytes(4).toString('hex')}`;
  const schema = testSchema();
  const workers: WorkerProcess[] = [];
  const tmp = tempDir('kiln-backfill-score-');
  let queue: BackfillQueue;
  const single = join(tmp.dir, 'single.parquet');

  beforeAll(async () => {
    writeFileSync(join(tmp.dir, 'kiln.config.ts'), creditConfigText('bf-score', { max_depth: 3, learning_rate: 0.1, n_estimators: 30 }, `metadata: { url: ${JSON.stringify(TEST_DATABASE_URL)}, schema: '${schema}' }, `));
    await initProject(tmp.dir);
    const project = await Project.open({ project: tmp.dir });
    try {
      const s = await simulate(project.offline, { borrowers: 1500, seed: 7 });
      for (const t of s.tables) project.meta.upsertTable({ name: t.name, timestampColumn: t.timestampColumn ?? null, keyColumn: t.keyColumn ?? null, source: 'sim', description: t.description });
      await trainModel(project, 'credit', { quiet: true, force: true });
      await scoreBatch(project, { model: 'credit@1', spine: 'loan_labels', key: 'borrower_id', time: 'funded_at', output: single, reasons: true, quiet: true });
    } finally {
      project.close();
    }
    queue = await BackfillQueue.connect({ prefix, connection: redisConnection() });
  }, 120_000);

  afterAll(async () => {
    for (const w of workers) if (w.child.exitCode === null && w.child.signalCode === null) { w.child.kill('SIGKILL'); await exited(w.child); }
    if (queue) {
      await queue.queue.obliterate({ force: true });
      const keys = await queue.redis.keys(`${prefix}:*`);
      if (keys.length) await queue.redis.del(...keys);
      await queue.close();
    }
    tmp.cleanup();
    dropSchema(schema);
  });

  it('two workers, one SIGKILLed mid-partition: each partition commits once; the parts are kiln score\'s output', async () => {
    workers.push(await startWorker(tmp.dir, prefix, ['--backfill-threads', '1']), await startWorker(tmp.dir, prefix, ['--backfill-threads', '1']));
    const [victim] = workers;
    const out = join(tmp.dir, 'scored');
    const r = await kiln(['backfill', 'score', '--project', tmp.dir, '--model', 'credit', '--spine', 'loan_labels', '--key', 'borrower_id', '--timestamp', 'funded_at', '--partitions', '6', '--reasons', '--out', out, '--queue', prefix, '--json'], ROOT, ENV);
    expect(r.code, r.stderr).toBe(0);
    const spec = JSON.parse(r.stdout) as BackfillSpec;
    expect(spec).toMatchObject({ kind: 'score', model: 'credit@1', partitions: 6, reasons: true });
    const started = await until('the first worker to start a partition', () => victim!.log.find((l) => / partition \d+\/6: started/.test(l)));
    victim!.child.kill('SIGKILL');
    await exited(victim!.child);
    const killedPartition = Number(/ partition (\d+)\/6/.exec(started)![1]);
    const status = await until('every partition to be committed', async () => {
      const s = await queue.status(spec.id);
      return s.state === 'done' && s.manifest ? s : null;
    });
    expect(status.commits).toHaveLength(6);
    expect(new Set(status.commits.map((c) => c.partition)).size).toBe(6);
    expect(status.parts[killedPartition]!.worker).not.toContain(`:${victim!.child.pid}`);
    expect(readdirSync(out).filter((f) => f.startsWith('.'))).toEqual([]);
    const manifest = (await import(join(out, '_manifest.json'), { with: { type: 'json' } })).default as BackfillManifest;
    expect(manifest).toMatchObject({ kind: 'score', model: 'credit@1', partitions: 6 });

    const db = await OfflineStore.open(':memory:');
    try {
      const parts = `read_parquet(${quoteLiteral(join(out, 'part-*.parquet'))})`;
      const one = `read_parquet(${quoteLiteral(single)})`;
      const cols = 'borrower_id, as_of, model, version, probability, calibrated, points, declined, to_json(reasons)::VARCHAR AS reasons';
      const [n] = await db.all<{ a: number; b: number }>(`SELECT (SELECT count(*) FROM ${parts})::INT AS a, (SELECT count(*) FROM ${one})::INT AS b`);
      expect(n!.a).toBe(n!.b);
      expect(n!.a).toBeGreaterThan(100);
      const diff = await db.all(`(SELECT ${cols} FROM ${parts} EXCEPT ALL SELECT ${cols} FROM ${one}) UNION ALL (SELECT ${cols} FROM ${one} EXCEPT ALL SELECT ${cols} FROM ${parts})`);
      expect(diff).toEqual([]);
    } finally {
      db.close();
    }
  }, 120_000);
});
