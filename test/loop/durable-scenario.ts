/**
 * Shared by runner-durability-{mid,between}.test.ts. Durability of the in-process runner against SIGKILL: a child process (durable-child.ts) runs the
 * six-step retrain loop over a real project and kills itself in the middle of step k (its side effect
 * done, its output not committed), or right after step k's output was committed; a second child resumes
 * the run. For every k: the run succeeds, every step is done exactly once in the final record (the killed
 * step re-ran, attempt 2), the challenger was registered once and the champion alias moved exactly once.
 */
import { execFile } from 'node:child_process';
import { cpSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LoopRunRecord } from '../../src/loop/index.js';
import { initProject, Project } from '../../src/store/index.js';
import { tempDir } from '../helpers.js';
import { MODEL, prepare, STEPS } from './durable-loop.js';

const run = promisify(execFile);
const CHILD = join(import.meta.dirname, 'durable-child.ts');
const tmp = tempDir('kiln-loop-durable-');
const template = join(tmp.dir, 'template');

async function child(dir: string, killAt?: string): Promise<{ signal: string | null; code: number | null; out: string }> {
  try {
    const { stdout } = await run(process.execPath, ['--import', 'tsx', CHILD, dir], { env: { ...process.env, KILL_AT: killAt ?? '' }, cwd: join(import.meta.dirname, '..', '..') });
    return { signal: null, code: 0, out: stdout };
  } catch (e) {
    const err = e as { signal: string | null; code: number | null; stdout: string; stderr: string };
    return { signal: err.signal, code: err.code, out: err.stdout + err.stderr };
  }
}

export function setupTemplate(): void {
beforeAll(async () => {
  await initProject(template);
  const p = await Project.open({ project: template });
  prepare(p);
  p.close();
});
afterAll(() => tmp.cleanup());
}

/** One test per scenario: kill at `killAt`, resume, check; `midStep` is the step that re-runs (null: none). */
export function describeKills(title: string, scenarios: { killAt: string; midStep: string | null }[]): void {
describe.concurrent(title, () => {
  it.each(scenarios)('killed at $killAt', async ({ killAt, midStep }) => {
    const dir = join(tmp.dir, killAt.replace(':', '-'));
    cpSync(template, dir, { recursive: true });
    const first = await child(dir, killAt);
    expect(first.signal, first.out).toBe('SIGKILL');

    const second = await child(dir);
    expect(second.code, second.out).toBe(0);
    const { resumed, run: r } = JSON.parse(second.out) as { resumed: string[]; run: LoopRunRecord };
    // After the last step committed there is nothing left to resume: the run had already succeeded.
    expect(resumed).toEqual(killAt === 'after:promote' ? [] : [r.id]);
    expect([r.status, r.outcome, r.error]).toEqual(['succeeded', 'promoted', null]);
    expect(r.steps.map((s) => [s.name, s.status])).toEqual(STEPS.map((s) => [s, 'done']));
    expect(r.steps.map((s) => s.attempts)).toEqual(STEPS.map((s) => (s === midStep ? 2 : 1)));

    const p = await Project.open({ project: dir });
    try {
      const db = p.meta.db;
      const calls = db.prepare('SELECT step, attempt, pid FROM loop_test_calls WHERE run_id = ? ORDER BY id').all(r.id) as { step: string; attempt: number; pid: number }[];
      expect(calls.map((c) => `${c.step}#${c.attempt}`)).toEqual(STEPS.flatMap((s) => (s === midStep ? [`${s}#1`, `${s}#2`] : [`${s}#1`])));
      expect(new Set(calls.map((c) => c.pid)).size).toBe(killAt === 'after:promote' ? 1 : 2);
      expect((db.prepare('SELECT step FROM loop_test_effects WHERE run_id = ? ORDER BY step').all(r.id) as { step: string }[]).map((e) => e.step)).toEqual([...STEPS].sort());
      const promotions = p.registry.auditLog(MODEL).filter((e) => e.action === 'set_alias' && e.alias === 'champion' && e.version === 2);
      expect(promotions).toHaveLength(1);
      expect(p.registry.listVersions(MODEL).map((v) => v.version)).toEqual([1, 2]);
      expect(p.registry.resolve(`${MODEL}@champion`).version).toBe(2);
      expect(r.steps.find((s) => s.name === 'promote')!.output).toEqual({ end: 'promoted', version: 2 });
    } finally {
      p.close();
    }
    // Six scenarios run at once, each with two child processes (~1.5 s each: the child loads only the runner and the store).
  }, 90_000);
});
}
