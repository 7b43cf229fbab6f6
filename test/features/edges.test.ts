/**
 * Point-in-time semantics on hand-made data with the expected values written out: window edges, events
 * at the spine time, duplicate timestamps, late rows, entities without history, very long windows, and
 * the every-entity spine.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  count, countDistinct, derived, div, entity, eventSource, featureSet, first, last, lastK, max, mean, min, naiveEvaluate,
  stddev, sum, timeSinceLast,
} from '../../src/features/index.js';
import { buildTrainingSet } from '../../src/features/training/index.js';
import { tempProject } from '../helpers.js';
import { DAY, HOUR, T0, createTable } from './helpers.js';

const user = entity('user', { key: 'user_id' });
const cols = { amount: 'double', seq: 'bigint', kind: 'varchar' } as const;
const pay = eventSource('payments', { entity: user, timestamp: 'ts', availableAt: 'loaded_at', tiebreak: 'seq', columns: cols });
const payNoTie = eventSource('payments_nt', { entity: user, table: 'payments', timestamp: 'ts', availableAt: 'loaded_at', columns: cols });

const n1d = count(pay, { name: 'n_1d', window: '1d' });
const s1d = sum(pay, 'amount', { name: 'sum_1d', window: '1d' });
const features = [
  n1d, s1d,
  mean(pay, 'amount', { name: 'mean_1d', window: '1d' }),
  min(pay, 'amount', { name: 'min_1d', window: '1d' }),
  max(pay, 'amount', { name: 'max_1d', window: '1d' }),
  stddev(pay, 'amount', { name: 'sd_1d', window: '1d' }),
  first(pay, 'amount', { name: 'first_1d', window: '1d' }),
  last(pay, 'amount', { name: 'last_life', window: 'lifetime' }),
  last(payNoTie, 'amount', { name: 'last_nt', window: 'lifetime' }),
  countDistinct(pay, 'kind', { name: 'kinds_1d', window: '1d' }),
  timeSinceLast(pay, { name: 'hours_since', unit: 'h' }),
  lastK(pay, { name: 'last2', k: 2, fields: ['amount'] }),
  count(pay, { name: 'n_century', window: '36500d' }),
  count(pay, { name: 'n_life', window: 'lifetime' }),
  derived('avg_1d', div(s1d, n1d)),
];
const defs = [user, pay, payNoTie, ...features, featureSet('edge', features)];

const t = T0 + 10 * DAY; // the spine time of user 1
/** User 1: events on both window edges, at the spine time, duplicates at t − 2h, one late and one early-loaded row. */
const EVENTS = [
  { user_id: 1, ts: t - DAY, seq: 1, amount: 10, kind: 'x', loaded_at: null }, // exactly at t − 1d: in (strict)
  { user_id: 1, ts: t - DAY - 1, seq: 2, amount: 1000, kind: 'x', loaded_at: null }, // 1 µs before the window
  { user_id: 1, ts: t - 2 * HOUR, seq: 4, amount: 5, kind: 'y', loaded_at: null }, // duplicate timestamp ...
  { user_id: 1, ts: t - 2 * HOUR, seq: 3, amount: 7, kind: 'y', loaded_at: null }, // ... tie broken by seq
  { user_id: 1, ts: t - HOUR, seq: 5, amount: 99, kind: 'z', loaded_at: t + HOUR }, // late: known only after t
  { user_id: 1, ts: t - 3 * HOUR, seq: 6, amount: 3, kind: 'z', loaded_at: t - 2 * HOUR }, // loaded before t: counts
  { user_id: 1, ts: t, seq: 7, amount: 500, kind: 'w', loaded_at: null }, // exactly at t: the outcome, not history
  { user_id: 2, ts: T0 - 400 * 365 * DAY / 4, seq: 1, amount: 1, kind: 'x', loaded_at: null }, // ~100 years back
];

