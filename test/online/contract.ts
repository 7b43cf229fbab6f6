/**
 * The one contract every online backend passes: the storage interface itself (ranges, duplicates, late
 * index, pruning, reset, capabilities) and the engine's behaviour over it (window expiry as time passes,
 * late events, the inclusive bound, restarts, refusals). Run by backends.test.ts against SQLite and Redis.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isKilnError } from '../../src/core/errors.js';
import { count, derived, div, entity, eventSource, featureSet, last, max, sum, timeSinceLast } from '../../src/features/index.js';
import { OnlineFeatureStore, TILE_LEVELS, isoMicros, type OnlineStore, type RawEvent, type SeriesKey, type Tile } from '../../src/online/index.js';
import { makeTile } from '../../src/online/types.js';
import { describeEntitiesAndKeys } from './contract-keys.js';
import { DAY, HOUR, MINUTE, T0, type BackendFactory, type BackendHandle } from './helpers.js';

const key = (entity: string, source = 'pay'): SeriesKey => ({ source, entity });
const ev = (id: string, time: number, extra: Partial<RawEvent> = {}): RawEvent => ({ id, time, visibleAt: time, late: 0, values: { amount: 1 }, ...extra });
const meta = (version: number) => ({ version, plan: 'p', rawFrom: null, lo: T0, watermark: T0 + DAY, sealedTo: null });
const tile = (n: number): Tile => makeTile([n, { x: [n] }], n);

const user = entity('user', { key: 'user_id' });
const pay = eventSource('pay', { entity: user, timestamp: 'ts', availableAt: 'av', columns: { amount: 'double', cat: 'varchar' } });
const n1h = count(pay, { name: 'n_1h', window: '1h' });
const n1d = count(pay, { name: 'n_1d', window: '1d' });
const sum1d = sum(pay, 'amount', { name: 'sum_1d', window: '1d' });
const max7d = max(pay, 'amount', { name: 'max_7d', window: '7d' });
const lastCat = last(pay, 'cat', { name: 'last_cat', window: 'lifetime' });
const since = timeSinceLast(pay, { name: 'hours_since', unit: 'h' });
const avg1d = derived('avg_1d', div(sum1d, n1d));
const nAll = count(pay, { name: 'n_all', window: 'lifetime' });
const FEATURES = [n1h, n1d, sum1d, max7d, lastCat, since, avg1d, nAll];
export const CONTRACT_DEFS = [user, pay, ...FEATURES, featureSet('basic', FEATURES)];
const at = (us: number): string => isoMicros(us);

export function describeOnlineStore(name: string, factory: BackendFactory, opts: { skip?: () => Promise<boolean> } = {}): void {
  describe(`online store contract: ${name}`, () => {
    let h: BackendHandle;
    let skipped = false;
    beforeEach(async (ctx) => {
      skipped = (await opts.skip?.()) ?? false;
      if (skipped) { ctx.skip(); return; }
      h = await factory();
    });
    afterEach(async () => { if (!skipped) await h.cleanup(); });
    const store = (): OnlineStore => h.store;

    it('declares its capabilities', () => {
      const c = store().capabilities;
      expect(['embedded', 'redis']).toContain(c.name);
      for (const k of ['persistent', 'shared', 'durableOnWrite', 'sharesObjects', 'tilesDurable'] as const) expect(typeof c[k]).toBe('boolean');
    });

    it('reads an absent series as empty', async () => {
      const [d] = await store().read([{ key: key('nobody'), raw: [[T0, T0 + DAY]], late: [T0, T0 + DAY], tiles: [{ level: 0, from: 0, to: 5 }], base: true }]);
      expect(d).toEqual({ meta: null, raw: [[]], late: [], tiles: new Map(), base: null, tilesMissing: false });
    });

    it("resolves a first read's inner parts against the meta it reads, exactly as the engine would (resolvesInner)", async () => {
      const { innerRequest, innerSpec, resolvedMatches } = await import('../../src/online/engine/evaluate.js');
      const E = T0 + 200 * DAY + 5 * HOUR + 17;
      // the windows of a plan: 7 d and 30 d by the hour, and lifetime
      const sp = { windows: [{ us: 7 * DAY, grain: HOUR }, { us: 30 * DAY, grain: HOUR }, { us: null, grain: HOUR }] } as unknown as Parameters<typeof innerSpec>[0];
      const stale = [0, 1, 2];
      const spec = innerSpec(sp, stale, E);
      const m = { version: 2, plan: 'p', rawFrom: T0 + 100 * DAY + 3, lo: T0 + 90 * DAY + 11, watermark: E, sealedTo: Math.floor((E - 6 * DAY) / (4 * DAY)) * 4 * DAY };
      const tiles: { level: number; index: number; tile: Tile }[] = [];
      for (const [level, width] of TILE_LEVELS.entries()) {
        for (let i = Math.floor((T0 + 90 * DAY) / width); i * width < E; i++) tiles.push({ level, index: i, tile: i % 3 === 0 && level < 2 ? makeTile(null, 2) : tile(level * 1000 + i) });
      }
      const raw: RawEvent[] = [];
      for (let t = T0 + 95 * DAY + 7; t < E; t += 9 * HOUR + 13) raw.push(ev(`e${t}`, t, t % 5 === 0 ? { late: 1, visibleAt: t + 2 * HOUR } : {}));
      await store().write([{ key: key('r'), meta: m, tiles, raw }]);
      const [absent, d] = await store().read([{ key: key('nobody'), raw: [[E - HOUR, E]], inner: spec }, { key: key('r'), raw: [[E - HOUR, E]], inner: spec }]);
      expect(absent!.inner).toBeUndefined();
      if (!store().capabilities.resolvesInner) { expect(d!.inner).toBeUndefined(); return; }
      const plan = innerRequest(key('r'), sp, d!.meta!, stale, E);
      expect(plan.request.tiles!.length).toBeGreaterThan(3);
      expect(resolvedMatches(plan, d!.inner!)).toBe(true);
      const [direct] = await store().read([plan.request]);
      expect(d!.inner!.data.stubRaw!.length).toBeGreaterThan(0);
      expect(d!.inner!.data).toEqual(direct);
    });

    it('round-trips meta, tiles, raw events by [from, to), late events, duplicates and the base, in batches', async () => {
      const late = ev('c', T0 + 2 * HOUR, { late: 1, visibleAt: T0 + DAY });
      await store().write([
        { key: key('1'), meta: meta(1), tiles: [{ level: 0, index: 10, tile: tile(2) }, { level: 1, index: 3, tile: tile(5) }], raw: [ev('a', T0 + HOUR), ev('b', T0 + HOUR), late, ev('d', T0 + 3 * HOUR)], base: tile(9) },
        { key: key('2'), meta: meta(1), tiles: [], raw: [ev('z', T0)] },
      ]);
      const [one, two] = await store().read([
        { key: key('1'), raw: [[T0 + HOUR, T0 + 3 * HOUR], [T0, T0 + HOUR]], late: [T0, T0 + 3 * HOUR], tiles: [{ level: 0, from: 0, to: 11 }, { level: 1, from: 4, to: 9 }], base: true },
        { key: key('2'), raw: [[T0, T0 + 1]] },
      ]);
      expect(one!.meta).toEqual(meta(1));
      expect(one!.raw[0]!.map((e) => e.id).sort()).toEqual(['a', 'b', 'c']); // duplicates kept; the end is exclusive
      expect(one!.raw[1]).toEqual([]);
      expect(one!.late).toEqual([late]);
      expect([...one!.tiles.entries()]).toEqual([['0:10', tile(2)]]);
      expect(one!.base).toEqual(tile(9));
      expect(two!.raw[0]!.map((e) => e.id)).toEqual(['z']);
      const [noBase] = await store().read([{ key: key('1') }]);
      expect(noBase!.base).toBeNull();
      expect(noBase!.raw).toEqual([]);
    });

    it('returns the raw events of stub tiles when asked (stubRaw), late ones included, by time', async () => {
      const [w0, w1] = TILE_LEVELS as [number, number];
      const d = Math.floor(T0 / w0);
      const p = Math.floor(T0 / w1) + 2; // a coarse period after day d
      const stub = (n: number): Tile => makeTile(null, n);
      const lateOne = ev('l', d * w0 + 3 * HOUR, { late: 1, visibleAt: d * w0 + 2 * DAY });
      await store().write([{
        key: key('1'), meta: meta(1),
        tiles: [{ level: 0, index: d, tile: stub(2) }, { level: 0, index: d + 1, tile: tile(4) }, { level: 1, index: p, tile: stub(1) }, { level: 1, index: p + 1, tile: tile(7) }],
        raw: [ev('b', d * w0 + 5 * HOUR), ev('a', d * w0 + HOUR), lateOne, ev('x', (d + 1) * w0 + HOUR), ev('c', p * w1 + DAY), ev('y', (p + 1) * w1 + HOUR), ev('z', (p - 1) * w1)],
      }]);
      const tiles = [{ level: 0, from: d, to: d + 2 }, { level: 1, from: p, to: p + 2 }];
      const [asked, plain] = await store().read([{ key: key('1'), tiles, stubRaw: true }, { key: key('1'), tiles }]);
      expect(asked!.stubRaw!.map((e) => e.id)).toEqual(['a', 'l', 'b', 'c']);
      expect(asked!.tiles.get(`0:${d}`)).toEqual(stub(2));
      expect(asked!.tiles.get(`1:${p + 1}`)).toEqual(tile(7));
      expect(plain!.stubRaw).toBeUndefined();
    });

    it('prunes raw events, late events and tiles before a time', async () => {
      const [w0, w1] = TILE_LEVELS as [number, number];
      const cut = T0 + DAY;
      const kept = Math.ceil(cut / w1); // a coarse tile starting after the cut
      await store().write([{ key: key('1'), meta: meta(1), tiles: [{ level: 0, index: T0 / w0, tile: tile(1) }, { level: 1, index: kept, tile: tile(2) }], raw: [ev('a', T0), ev('b', T0 + DAY, { late: 1, visibleAt: T0 + 2 * DAY }), ev('c', T0 + 2 * DAY)] }]);
      await store().write([{ key: key('1'), meta: meta(2), pruneBefore: cut, tiles: [], raw: [] }]);
      const [d] = await store().read([{ key: key('1'), raw: [[-Infinity, Infinity]], late: [-Infinity, Infinity], tiles: [{ level: 0, from: T0 / w0 - 10, to: T0 / w0 + 100 }, { level: 1, from: kept - 5, to: kept + 5 }] }]);
      expect(d!.raw[0]!.map((e) => e.id)).toEqual(['b', 'c']);
      expect(d!.late.map((e) => e.id)).toEqual(['b']);
      expect([...d!.tiles.keys()]).toEqual([`1:${kept}`]);
      expect(d!.meta!.version).toBe(2);
    });

    it('resets the series of some sources and keeps a manifest', async () => {
      await store().write([{ key: key('1'), meta: meta(1), tiles: [], raw: [ev('a', T0)] }, { key: key('1', 'other'), meta: meta(1), tiles: [], raw: [ev('b', T0)] }]);
      await store().reset(['pay'], { features: '["x"]' });
      const [gone, kept] = await store().read([{ key: key('1') }, { key: key('1', 'other'), raw: [[T0, T0 + 1]] }]);
      expect(gone!.meta).toBeNull();
      expect(kept!.raw[0]!.map((e) => e.id)).toEqual(['b']);
      expect(await store().manifest()).toEqual({ features: '["x"]' });
    });

    it('keeps data over a restart (after flush when it writes behind); tiles too, or says they are missing', async () => {
      await store().write([{ key: key('1'), meta: meta(1), tiles: [{ level: 1, index: 7, tile: tile(3) }], raw: [ev('a', T0)], base: tile(4) }]);
      if (!store().capabilities.durableOnWrite) await store().flush();
      if (!store().capabilities.persistent) return;
      const reopened = await h.reopen();
      const request = { key: key('1'), raw: [[T0, T0 + 1]] as [number, number][], tiles: [{ level: 1, from: 7, to: 8 }], base: true };
      const [d] = await reopened.read([request]);
      expect(d!.meta).toEqual(meta(1));
      expect(d!.raw[0]!.map((e) => e.id)).toEqual(['a']);
      expect(d!.base).toEqual(tile(4));
      if (reopened.capabilities.tilesDurable) {
        expect(d!.tiles.get('1:7')).toEqual(tile(3));
        expect(d!.tilesMissing).toBe(false);
        return;
      }
      expect(d!.tilesMissing).toBe(true);
      expect(d!.tiles.size).toBe(0);
      await reopened.write([{ key: key('1'), meta: meta(1), tiles: [{ level: 1, index: 7, tile: tile(6) }], raw: [], rebuiltTiles: true }]);
      await reopened.write([{ key: key('1'), meta: meta(9), tiles: [{ level: 1, index: 7, tile: tile(8) }], raw: [], rebuiltTiles: true }]); // too late: ignored
      const [again] = await reopened.read([request]);
      expect(again!.tilesMissing).toBe(false);
      expect(again!.tiles.get('1:7')).toEqual(tile(6));
      expect(again!.meta).toEqual(meta(1));
    });

    it('ignores a rebuild of tiles the series has', async () => {
      await store().write([{ key: key('1'), meta: meta(1), tiles: [{ level: 1, index: 7, tile: tile(3) }], raw: [] }]);
      await store().write([{ key: key('1'), meta: meta(5), tiles: [{ level: 1, index: 7, tile: tile(8) }], raw: [], rebuiltTiles: true }]);
      const [d] = await store().read([{ key: key('1'), tiles: [{ level: 1, from: 7, to: 8 }] }]);
      expect(d!.tiles.get('1:7')).toEqual(tile(3));
      expect(d!.meta).toEqual(meta(1));
    });

    it('hands out copies unless it declares that it shares its objects', async () => {
      await store().write([{ key: key('1'), meta: meta(1), tiles: [{ level: 1, index: 7, tile: tile(3) }], raw: [] }]);
      const [d] = await store().read([{ key: key('1'), tiles: [{ level: 1, from: 7, to: 8 }] }]);
      d!.tiles.get('1:7')!.count = 99;
      const [again] = await store().read([{ key: key('1'), tiles: [{ level: 1, from: 7, to: 8 }] }]);
      expect(again!.tiles.get('1:7')!.count).toBe(store().capabilities.sharesObjects ? 99 : 3);
    });

    describe('unknown entities and event keys', () => describeEntitiesAndKeys(() => h));

    describe('engine over this backend', () => {
      const events = [
        { user_id: 1, ts: at(T0 + 10 * HOUR), amount: 10, cat: 'a' },
        { user_id: 1, ts: at(T0 + 10 * HOUR + 30 * MINUTE), amount: 20, cat: 'b' },
        { user_id: 1, ts: at(T0 + DAY + 2 * HOUR), amount: 5, cat: 'c' },
        { user_id: 1, ts: at(T0 + DAY + 3 * HOUR), av: at(T0 + 2 * DAY + HOUR), amount: 100, cat: 'late' }, // known a day later
        { user_id: 2, ts: (T0 + 5 * HOUR) / 1000, amount: 7, cat: 'a' }, // epoch ms
      ];
      const read = async (online: OnlineFeatureStore, t: number, inclusive = false): Promise<Record<string, unknown>> =>
        (await online.getOnlineFeatures([1], 'basic', { asOf: at(t), eventTimeBound: inclusive ? 'inclusive' : 'strict' }))[0]!;

      it('slides windows exactly as time passes, shows late events once available, and honours the inclusive bound', async () => {
        const online = await OnlineFeatureStore.open(store(), CONTRACT_DEFS);
        const s = await online.push({ source: 'pay' }, events);
        expect(s).toMatchObject({ events: 5, skipped: 0, series: 2 });
        expect(await read(online, T0 + 10 * HOUR + 30 * MINUTE)).toMatchObject({ user_id: 1, n_1h: 1, sum_1d: 10, avg_1d: 10, last_cat: 'a' });
        expect(await read(online, T0 + 10 * HOUR + 30 * MINUTE, true)).toMatchObject({ n_1h: 2, sum_1d: 30, last_cat: 'b' });
        expect(await read(online, T0 + 11 * HOUR)).toMatchObject({ n_1h: 2, hours_since: 0.5 });
        expect(await read(online, T0 + 11 * HOUR + 1)).toMatchObject({ n_1h: 1 }); // the 10:00 event left the hour
        expect(await read(online, T0 + DAY + 10 * HOUR)).toMatchObject({ n_1d: 3, sum_1d: 35 });
        expect(await read(online, T0 + DAY + 10 * HOUR + 1)).toMatchObject({ n_1d: 2, sum_1d: 25 });
        expect(await read(online, T0 + 2 * DAY + HOUR)).toMatchObject({ n_1d: 1, sum_1d: 5, max_7d: 20, last_cat: 'c' }); // late event not yet available
        expect(await read(online, T0 + 2 * DAY + HOUR + 1)).toMatchObject({ n_1d: 2, sum_1d: 105, max_7d: 100, last_cat: 'late' });
        expect(await read(online, T0 + 9 * DAY)).toMatchObject({ n_1d: 0, sum_1d: 0, avg_1d: null, max_7d: null, last_cat: 'late', hours_since: 8 * 24 - 3 });
        const [two, nobody] = await online.getOnlineFeatures([2, 'nobody'], ['sum_1d', 'last_cat'], { asOf: at(T0 + 6 * HOUR) });
        expect(two).toEqual({ user_id: 2, sum_1d: 7, last_cat: 'a' });
        expect(nobody).toEqual({ user_id: 'nobody', sum_1d: 0, last_cat: null });
      });

      it('gives the same values with and without the cache of partial aggregates, while pushing', async () => {
        const cached = await OnlineFeatureStore.open(store(), CONTRACT_DEFS);
        const uncached = await OnlineFeatureStore.open(store(), CONTRACT_DEFS, { cacheSeries: 0 });
        for (const [i, e] of events.entries()) {
          await cached.push({ source: 'pay' }, [e]);
          for (const t of [T0 + 11 * HOUR, T0 + DAY + 10 * HOUR, T0 + 2 * DAY + 2 * HOUR, T0 + 3 * DAY + i * MINUTE]) {
            expect(await read(cached, t)).toEqual(await read(uncached, t));
          }
        }
      });

      it('keeps values over a restart', async () => {
        const online = await OnlineFeatureStore.open(store(), CONTRACT_DEFS);
        await online.push({ source: 'pay' }, events);
        const before = await read(online, T0 + 2 * DAY + 2 * HOUR);
        await online.flush();
        if (!store().capabilities.persistent) return;
        const again = await OnlineFeatureStore.open(await h.reopen(), CONTRACT_DEFS);
        expect(await read(again, T0 + 2 * DAY + 2 * HOUR)).toEqual(before);
      });

      it('compacts old events and refuses as-of times it cannot answer exactly', async () => {
        const online = await OnlineFeatureStore.open(store(), CONTRACT_DEFS, { retentionMarginMs: 0 });
        await online.push({ source: 'pay' }, events);
        await online.push({ source: 'pay' }, [{ user_id: 1, ts: at(T0 + 30 * DAY), amount: 1, cat: 'z' }]);
        const [d] = await store().read([{ key: key('1'), raw: [[-Infinity, Infinity]], base: true }]);
        expect(d!.meta!.rawFrom).toBe(T0 + 23 * DAY); // the 7d window back from the watermark, day-aligned
        expect(d!.raw[0]!.length).toBe(1);
        expect(d!.base!.count).toBe(4);
        expect(await read(online, T0 + 30 * DAY + 1)).toMatchObject({ n_1d: 1, last_cat: 'z', max_7d: 1 });
        const err = await read(online, T0 + 29 * DAY).catch((e: unknown) => e);
        expect(isKilnError(err, 'ASOF_OUT_OF_RANGE')).toBe(true);
        expect((err as Error).message).toMatch(/too far back for the 7d window of entity 1 in source 'pay'.*offline store/);
      });

      it('seals coarse tiles as time passes, and an old on-time event still reaches them', async () => {
        const online = await OnlineFeatureStore.open(store(), CONTRACT_DEFS, { retentionMarginMs: 100 * 86_400_000 });
        await online.push({ source: 'pay' }, events);
        await online.push({ source: 'pay' }, [{ user_id: 1, ts: at(T0 + 12 * DAY), amount: 1, cat: 'y' }]);
        await online.push({ source: 'pay' }, [{ user_id: 1, ts: at(T0 + 40 * DAY), amount: 1, cat: 'z' }]);
        const [d] = await store().read([{ key: key('1') }]);
        const step = TILE_LEVELS[1]!; // coarse periods are sealed as they end, in steps of the finest coarse width
        expect(d!.meta!.sealedTo).toBe(Math.floor((T0 + 40 * DAY) / step) * step);
        expect(await read(online, T0 + 41 * DAY)).toMatchObject({ n_all: 6, last_cat: 'z' });
        await online.push({ source: 'pay' }, [{ user_id: 1, ts: at(T0 + 10 * DAY), amount: 1, cat: 'old' }]); // in the sealed period of T0 + 12d
        expect(await read(online, T0 + 41 * DAY)).toMatchObject({ n_all: 7, last_cat: 'z' });
        const fresh = await OnlineFeatureStore.open(store(), CONTRACT_DEFS, { cacheSeries: 0 });
        expect(await read(fresh, T0 + 41 * DAY)).toMatchObject({ n_all: 7 });
        // A later push seals the 4-day periods that ended since, before their 16-day period is over.
        const coarsest = TILE_LEVELS[TILE_LEVELS.length - 1]!;
        const later = Math.ceil((T0 + 42 * DAY) / coarsest) * coarsest + 2 * step + DAY; // two steps into a 16-day period
        await online.push({ source: 'pay' }, [{ user_id: 1, ts: at(later - 2 * step + HOUR), amount: 1, cat: 'q' }, { user_id: 1, ts: at(later), amount: 1, cat: 'r' }]);
        const [e] = await store().read([{ key: key('1'), tiles: [{ level: 1, from: 0, to: Math.ceil(later / step) }, { level: 2, from: 0, to: Math.ceil(later / coarsest) }] }]);
        expect(e!.meta!.sealedTo).toBe(Math.floor(later / step) * step);
        expect(e!.tiles.has(`1:${Math.floor((later - 2 * step) / step)}`)).toBe(true);
        expect(e!.tiles.has(`2:${Math.floor(later / coarsest)}`)).toBe(false);
        expect(await read(online, later + HOUR)).toMatchObject({ n_all: 9, last_cat: 'r' });
        expect(await read(fresh, later + HOUR)).toMatchObject({ n_all: 9, last_cat: 'r' });
      });

      it('refuses series written for another feature plan', async () => {
        const online = await OnlineFeatureStore.open(store(), CONTRACT_DEFS);
        await online.push({ source: 'pay' }, events);
        const fewer = await OnlineFeatureStore.open(store(), CONTRACT_DEFS, { features: ['n_1h'] });
        await expect(fewer.getOnlineFeatures([1], ['n_1h'])).rejects.toThrow(/written for another feature plan.*kiln online materialize/);
        await expect(fewer.push({ source: 'pay' }, events)).rejects.toThrow(/another feature plan/);
      });
    });
  });
}
