/** Bad input to the loop runner is refused with an error that names the argument and what was expected. */
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { KilnError } from '../../src/core/errors.js';
import { backoffDelay, checkLoopDef, InProcessRunner, LoopStore, ownerIsDead, registerLoop, stepDecision, thisOwner, type LoopDef } from '../../src/loop/index.js';
import { MetaStore } from '../../src/store/index.js';
import { kiln, tempDir } from '../helpers.js';

const ok = async (): Promise<null> => null;
const loop: LoopDef = { name: 'l', steps: [{ name: 'a', run: ok }, { name: 'b', run: ok }, { name: 'c', run: ok }] };

function codeAndMessage(fn: () => unknown): [string, string] {
  try { fn(); } catch (e) { return [(e as KilnError).code, (e as Error).message]; }
  throw new Error('expected a throw');
}

describe('loop runner: refusals and small rules', () => {
  let t: ReturnType<typeof tempDir>;
  let meta: MetaStore;
  beforeEach(() => { t = tempDir('kiln-loop-err-'); meta = MetaStore.open(join(t.dir, 'meta.sqlite')); });
  afterEach(() => { meta.close(); t.cleanup(); });

  it('checks loop definitions', () => {
    expect(codeAndMessage(() => checkLoopDef({ name: 'x', steps: [] }))).toEqual(['INVALID_ARGUMENT', "loop 'x': `steps` must list at least one step"]);
    expect(codeAndMessage(() => checkLoopDef({ name: 'x', steps: [{ name: 'a', run: ok }, { name: 'a', run: ok }] }))[1]).toContain("step names must be non-empty and unique (got 'a'");
    expect(codeAndMessage(() => checkLoopDef({ name: 'x', steps: [{ name: 'a', run: ok, retries: -1 }] }))[1]).toBe("loop 'x', step 'a': retries must be a whole number >= 0, got -1");
    registerLoop(loop);
    registerLoop(loop);
    expect(codeAndMessage(() => registerLoop({ ...loop }))[1]).toBe("a loop named 'l' is already registered; give the new one another name");
  });

  it('reads goto and end from a step output', () => {
    expect(stepDecision(loop, 'a', { goto: 'c', x: 1 })).toEqual({ skipTo: 'c' });
    expect(stepDecision(loop, 'a', { end: 'rejected' })).toEqual({ end: 'rejected' });
    expect(stepDecision(loop, 'a', [1, 2])).toEqual({});
    expect(stepDecision(loop, 'a', 'goto')).toEqual({});
    expect(codeAndMessage(() => stepDecision(loop, 'b', { goto: 'a' }))[1]).toBe(`step 'b' returned goto "a": expected the name of a later step of loop 'l' (c)`);
    expect(codeAndMessage(() => stepDecision(loop, 'b', { goto: 'c', end: 'x' }))[1]).toBe("step 'b' returned both goto and end: expected one of them");
    expect(codeAndMessage(() => stepDecision(loop, 'b', { end: '' }))[1]).toContain("step 'b' returned end \"\": expected a non-empty outcome string");
  });

  it('backs off exponentially, capped', () => {
    expect([1, 2, 3, 4, 10].map((n) => backoffDelay(n, { backoffBaseMs: 100, backoffMaxMs: 500 }))).toEqual([100, 200, 400, 500, 500]);
    expect(backoffDelay(1)).toBe(1000);
  });

  it('tells a dead owner from a live one', () => {
    expect(ownerIsDead(thisOwner(), null)).toBe(false);
    expect(ownerIsDead(null, null)).toBe(true);
    expect(ownerIsDead('elsewhere:1', new Date(Date.now() + 60_000).toISOString())).toBe(false);
    expect(ownerIsDead('elsewhere:1', new Date(Date.now() - 1).toISOString())).toBe(true);
  });

  it('refuses an unknown loop, an unknown run, and a closed runner', async () => {
    const store = new LoopStore(meta.db);
    const r = new InProcessRunner(store, { l: loop });
    await expect(r.submit('nope', {}, { kind: 'manual' })).rejects.toThrow("no loop 'nope' in this runner (known: l)");
    expect(codeAndMessage(() => store.getRun('lr-missing'))).toEqual(['RUN_NOT_FOUND', "no loop run 'lr-missing' in this project (list them with LoopStore.listRuns)"]);
    await r.close();
    await expect(r.submit('l', {}, { kind: 'manual' })).rejects.toThrow('this loop runner was closed; create a new one');
  });

  it('fails a run whose step returns something that is not JSON', async () => {
    const store = new LoopStore(meta.db);
    const r = new InProcessRunner(store, { big: { name: 'big', steps: [{ name: 'a', run: async () => 1n, retries: 0 }] } });
    const run = await r.runToEnd(await r.submit('big', {}, { kind: 'manual' }));
    expect([run.status, run.steps[0]!.status]).toEqual(['failed', 'failed']);
    expect(run.error).toContain("step 'a' failed: ");
    await r.close();
  });

  it('kiln worker refuses a bad --concurrency', async () => {
    const r = await kiln(['worker', '--concurrency', '0'], t.dir);
    expect(r.code).toBe(64);
    expect(r.stderr).toContain('--concurrency 0: expected a whole number >= 1');
  });
});
