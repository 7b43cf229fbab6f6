/**
 * kiln's retrain loop on BullMQ: the run is submitted to the queue on the real Redis (a unique key
 * prefix) and a real `kiln worker` process executes its steps (the worker registers `retrain:<model>`
 * for every configured model, no loops module). The run ends promoted as it does in process: one version
 * registered for the run, the champion alias moved once, by an audit entry that names the run.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BullMqRunner, LoopStore, retrainLoop, retrainLoopName } from '../../src/loop/index.js';
import { Project } from '../../src/store/index.js';
import { tempDir } from '../helpers.js';
import { redisMode } from '../online/helpers.js';
import { redisConnection } from './redis.js';
import { AS_OF, aliasMovesOfRun, buildRetrainWorld, MODEL, versionsOfRun } from './retrain-world.js';

const ROOT = join(import.meta.dirname, '..', '..');
const BIN = join(ROOT, 'bin', 'kiln.js');

function startWorker(dir: string, prefix: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, [BIN, 'worker', '--project', dir, '--queue', prefix], { cwd: ROOT, env: { ...process.env, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  return new Promise((resolve, reject) => {
    child.stderr!.on('data', (d: Buffer) => { err += d.toString(); if (err.includes('kiln worker: pid')) resolve(child); });
    child.on('exit', (code) => reject(new Error(`kiln worker exited early (${code}): ${err}`)));
  });
}

const exited = (c: ChildProcess): Promise<{ code: number | null; signal: string | null }> =>
  c.exitCode !== null || c.signalCode !== null ? Promise.resolve({ code: c.exitCode, signal: c.signalCode }) : new Promise((r) => c.once('exit', (code, signal) => r({ code, signal })));

describe('the retrain loop run by kiln worker (BullMQ on Redis)', () => {
  const tmp = tempDir('kiln-retrain-worker-');
  const prefix = `kiln-retrain-test-${randomBytes(4).toString('hex')}`;
  let worker: ChildProcess | undefined;
  let skip = false;
  let project: Project | undefined;
  let runner: BullMqRunner | undefined;

  beforeAll(async () => {
    skip = (await redisMode()) === 'skip';
    if (skip) return;
    await buildRetrainWorld(tmp.dir);
  }, 60_000);
  afterAll(async () => {
    if (worker && worker.exitCode === null && worker.signalCode === null) { worker.kill('SIGKILL'); await exited(worker); }
    if (runner) { await runner.queue.obliterate({ force: true }); await runner.close(); }
    project?.close();
    tmp.cleanup();
  });

  it('a kiln worker executes every step; the run is promoted as in process', async (ctx) => {
    if (skip) ctx.skip();
    worker = await startWorker(tmp.dir, prefix);
    project = await Project.open({ project: tmp.dir });
    const store = new LoopStore(project.meta.db);
    const def = retrainLoop(project, MODEL);
    expect(def.name).toBe(retrainLoopName(MODEL));
    runner = new BullMqRunner(store, { [def.name]: def }, { prefix, connection: redisConnection(), pollMs: 50 });
    const id = await runner.submit(def.name, { asOf: AS_OF, force: true }, { kind: 'manual' });
    const run = await runner.runToEnd(id, { timeoutMs: 45_000 });
    expect([run.status, run.outcome, run.error]).toEqual(['succeeded', 'promoted', null]);
    expect(run.runner).toBe(`bullmq:${prefix}`);
    // every step ran once, in the worker process
    expect(run.steps.map((s) => [s.name, s.status, s.attempts, s.owner?.endsWith(`:${worker!.pid}`)])).toEqual(
      ['refresh', 'train', 'evaluate', 'gate', 'act'].map((s) => [s, 'done', 1, true]));
    expect(run.steps.find((s) => s.name === 'act')!.output).toMatchObject({ end: 'promoted', alias: 'champion', version: 2, previous: 1, moved: true });
    expect(versionsOfRun(project, id)).toEqual([2]);
    expect(aliasMovesOfRun(project, id).map((m) => [m.alias, m.version])).toEqual([['champion', 2]]);
    expect(project.registry.resolve(`${MODEL}@champion`).version).toBe(2);

    worker.kill('SIGTERM');
    expect(await exited(worker)).toEqual({ code: 0, signal: null });
  }, 60_000);
});
