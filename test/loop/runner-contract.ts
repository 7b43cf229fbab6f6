/**
 * The one contract both loop runners pass (in process on SQLite, and on BullMQ workers over Redis):
 * order, outputs passed along, retries with backoff then failure, branching and early ends, coalescing,
 * resume after a dead owner, idempotent re-runs, cancellation. Run by runner-contract.test.ts.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { LoopDef, LoopRunner, LoopStore, StepDef } from '../../src/loop/index.js';

export interface RunnerHarness {
  runner: LoopRunner;
  store: LoopStore;
  /** The runner column of runs this runner drives: 'in-process' or 'bullmq:<prefix>'. */
  runnerName: string;
  /** A second runner over the same store (another process, after a restart). */
  another(): Promise<LoopRunner>;
  cleanup(): Promise<void>;
}

export type HarnessFactory = (loops: Record<string, LoopDef>) => Promise<RunnerHarness>;

const BACKOFF = 20;
const step = (name: string, run: StepDef['run'], retries?: number): StepDef => ({ name, run, ...(retries !== undefined ? { retries } : {}) });

export function describeLoopRunner(name: string, factory: HarnessFactory, opts: { skip?: () => Promise<boolean> } = {}): void {
  describe(`loop runner contract: ${name}`, () => {
    let h: RunnerHarness | undefined;
    let skipped = false;
    const calls: string[] = [];
    const effects = new Set<string>();
    let failuresLeft = 0;
    const attemptsAt: number[] = [];

    const loops: Record<string, LoopDef> = {
      chain: { name: 'chain', steps: [
        step('a', async (c) => { calls.push('a'); return { a: (c.input.x as number) + 1 }; }),
        step('b', async (c) => { calls.push('b'); return { b: (c.outputs.a as { a: number }).a * 10 }; }),
        step('c', async (c) => { calls.push('c'); return { sum: (c.outputs.a as { a: number }).a + (c.outputs.b as { b: number }).b, attempt: c.attempt }; }),
      ] },
      flaky: { name: 'flaky', steps: [
        step('try', async (c) => { attemptsAt.push(Date.now()); calls.push(`try#${c.attempt}`); if (failuresLeft-- > 0) throw new Error(`boom ${c.attempt}`); return 'ok'; }, 2),
        step('after', async () => { calls.push('after'); return null; }),
      ] },
      gate: { name: 'gate', steps: [
        step('evaluate', async (c) => ({ ...(c.input.decide as object) })),
        step('shadow', async () => { calls.push('shadow'); return { end: 'shadowed' }; }),
        step('promote', async () => { calls.push('promote'); return { promoted: true }; }),
        step('notify', async () => { calls.push('notify'); return null; }),
      ] },
      slow: { name: 'slow', steps: [
        step('wait', async (c) => {
          calls.push('wait');
          await new Promise<void>((resolve, reject) => {
            const t = setTimeout(resolve, (c.input.ms as number) ?? 300);
            c.signal.addEventListener('abort', () => { clearTimeout(t); calls.push('aborted'); reject(new Error('aborted')); });
          });
          return 'waited';
        }),
        step('then', async () => { calls.push('then'); return null; }),
      ] },
      effect: { name: 'effect', steps: [
        step('write', async (c) => { calls.push(`write#${c.attempt}`); effects.add(`${c.runId}:write`); return { wrote: 1 }; }),
        step('read', async (c) => { calls.push('read'); return { seen: effects.has(`${c.runId}:write`), wrote: c.outputs.write }; }),
      ] },
    };

    beforeEach(async (ctx) => {
      calls.length = 0; effects.clear(); attemptsAt.length = 0; failuresLeft = 0;
      skipped = (await opts.skip?.()) ?? false;
      if (skipped) { ctx.skip(); return; }
      h = await factory(loops);
    });
    afterEach(async () => { if (h) await h.cleanup(); h = undefined; });
    const H = (): RunnerHarness => h!;

    it('runs the steps in order, passing the input and the outputs so far', async () => {
      const id = await H().runner.submit('chain', { x: 1 }, { kind: 'manual', detail: { who: 'test' } });
      const run = await H().runner.runToEnd(id, { timeoutMs: 10_000 });
      expect(calls).toEqual(['a', 'b', 'c']);
      expect(run.status).toBe('succeeded');
      expect(run.outcome).toBe('completed');
      expect(run.steps.map((s) => [s.name, s.status, s.attempts, s.output])).toEqual([['a', 'done', 1, { a: 2 }], ['b', 'done', 1, { b: 20 }], ['c', 'done', 1, { sum: 22, attempt: 1 }]]);
      expect(run.trigger).toMatchObject({ kind: 'manual', detail: { who: 'test' } });
      expect(run.runner).toBe(H().runnerName);
      expect(run.startedAt! <= run.endedAt!).toBe(true);
      expect(H().store.listRuns({ loop: 'chain' }).map((r) => r.id)).toEqual([id]);
    });

    it('retries a failing step with exponential backoff, then goes on', async () => {
      failuresLeft = 2;
      const run = await H().runner.runToEnd(await H().runner.submit('flaky', {}, { kind: 'manual' }), { timeoutMs: 10_000 });
      expect(run.status).toBe('succeeded');
      expect(calls).toEqual(['try#1', 'try#2', 'try#3', 'after']);
      expect(run.steps[0]).toMatchObject({ status: 'done', attempts: 3, error: null });
      expect(attemptsAt[1]! - attemptsAt[0]!).toBeGreaterThanOrEqual(BACKOFF - 2);
      expect(attemptsAt[2]! - attemptsAt[1]!).toBeGreaterThanOrEqual(2 * BACKOFF - 2);
    });

    it('fails the run when a step has used up its retries', async () => {
      failuresLeft = 100;
      const run = await H().runner.runToEnd(await H().runner.submit('flaky', {}, { kind: 'manual' }), { timeoutMs: 10_000 });
      expect(run.status).toBe('failed');
      expect(calls).toEqual(['try#1', 'try#2', 'try#3']);
      expect(run.steps.map((s) => [s.name, s.status, s.attempts])).toEqual([['try', 'failed', 3], ['after', 'pending', 0]]);
      expect(run.error).toBe("step 'try' failed: boom 3");
    });

    it('branches with goto, ends early with end, and fails a goto to an earlier or unknown step', async () => {
      const r = H().runner;
      const promoted = await r.runToEnd(await r.submit('gate', { decide: { goto: 'promote' } }, { kind: 'manual' }), { timeoutMs: 10_000 });
      expect([promoted.status, promoted.outcome, promoted.steps.map((s) => s.status)]).toEqual(['succeeded', 'completed', ['done', 'skipped', 'done', 'done']]);
      const shadowed = await r.runToEnd(await r.submit('gate', { decide: {} }, { kind: 'manual' }), { timeoutMs: 10_000 });
      expect([shadowed.status, shadowed.outcome, shadowed.steps.map((s) => s.status)]).toEqual(['succeeded', 'shadowed', ['done', 'done', 'skipped', 'skipped']]);
      const rejected = await r.runToEnd(await r.submit('gate', { decide: { end: 'rejected', why: 'auc' } }, { kind: 'manual' }), { timeoutMs: 10_000 });
      expect([rejected.status, rejected.outcome, rejected.steps.map((s) => s.status), rejected.steps[0]!.output]).toEqual(['succeeded', 'rejected', ['done', 'skipped', 'skipped', 'skipped'], { end: 'rejected', why: 'auc' }]);
      expect(calls).toEqual(['promote', 'notify', 'shadow']);
      const bad = await r.runToEnd(await r.submit('gate', { decide: { goto: 'nowhere' } }, { kind: 'manual' }), { timeoutMs: 10_000 });
      expect([bad.status, bad.steps[0]!.status]).toEqual(['failed', 'failed']);
      expect(bad.error).toContain(`returned goto "nowhere": expected the name of a later step of loop 'gate' (shadow, promote, notify)`);
    });

    it('coalesces a trigger into the pending or running run of the loop', async () => {
      const r = H().runner;
      const first = await r.submit('slow', { ms: 300 }, { kind: 'cron' });
      const second = await r.submit('slow', { ms: 300 }, { kind: 'data', detail: { table: 'loans' } }, { coalesce: true });
      expect(second).toBe(first);
      const run = await r.runToEnd(first, { timeoutMs: 10_000 });
      expect(run.triggers.map((t) => t.kind)).toEqual(['cron', 'data']);
      expect(run.triggers[1]!.detail).toEqual({ table: 'loans' });
      expect(calls).toEqual(['wait', 'then']);
      const third = await r.submit('slow', { ms: 1 }, { kind: 'cron' }, { coalesce: true });
      expect(third).not.toBe(first);
      expect((await r.runToEnd(third, { timeoutMs: 10_000 })).status).toBe('succeeded');
    });

    it('resumes a run whose owner died mid-step, re-running that step (idempotently) from the first step not done', async () => {
      const s = H().store;
      const { id } = s.createRun({ loop: 'effect', steps: ['write', 'read'], input: {}, trigger: { kind: 'manual' }, runner: H().runnerName, owner: { name: 'gone-host:4242', leaseMs: -1000 } });
      expect(s.claimRun(id, 'gone-host:4242', -1000)).toBe(true);
      const claimed = s.claimStep(id, 'write', 'gone-host:4242', 4);
      expect(claimed.ok).toBe(true);
      effects.add(`${id}:write`); // the dead owner had done part of the step's side effect
      const other = await H().another();
      expect(await other.resume()).toEqual([id]);
      const run = await other.runToEnd(id, { timeoutMs: 10_000 });
      expect(run.status).toBe('succeeded');
      expect(calls).toEqual(['write#2', 'read']);
      expect(run.steps.map((x) => [x.name, x.status, x.attempts])).toEqual([['write', 'done', 2], ['read', 'done', 1]]);
      expect(run.steps[1]!.output).toEqual({ seen: true, wrote: { wrote: 1 } });
      expect(effects.size).toBe(1);
      expect(await other.resume()).toEqual([]);
    });

    it('never runs again a step whose output was committed before its owner died', async () => {
      const s = H().store;
      const { id } = s.createRun({ loop: 'effect', steps: ['write', 'read'], input: {}, trigger: { kind: 'manual' }, runner: H().runnerName, owner: { name: 'gone-host:4242', leaseMs: -1000 } });
      s.claimRun(id, 'gone-host:4242', -1000);
      s.claimStep(id, 'write', 'gone-host:4242', 4);
      effects.add(`${id}:write`);
      expect(s.completeStep(id, 'write', 'gone-host:4242', { wrote: 7 })).toBe(true);
      const other = await H().another();
      expect(await other.resume()).toEqual([id]);
      const run = await other.runToEnd(id, { timeoutMs: 10_000 });
      expect(calls).toEqual(['read']);
      expect(run.steps.map((x) => [x.name, x.status, x.attempts, x.output])).toEqual([['write', 'done', 1, { wrote: 7 }], ['read', 'done', 1, { seen: true, wrote: { wrote: 7 } }]]);
    });

    it('cancels a running run: the step sees its signal aborted and no later step starts', async () => {
      const r = H().runner;
      const id = await r.submit('slow', { ms: 20_000 }, { kind: 'manual' });
      for (let i = 0; i < 200 && !calls.includes('wait'); i++) await new Promise((res) => setTimeout(res, 20));
      expect(await r.cancel(id, 'operator said no')).toBe(true);
      const run = await r.runToEnd(id, { timeoutMs: 10_000 });
      expect([run.status, run.error]).toEqual(['cancelled', 'operator said no']);
      for (let i = 0; i < 100 && !calls.includes('aborted'); i++) await new Promise((res) => setTimeout(res, 20));
      expect(calls).toEqual(['wait', 'aborted']);
      expect(run.steps[1]!.status).toBe('pending');
      expect(await r.cancel(id)).toBe(false);
    });
  });
}
