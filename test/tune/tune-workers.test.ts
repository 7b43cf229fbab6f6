/**
 * `kiln tune` (the scheduler, a process) and two `kiln worker` processes on the real Redis, the project's
 * metadata on the real PostgreSQL: successive halving over 6 configurations, one worker SIGKILLed in the
 * middle of a trial. Every trial finishes exactly once (one commit each), each is a tracked run under
 * the search's parent run, and the best configuration is registered.
 */
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listRuns, getRun } from '../../src/registry/index.js';
import { simulate } from '../../src/sim/index.js';
import { initProject, Project } from '../../src/store/index.js';
import { TuneQueue, type TuneResult } from '../../src/tune/index.js';
import { tempDir } from '../helpers.js';
import { redisConnection } from '../loop/redis.js';
import { dropSchema, META_BACKENDS, TEST_DATABASE_URL, testSchema } from '../meta-backends.js';
import { redisMode } from '../online/helpers.js';
import { creditConfigText } from '../serve/http-helpers.js';
import { startKiln, startWorker, until, type WorkerProcess } from '../worker-process.js';

const pg = META_BACKENDS.includes('postgres');
const redis = pg ? (await redisMode()) === 'run' : false;

describe.skipIf(!pg || !redis)('kiln tune on workers', () => {
  const prefix = `kiln-tune-${randomBytes(4).toString('hex')}`;
  const schema = testSchema();
  const tmp = tempDir('kiln-tune-');
  const procs: WorkerProcess[] = [];

  beforeAll(async () => {
    writeFileSync(join(tmp.dir, 'kiln.config.ts'), creditConfigText('tune', { max_depth: 3, learning_rate: 0.1, n_estimators: 30 }, `metadata: { url: ${JSON.stringify(TEST_DATABASE_URL)}, schema: '${schema}' }, `));
    await initProject(tmp.dir);
    const project = await Project.open({ project: tmp.dir });
    try {
      const s = await simulate(project.offline, { borrowers: 2000, seed: 9 });
      for (const t of s.tables) project.meta.upsertTable({ name: t.name, timestampColumn: t.timestampColumn ?? null, keyColumn: t.keyColumn ?? null, source: 'sim', description: t.description });
    } finally {
      project.close();
    }
  }, 120_000);

  afterAll(async () => {
    for (const p of procs) if (p.child.exitCode === null && p.child.signalCode === null) { p.child.kill('SIGKILL'); await p.exited; }
    const q = await TuneQueue.connect({ prefix, connection: redisConnection() });
    await q.queue.obliterate({ force: true });
    const keys = await q.redis.keys(`${prefix}:*`);
    if (keys.length) await q.redis.del(...keys);
    await q.close();
    tmp.cleanup();
    dropSchema(schema);
  });

  it('halving over 6 configurations, a worker killed mid-trial: each trial once, all under the parent run, the best registered', async () => {
    const worker = (): Promise<WorkerProcess> => startWorker(tmp.dir, prefix, ['--no-backfills']);
    procs.push(await worker(), await worker());
    const victim = procs[0]!;
    const space = JSON.stringify({ max_depth: [2, 5], learning_rate: { log: [0.03, 0.3] }, min_child_weight: { choice: [1, 5, 20] } });
    const tune = await startKiln(['tune', 'credit', '--project', tmp.dir, '--search', 'halving', '--trials', '6', '--eta', '3', '--min-rounds', '10', '--max-rounds', '30', '--space', space, '--queue', prefix, '--force', '--json']);
    procs.push(tune);
    const started = await until('a trial started on the victim', () => victim.log.find((l) => / trial \d+\.\d+: started/.test(l)), 90_000);
    victim.child.kill('SIGKILL');
    await victim.exited;
    const code = await tune.exited;
    expect(code, tune.log.join('\n')).toBe(0);
    const r = JSON.parse(tune.out) as TuneResult;
    expect(r.rungs.map((x) => [x.configs, x.rounds, x.failed])).toEqual([[6, 10, 0], [2, 30, 0]]);
    expect(r.trials).toHaveLength(8);

    const q = await TuneQueue.connect({ prefix, connection: redisConnection() });
    try {
      const commits = await q.commits(r.id);
      expect(commits.map((c) => c.key).sort()).toEqual(['0.0', '0.1', '0.2', '0.3', '0.4', '0.5', ...r.trials.filter((t) => t.rung === 1).map((t) => `1.${t.trial}`)].sort());
      const killedKey = / trial (\d+\.\d+): started/.exec(started)![1]!;
      expect(commits.find((c) => c.key === killedKey)!.worker).not.toContain(`:${victim.child.pid}`);
    } finally {
      await q.close();
    }

    const project = await Project.open({ project: tmp.dir });
    try {
      const runs = listRuns(project.meta.db, { experiment: 'credit', limit: 100 }).map((x) => getRun(project.meta.db, x.id));
      const trials = runs.filter((x) => x.tags.tune === r.id && x.tags.parent_run === r.parentRun && x.tags.trial !== undefined);
      // Every trial's committed run finished; the killed attempt's run is marked failed, not counted.
      const finished = trials.filter((x) => x.status === 'finished');
      expect(new Set(finished.map((x) => x.id))).toEqual(new Set(r.trials.map((t) => t.runId)));
      expect(trials.filter((x) => x.status !== 'finished').every((x) => x.status === 'failed')).toBe(true);
      const parent = getRun(project.meta.db, r.parentRun);
      expect(parent).toMatchObject({ status: 'finished', tags: { kind: 'tune', best_trial_run: r.best.runId } });
      expect(parent.metrics.best_valid_auc).toBeCloseTo(r.best.validAuc, 12);
      // The best is the best of the last rung, and it was registered.
      expect(r.best.validAuc).toBe(Math.max(...r.trials.filter((t) => t.rung === 1).map((t) => t.validAuc)));
      const v = project.registry.getVersion('credit', r.registered!.version);
      expect(getRun(project.meta.db, v.runId!).tags).toMatchObject({ tune: r.id, parent_run: r.parentRun });
    } finally {
      project.close();
    }
  }, 180_000);
});
