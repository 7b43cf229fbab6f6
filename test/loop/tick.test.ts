/**
 * `kiln loop tick`: the live triggers. The schedule's times since the last tick start a run as of now;
 * inside the cooldown they wait (deferred, kept in the trigger state) and start a run once it ends.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kiln, tempDir } from '../helpers.js';
import { buildRetrainWorld, MODEL, PASSABLE_GATES, WINDOWS, writeConfig } from './retrain-world.js';

let dir: string;
let cleanup: () => void;

beforeAll(async () => {
  ({ dir, cleanup } = tempDir('kiln-tick-'));
  await buildRetrainWorld(dir);
  writeConfig(dir, PASSABLE_GATES, { windows: WINDOWS, triggers: { schedule: '0 0 * * *', cooldown: '20d' } });
}, 120_000);

afterAll(() => cleanup?.());

interface Tick { since: string; now: string; events: { event: { kind: string }; action: string }[]; runId: string | null; pending: number; outcome: string | null }
const tick = async (now: string): Promise<Tick> => {
  const r = await kiln(['loop', 'tick', MODEL, '--now', now, '--json', '--project', dir], dir);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as Tick;
};

describe('kiln loop tick', () => {
  it('starts runs on the schedule, defers inside the cooldown, and remembers across ticks', async () => {
    const first = await tick('2025-11-30T12:00:00Z');
    expect(first.events).toEqual([]);
    expect(first.runId).toBeNull();
    const state = join(dir, '.kiln', 'loop', `${MODEL}.triggers.json`);
    expect(existsSync(state)).toBe(true);

    const second = await tick('2025-12-01T00:00:01Z');
    expect(second.events.map((e) => `${e.event.kind}:${e.action}`)).toEqual(['schedule:start']);
    expect(second.runId).not.toBeNull();
    expect(second.outcome).toMatch(/^succeeded/);

    const third = await tick('2025-12-05T00:00:01Z');
    expect(third.events.map((e) => e.action)).toEqual(['defer', 'coalesce', 'coalesce', 'coalesce']);
    expect(third.runId).toBeNull();
    expect(third.pending).toBe(4);
    expect((JSON.parse(readFileSync(state, 'utf8')) as { pending: unknown[] }).pending).toHaveLength(4);

    const fourth = await tick('2025-12-22T00:00:01Z');
    expect(fourth.since).toBe('2025-12-05T00:00:01.000Z');
    expect(fourth.runId).not.toBeNull();
    expect(fourth.runId).not.toBe(second.runId);
    expect(fourth.pending).toBe(0);

    const history = await kiln(['loop', 'history', MODEL, '--json', '--project', dir], dir);
    const runs = JSON.parse(history.stdout) as { id: string; input: { asOf: string } }[];
    expect(runs.map((r) => r.input.asOf)).toEqual(['2025-12-22T00:00:01.000Z', '2025-12-01T00:00:01.000Z']);
  }, 120_000);

  it('asks for triggers when the config has none', async () => {
    writeConfig(dir, PASSABLE_GATES, { windows: WINDOWS });
    const r = await kiln(['loop', 'tick', MODEL, '--project', dir], dir);
    expect(r.code).toBe(78);
    expect(r.stderr).toContain(`loop.${MODEL}.triggers is not set`);
  });
});
