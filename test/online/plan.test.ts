/** The online plan: what shares a state slot and what needs its own finisher. */
import { describe, expect, it } from 'vitest';
import { entity, eventSource, loadFeatureRegistry, percentile, sum, timeSinceLast } from '../../src/features/index.js';
import { buildPlan } from '../../src/online/index.js';
import { readPlanOf } from '../../src/online/engine/plan.js';
import { makeTile } from '../../src/online/types.js';

const user = entity('user', { key: 'user_id' });
const pay = eventSource('pay', { entity: user, timestamp: 'ts', columns: { amount: 'double' } });

describe('online plan', () => {
  it('keeps one state for features that differ only in finish-only parameters (percentile p, time unit)', () => {
    const defs = [
      user, pay,
      percentile(pay, 'amount', { name: 'p50_30d', window: '30d', p: 0.5 }), percentile(pay, 'amount', { name: 'p90_30d', window: '30d', p: 0.9 }),
      percentile(pay, 'amount', { name: 'p90_90d', window: '90d', p: 0.9 }),
      timeSinceLast(pay, { name: 'hours_since', unit: 'h' }), timeSinceLast(pay, { name: 'days_since', unit: 'd' }),
      sum(pay, 'amount', { name: 'spend_30d', window: '30d' }),
    ];
    const plan = buildPlan(loadFeatureRegistry(defs));
    const sp = plan.sources.get('pay')!;
    const ops = sp.slots.map((s) => (JSON.parse(s.key) as { op: string }).op).sort();
    expect(ops).toEqual(['percentile', 'sum', 'timeSinceLast']);
    const ref = (c: string) => plan.outputs.get(c)!;
    expect(ref('p50_30d').slot).toBe(ref('p90_90d').slot);
    expect(new Set(['p50_30d', 'p90_30d', 'p90_90d'].map((c) => ref(c).view)).size).toBe(2); // p90 over 30d and 90d: one finisher
    expect(ref('hours_since').slot).toBe(ref('days_since').slot);
    expect(ref('hours_since').view).not.toBe(ref('days_since').view);
    expect(sp.views[ref('p90_30d').view]!.slot).toBe(ref('p90_30d').slot);
  });

  it('builds rows as plain objects with the entity key first and columns in order, a column named constructor included', () => {
    const many = Array.from({ length: 300 }, (_, i) => sum(pay, 'amount', { name: `s${i}_${i % 7}d`, window: `${(i % 7) + 1}d` as '1d' }));
    const defs = [user, pay, ...many, sum(pay, 'amount', { name: 'constructor', window: '2d' })];
    const rp = readPlanOf(buildPlan(loadFeatureRegistry(defs)), defs.slice(2).map((f) => (f as { name: string }).name));
    const cells = Array.from({ length: rp.cellOf.size + 10 }, (_, i) => i * 0.5);
    const row = rp.row('u1', cells);
    expect(Object.getPrototypeOf(row)).toBe(Object.prototype);
    expect(Object.keys(row)).toEqual(['user_id', ...rp.columns]);
    rp.columns.forEach((c, i) => expect(row[c]).toBe(cells[rp.outputCells[i]!]));
    expect(row.user_id).toBe('u1');
    expect(JSON.parse(JSON.stringify(row))).toEqual({ ...row });
  });
});

