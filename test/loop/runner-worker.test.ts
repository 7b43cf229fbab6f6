/**
 * `kiln worker` as a real process on the real Redis: a worker SIGKILLed in the middle of a step loses
 * its job to BullMQ's stalled-job check, and a second worker re-runs the step and finishes the run;
 * SIGTERM lets the step running now finish (and be recorded) before the worker exits 0.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BullMqRunner, LoopStore } from '../../src/loop/index.js';
import { initProject, Project } from '../../src/store/index.js';
import { tempDir } from '../helpers.js';
import { redisMode } from '../online/helpers.js';
import { redisConnection } from './redis.js';
import { loops } from './worker-loops.js';

const ROOT = join(import.meta.dirname, '..', '..');
const BIN = join(ROOT, 'bin', 'kiln.js');
const MODULE = join(import.meta.dirname, 'worker-loops.ts');

function startWorker(dir: string, prefix: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, [BIN, 'worker', '--project', dir, '--queue', prefix, '--loops-module', MODULE, '--lock-duration', '1000', '--stalled-interval', '500'], {
    cwd: ROOT, env: { ...process.env, KILN_FROM_SOURCE: '1', NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  return new Promise((resolve, reject) => {
    child.stderr!.on('data', (d: Buffer) => { err += d.toString(); if (err.includes('kiln worker: pid')) resolve(child); });
    child.on('exit', (code) => reject(new Error(`kiln worker exited early (${code}): ${err}`)));
  });
}

const exited = (c: ChildProcess): Promise<{ code: number | null; signal: string | null }> =>
  c.exitCode !== null || c.signalCode !== null ? Promise.resolve({ code: c.exitCode, signal: c.signalCode }) : new Promise((r) => c.once('exit', (code, signal) => r({ code, signal })));

async function until(what: string, cond: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe('kiln worker (BullMQ on Redis)', () => {
  const tmp = tempDir('kiln-loop-worker-');
  const prefix = `kiln-loop-test-${randomBytes(4).toString('hex')}`;
  const workers: ChildProcess[] = [];
  let skip = false;
  let project: Project;
  let runner: BullMqRunner;
  let store: LoopStore;

  beforeAll(async () => {
    skip = (await redisMode()) === 'skip';
    if (skip) return;
    await initProject(tmp.dir);
    project = await Project.open({ project: tmp.dir });
    store = new LoopStore(project.meta.db);
    const defs = loops({ project });
    runner = new BullMqRunner(store, Object.fromEntries(defs.map((d) => [d.name, d])), { prefix, connection: redisConnection(), pollMs: 25 });
  });
  afterAll(async () => {
    for (const w of workers) if (w.exitCode === null && w.signalCode === null) { w.kill('SIGKILL'); await exited(w); }
    if (!skip) { await runner.queue.obliterate({ force: true }); await runner.close(); project.close(); }
    tmp.cleanup();
  });

  it('a worker killed mid-step: the stalled job goes to a second worker, which re-runs the step and ends the run', async (ctx) => {
    if (skip) ctx.skip();
    const first = await startWorker(tmp.dir, prefix);
    workers.push(first);
    const id = await runner.submit('ship', {}, { kind: 'manual' });
    await until('the slow step to start', () => store.getRun(id).steps[1]!.status === 'running');
    expect(store.getRun(id).steps[1]!.owner).toMatch(new RegExp(`:${first.pid}$`));
    first.kill('SIGKILL');
    expect((await exited(first)).signal).toBe('SIGKILL');
    const second = await startWorker(tmp.dir, prefix);
    workers.push(second);
    const run = await runner.runToEnd(id, { timeoutMs: 15_000 });
    expect(run.status).toBe('succeeded');
    expect(run.steps.map((s) => [s.name, s.status, s.attempts])).toEqual([['prepare', 'done', 1], ['slow', 'done', 2], ['after', 'done', 1]]);
    expect(run.steps[1]!.output).toEqual({ by: second.pid });
    expect(run.steps[2]!.output).toEqual({ slowBy: second.pid });
    const calls = project.meta.db.prepare('SELECT step, attempt, pid, finished FROM worker_test_calls WHERE run_id = ? ORDER BY id').all(id);
    expect(calls).toEqual([
      { step: 'prepare', attempt: 1, pid: first.pid, finished: 1 },
      { step: 'slow', attempt: 1, pid: first.pid, finished: 0 },
      { step: 'slow', attempt: 2, pid: second.pid, finished: 1 },
      { step: 'after', attempt: 1, pid: second.pid, finished: 1 },
    ]);
  }, 20_000);

  it('SIGTERM: the step running now finishes and is recorded, then the worker exits 0', async (ctx) => {
    if (skip) ctx.skip();
    const w = workers.at(-1)!;
    const id = await runner.submit('drain', {}, { kind: 'manual' });
    await until('the nap step to start', () => store.getRun(id).steps[0]!.status === 'running');
    w.kill('SIGTERM');
    expect(await exited(w)).toEqual({ code: 0, signal: null });
    const run = store.getRun(id);
    expect(run.steps.map((s) => [s.name, s.status])).toEqual([['nap', 'done'], ['later', 'pending']]);
    expect(run.steps[0]!.output).toBe('rested');
  }, 20_000);
});
