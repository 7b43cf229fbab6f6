/**
 * Crash-resume of kiln's REAL retrain loop (src/loop/retrain/) on a real project: a child process
 * (retrain-child.ts) drives the loop with the in-process runner and SIGKILLs itself in the middle of one
 * step, its real work done and its output not committed (train: after trainModel registered the
 * challenger; act: after setAlias moved the champion, once also with the alias rolled back by hand before
 * the resume); a fresh child resumes the run. Each time: the run succeeds (promoted), the killed step ran
 * twice and the others once, the run registered exactly one version (tag loop_run) and moved the alias
 * exactly once (one set_alias audit entry naming the run).
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LoopRunRecord } from '../../src/loop/index.js';
import { Project } from '../../src/store/index.js';
import { tempDir } from '../helpers.js';
import { aliasMovesOfRun, buildRetrainWorld, copyWorld, MODEL, versionsOfRun } from './retrain-world.js';

const exec = promisify(execFile);
const CHILD = join(import.meta.dirname, 'retrain-child.ts');
const STEPS = ['refresh', 'train', 'evaluate', 'gate', 'act'];
const tmp = tempDir('kiln-retrain-crash-');
const template = join(tmp.dir, 'template');

async function child(dir: string, killAt?: string): Promise<{ signal: string | null; code: number | null; out: string }> {
  try {
    const { stdout } = await exec(process.execPath, ['--import', 'tsx', CHILD, dir], { env: { ...process.env, KILL_AT: killAt ?? '' }, cwd: join(import.meta.dirname, '..', '..') });
    return { signal: null, code: 0, out: stdout };
  } catch (e) {
    const err = e as { signal: string | null; code: number | null; stdout: string; stderr: string };
    return { signal: err.signal, code: err.code, out: err.stdout + err.stderr };
  }
}

beforeAll(async () => { await buildRetrainWorld(template); }, 120_000);
afterAll(() => tmp.cleanup());

// Every step in the middle (train and act are the two with side effects); and act again with the alias
// rolled back by hand before the resume: the run moved it once already, so it must not move it again.
const SCENARIOS = [
  ...STEPS.map((s) => ({ killAt: s, reruns: s, rollback: false })),
  { killAt: 'act', reruns: 'act', rollback: true },
];

// One scenario at a time: each is two processes that load kiln and train (~15 s on a quiet 2-core machine);
// six at once beside the other vitest worker ran past any per-test timeout while using no less CPU in all.
describe('the real retrain loop killed with SIGKILL, then resumed', () => {
  it.each(SCENARIOS)('killed at $killAt (alias rolled back before the resume: $rollback)', async ({ killAt, reruns, rollback }) => {
    const dir = join(tmp.dir, `${killAt.replace(':', '-')}${rollback ? '-rollback' : ''}`);
    copyWorld(template, dir);
    const first = await child(dir, killAt);
    expect(first.signal, first.out).toBe('SIGKILL');
    if (rollback) {
      const p = await Project.open({ project: dir });
      expect(p.registry.resolve(`${MODEL}@champion`).version).toBe(2);
      p.registry.setAlias(MODEL, 'champion', 1, { reason: 'rollback by hand', actor: 'test' });
      p.close();
    }
    const second = await child(dir);
    expect(second.code, second.out).toBe(0);
    const { resumed, run } = JSON.parse(second.out) as { resumed: string[]; run: LoopRunRecord };
    expect(resumed).toEqual([run.id]);
    expect([run.status, run.outcome, run.error]).toEqual(['succeeded', 'promoted', null]);
    expect(run.steps.map((s) => [s.name, s.status, s.attempts])).toEqual(STEPS.map((s) => [s, 'done', s === reruns ? 2 : 1]));
    const train = run.steps.find((s) => s.name === 'train')!.output as { version: number; champion: number; reused: boolean };
    // the train step re-run after trainModel registered the challenger finds it by the run tag
    expect([train.version, train.champion, train.reused]).toEqual([2, 1, killAt === 'train']);
    expect(run.steps.find((s) => s.name === 'act')!.output).toMatchObject({ end: 'promoted', alias: 'champion', version: 2, previous: 1, moved: true });

    const p = await Project.open({ project: dir });
    try {
      expect(versionsOfRun(p, run.id)).toEqual([2]);
      expect(p.registry.listVersions(MODEL).map((v) => v.version)).toEqual([1, 2]);
      const moves = aliasMovesOfRun(p, run.id);
      expect(moves.map((m) => [m.alias, m.version])).toEqual([['champion', 2]]);
      expect(p.registry.resolve(`${MODEL}@champion`).version).toBe(rollback ? 1 : 2);
    } finally {
      p.close();
    }
  }, 120_000);
});