describe('tile codec', () => {
  it("writes every slot's state compactly and reads it back, stubs as the Redis script expects them", async () => {
    const { count, countDistinct, first, lastK, last, mean } = await import('../../src/features/index.js');
    const { tileCodecOf } = await import('../../src/online/engine/plan.js');
    const { foldEvent } = await import('../../src/online/engine/plan.js');
    const { STUB_JSON, tileToJson } = await import('../../src/online/codec.js');
    const src = eventSource('ev', { entity: user, timestamp: 'ts', tiebreak: 'id', columns: { id: 'bigint', amount: 'double', cat: 'varchar' } });
    const defs = [
      user, src, count(src, { name: 'n', window: 'lifetime' }), countDistinct(src, 'cat', { name: 'dc', window: 'lifetime' }),
      first(src, 'amount', { name: 'f', window: 'lifetime' }), last(src, 'cat', { name: 'l', window: 'lifetime' }),
      lastK(src, { name: 'k3', k: 3, fields: ['amount', 'cat'] }), mean(src, 'amount', { name: 'm', window: 'lifetime' }),
      percentile(src, 'amount', { name: 'p', window: 'lifetime', p: 0.5 }),
    ];
    const sp = buildPlan(loadFeatureRegistry(defs)).sources.get('ev')!;
    const states: unknown[] = sp.slots.map(() => null);
    const all = sp.slots.map((_, i) => i);
    [[5, 1.5, 'a'], [3, -2, 'b'], [9, 4.25, 'a'], [9, 7, null]].forEach(([t, amount, cat], i) => {
      foldEvent(sp, states, all, { id: `u${i}`, time: (t as number) * 1e6, visibleAt: (t as number) * 1e6, late: 0, values: { id: i, amount: amount as number, cat: cat as string | null } });
    });
    const codec = tileCodecOf(sp);
    const tile = makeTile(states, 4);
    const text = codec.toJson(tile);
    expect(text.length).toBeLessThan(tileToJson(tile).length);
    const back = codec.fromJson(text);
    expect(back.count).toBe(4);
    sp.slots.forEach((slot, i) => expect(slot.agg.finish(back.states![i], { at: 1e7 })).toEqual(slot.agg.finish(states[i], { at: 1e7 })));
    expect(codec.toJson(makeTile(null, 2)).startsWith(STUB_JSON)).toBe(true);
    expect(codec.fromJson(codec.toJson(makeTile(null, 2, 5)))).toEqual({ states: null, count: 2, lastVisibleAt: 5 });
    // the plain JSON form (a store written before the plan's codec was known) still reads
    const plain = codec.fromJson(tileToJson(tile));
    sp.slots.forEach((slot, i) => expect(slot.agg.finish(plain.states![i], { at: 1e7 })).toEqual(slot.agg.finish(states[i], { at: 1e7 })));
  });
});

describe('sealing', () => {
  it("starts a series' first seal at the step of its first event: a new series seals nothing until it spans a step", async () => {
    const { upkeepOf } = await import('../../src/online/engine/tiles.js');
    const { DAY_US, TILE_LEVELS } = await import('../../src/online/types.js');
    const sp = buildPlan(loadFeatureRegistry([user, pay, sum(pay, 'amount', { name: 's30', window: '30d' })])).sources.get('pay')!;
    const step = TILE_LEVELS[1]!;
    const t0 = Math.floor(Date.UTC(2024, 0, 1) * 1000 / step) * step + DAY_US; // one day into a step
    const ev = (t: number) => ({ id: String(t), time: t, visibleAt: t, late: 0 as const, values: { amount: 1 } });
    const opts = { marginUs: DAY_US, denseDay: 4 };
    expect(upkeepOf(sp, null, [ev(t0), ev(t0 + DAY_US)], opts).seal).toBeNull();
    const spanning = upkeepOf(sp, null, [ev(t0), ev(t0 + step)], opts).seal!;
    expect(spanning.from).toBe(t0 - DAY_US);
    expect(spanning.to).toBe(t0 - DAY_US + step);
  });
});

describe('inner parts resolved by the backend', () => {
  it('are used only when they hold every tile, range, late range and base the engine would read', async () => {
    const { count, sum } = await import('../../src/features/index.js');
    const { innerRequest, innerSpec, resolvedMatches } = await import('../../src/online/engine/evaluate.js');
    const { DAY_US, floorTo, tileKey } = await import('../../src/online/types.js');
    const defs = [user, pay, sum(pay, 'amount', { name: 's7', window: '7d' }), sum(pay, 'amount', { name: 's30', window: '30d' }), count(pay, { name: 'n', window: 'lifetime' })];
    const sp = buildPlan(loadFeatureRegistry(defs)).sources.get('pay')!;
    const E = Date.UTC(2025, 5, 17, 13, 21) * 1000 + 7;
    const stale = sp.windows.map((_, i) => i);
    const spec = innerSpec(sp, stale, E);
    expect(spec.base).toBe(true);
    expect(spec.chains.map((c) => c.H)).toEqual([floorTo(E, 3600e6)]);
    expect(spec.chains[0]!.starts).toEqual(sp.windows.map((w) => (w.us === null ? null : floorTo(E, w.grain) - w.us + w.grain)));
    const meta = { version: 3, plan: sp.hash, rawFrom: null, lo: E - 100 * DAY_US, watermark: E, sealedTo: floorTo(E - 6 * DAY_US, 4 * DAY_US) };
    const plan = innerRequest({ source: 'pay', entity: '1' }, sp, meta, stale, E);
    const r = plan.request;
    const fields = (r.tiles ?? []).flatMap((t) => Array.from({ length: t.to - t.from }, (_, i) => tileKey(t.level, t.from + i)));
    expect(fields.length).toBeGreaterThan(5);
    const data = { meta, raw: [], late: [], tiles: new Map(), base: null, tilesMissing: false };
    const exact = { fields, raw: r.raw ?? [], late: r.late ?? null, base: r.base === true, data };
    expect(resolvedMatches(plan, exact)).toBe(true);
    expect(resolvedMatches(plan, { ...exact, fields: [...fields, '0:1'] })).toBe(true); // more than needed is harmless
    expect(resolvedMatches(plan, { ...exact, fields: fields.slice(1) })).toBe(false);
    expect(resolvedMatches(plan, { ...exact, base: false })).toBe(false);
    expect(resolvedMatches(plan, { ...exact, late: null })).toBe(false);
    expect(resolvedMatches(plan, { ...exact, raw: exact.raw.map(([a, b], i) => [a, i === 0 ? b + 1 : b] as const) })).toBe(false);
    expect(resolvedMatches(plan, { ...exact, raw: exact.raw.slice(1) })).toBe(false);
  });
});