describe.each(['sql', 'bands'] as const)('point-in-time edges (engine %s)', (engine) => {
  let ctx: Awaited<ReturnType<typeof tempProject>>;
  beforeAll(async () => {
    ctx = await tempProject();
    // Rows in shuffled order: nothing may depend on insertion order.
    await createTable(ctx.project, 'payments', { user_id: 'BIGINT', ts: 'TIMESTAMP', loaded_at: 'TIMESTAMP', seq: 'BIGINT', amount: 'DOUBLE', kind: 'VARCHAR' },
      [EVENTS[4]!, EVENTS[0]!, EVENTS[6]!, EVENTS[2]!, EVENTS[7]!, EVENTS[3]!, EVENTS[1]!, EVENTS[5]!]);
    await createTable(ctx.project, 'spine', { user_id: 'BIGINT', ts: 'TIMESTAMP', y: 'BIGINT' },
      [{ user_id: 1, ts: t, y: 1 }, { user_id: 3, ts: t, y: 0 }, { user_id: 2, ts: T0, y: 0 }, { user_id: 1, ts: t, y: 0 }]);
  });
  afterAll(() => ctx.cleanup());

  const rows = async (bound: 'strict' | 'inclusive'): Promise<Record<string, unknown>[]> => {
    await buildTrainingSet(ctx.project, { spine: { table: 'spine' }, features: 'edge', definitions: defs, eventTimeBound: bound, table: 'ts_out', engine });
    return ctx.project.offline.all('SELECT * FROM ts_out');
  };

  it('strict: [t − w, t), late rows only once available, ties by the tie-break column', async () => {
    const [u1, none, old, again] = await rows('strict');
    // In the 1-day window: 10 (at t − 1d), 5 and 7 (duplicates), 3 (loaded before t). Not 1000, 99 (late), 500 (at t).
    expect(u1).toMatchObject({ user_id: 1, y: 1, n_1d: 4, sum_1d: 25, mean_1d: 6.25, min_1d: 3, max_1d: 10, first_1d: 10, kinds_1d: 3, avg_1d: 6.25 });
    expect(u1!.sd_1d).toBeCloseTo(Math.sqrt(((10 - 6.25) ** 2 + (5 - 6.25) ** 2 + (7 - 6.25) ** 2 + (3 - 6.25) ** 2) / 3), 12);
    expect(u1!.last_life).toBe(5); // t − 2h, seq 4 beats seq 3
    expect(u1!.last_nt).toBe(7); // without a tie-break column the larger value wins
    expect(u1!.hours_since).toBe(2);
    expect((u1!.last2 as { amount: number }[]).map((e) => e.amount)).toEqual([7, 5]);
    expect(u1).toMatchObject({ n_century: 5, n_life: 5 });
    expect(again).toEqual({ ...u1, y: 0 });
    // No history: 0 for counts and sums, null for the rest, [] for sequences.
    expect(none).toEqual({
      user_id: 3, ts: u1!.ts, y: 0, n_1d: 0, sum_1d: 0, mean_1d: null, min_1d: null, max_1d: null, sd_1d: null, first_1d: null,
      last_life: null, last_nt: null, kinds_1d: 0, hours_since: null, last2: [], n_century: 0, n_life: 0, avg_1d: null,
    });
    // A century-long window reaches an event ~100 years back, like lifetime.
    expect(old).toMatchObject({ n_century: 1, n_life: 1, n_1d: 0 });
  });

  it('inclusive: (t − w, t], so the edge event leaves and the event at t joins', async () => {
    const [u1] = await rows('inclusive');
    // 5, 7, 3 and 500 (at t); 10 at exactly t − 1d is out; 99 is still not loaded at t.
    expect(u1).toMatchObject({ n_1d: 4, sum_1d: 515, max_1d: 500, first_1d: 3, last_life: 500, hours_since: 0, n_life: 6 });
  });

  it('agrees with the naive evaluator on the same rows', async () => {
    const events = { payments: EVENTS, payments_nt: EVENTS };
    for (const bound of ['strict', 'inclusive'] as const) {
      const expected = naiveEvaluate(defs, events as never, [{ key: 1, time: t }, { key: 3, time: t }, { key: 2, time: T0 }], { features: 'edge', eventTimeBound: bound });
      const actual = (await rows(bound)).slice(0, 3);
      for (const [i, e] of expected.entries()) {
        for (const [k, v] of Object.entries(e)) {
          const a = actual[i]![k];
          if (k === 'last2') expect((a as { amount: number }[]).map((x) => x.amount)).toEqual((v as { amount: number }[]).map((x) => x.amount));
          else if (typeof v === 'number') expect(a).toBeCloseTo(v, 9);
          else expect(a).toEqual(v);
        }
      }
    }
  });

  it('builds a spine of every entity as of one time', async () => {
    const s = await buildTrainingSet(ctx.project, { spine: { entities: 'all', asOf: new Date(t / 1000).toISOString() }, features: ['n_life', 'hours_since'], definitions: defs, table: 'as_of_out', engine });
    expect(s.columns).toEqual(['user_id', 'as_of', 'n_life', 'hours_since']);
    const out = await ctx.project.offline.all('SELECT user_id, n_life, hours_since FROM as_of_out ORDER BY user_id');
    expect(out).toEqual([{ user_id: 1, n_life: 5, hours_since: 2 }, { user_id: 2, n_life: 1, hours_since: expect.any(Number) }]);
  });

  it('writes Parquet with one column per feature and a list of structs for last-k', async () => {
    const file = `${ctx.dir}/edge.parquet`;
    const s = await buildTrainingSet(ctx.project, { spine: { table: 'spine' }, features: 'edge', definitions: defs, out: file, engine });
    expect(s).toMatchObject({ rows: 4, file, table: null, set: { name: 'edge' } });
    const types = await ctx.project.offline.all<{ column_name: string; column_type: string }>(`DESCRIBE SELECT * FROM read_parquet('${file}')`);
    const byName = Object.fromEntries(types.map((c) => [c.column_name, c.column_type]));
    expect(byName).toMatchObject({ n_1d: 'BIGINT', sum_1d: 'DOUBLE', last2: 'STRUCT(ts TIMESTAMP, amount DOUBLE)[]', avg_1d: 'DOUBLE' });
    const [kv] = await ctx.project.offline.all<{ v: string }>(`SELECT decode(value) AS v FROM parquet_kv_metadata('${file}') WHERE decode(key) = 'kiln'`);
    expect(JSON.parse(kv!.v)).toEqual({ format: 'kiln.training-set@1', set: s.set, features: s.features, eventTimeBound: 'strict' });
  });
});