describe('middle states', () => {
  it("stand for exactly a link's 16- and 64-day tiles: with one, only 4-day tiles and finer cover its ends", async () => {
    const { sum } = await import('../../src/features/index.js');
    const { innerRequest } = await import('../../src/online/engine/evaluate.js');
    const { DAY_US, MIDDLE_LEVEL, TILE_LEVELS, floorTo, middleKey } = await import('../../src/online/types.js');
    const defs = [user, pay, sum(pay, 'amount', { name: 's30', window: '30d' }), sum(pay, 'amount', { name: 's365', window: '365d' })];
    const sp = buildPlan(loadFeatureRegistry(defs)).sources.get('pay')!;
    const E = Date.UTC(2025, 5, 17, 13, 21) * 1000 + 7;
    const stale = sp.windows.map((_, i) => i);
    const meta = { version: 3, plan: sp.hash, rawFrom: null, lo: E - 400 * DAY_US, watermark: E, sealedTo: floorTo(E - 6 * DAY_US, 4 * DAY_US), coarseEpoch: 2 };
    const plain = innerRequest({ source: 'pay', entity: '1' }, sp, meta, stale, E);
    const long = plain.chains[0]!.links.find((l) => sp.windows[l.index]!.us === 365 * DAY_US)!;
    const W = TILE_LEVELS[MIDDLE_LEVEL]!;
    const c0 = Math.ceil(long.from / W);
    const c1 = Math.floor(Math.min(long.to, meta.sealedTo) / W);
    expect(long.middleField).toBe(middleKey(long.index, c0, c1, 2));
    // without a middle, the link's tiles of 16 days and more tile [c0, c1) exactly
    const coarse = long.cover.tiles.filter((t) => t.level >= MIDDLE_LEVEL);
    expect(coarse.reduce((n, t) => n + (t.to - t.from) * (TILE_LEVELS[t.level]! / W), 0)).toBe(c1 - c0);
    expect(Math.min(...coarse.map((t) => t.from * TILE_LEVELS[t.level]!))).toBe(c0 * W);
    const withMiddle = innerRequest({ source: 'pay', entity: '1' }, sp, meta, stale, E, new Set([long.middleField!]));
    const link = withMiddle.chains[0]!.links.find((l) => l.index === long.index)!;
    expect(link.middle).toBe(true);
    expect(link.cover.tiles.every((t) => t.level < MIDDLE_LEVEL)).toBe(true);
    const span = (c: typeof link.cover): number => c.tiles.reduce((n, t) => n + (t.to - t.from) * TILE_LEVELS[t.level]!, 0) + c.raw.reduce((n, [a, b]) => n + b - a, 0);
    expect(span(link.cover) + (c1 - c0) * W).toBe(span(long.cover)); // the ends and the middle cover what the tiles did
    // another epoch is another key: a middle kept before an old event changed a sealed tile is not read
    const stale2 = innerRequest({ source: 'pay', entity: '1' }, sp, { ...meta, coarseEpoch: 3 }, stale, E, new Set([long.middleField!]));
    expect(stale2.chains[0]!.links.find((l) => l.index === long.index)!.middle).toBe(false);
  });
});
