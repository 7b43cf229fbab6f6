/**
 * Parity over long windows: a stream of fourteen months read with windows of 30, 100 and 200 days and
 * lifetime, so that every tile level (day, 4-, 16- and 64-day) is sealed, stubbed, compacted and read. The
 * online store, replayed in arrival order, equals the offline training set and the naive evaluator to rtol
 * 1e-9, on both backends, with the default density and with every day a stub.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Rng } from '../../src/core/rng.js';
import {
  count, countDistinct, entity, eventSource, featureSet, first, last, lastK, max, naiveEvaluate, percentile, stddev, sum, timeSinceLast, type AnyFeatureDef,
  type WindowString,
} from '../../src/features/index.js';
import { buildTrainingSet } from '../../src/features/training/index.js';
import { OnlineFeatureStore, TILE_LEVELS, isoMicros, type OnlineRow } from '../../src/online/index.js';
import { tempProject } from '../helpers.js';
import { createTable } from '../features/helpers.js';
import { DAY, HOUR, T0, asPushed, embeddedBackend, expectParity, expectSameTypes, onlineStream, redisBackend, redisMode, type BackendFactory } from './helpers.js';

const acct = entity('acct', { key: 'k' });
const ev = eventSource('ev', { entity: acct, timestamp: 'ts', availableAt: 'av', tiebreak: 'id', columns: { amount: 'double', qty: 'bigint', cat: 'varchar', flag: 'boolean', id: 'bigint' } });
const WINDOWS: WindowString[] = ['30d', '100d', '200d', 'lifetime'];
const features: AnyFeatureDef[] = WINDOWS.flatMap((window) => {
  const w = window.replace(/\W/g, '');
  return [
    count(ev, { name: `n_${w}`, window }), sum(ev, 'amount', { name: `sum_${w}`, window }), stddev(ev, 'amount', { name: `sd_${w}`, window }),
    max(ev, 'qty', { name: `maxq_${w}`, window }), percentile(ev, 'amount', { name: `p70_${w}`, window, p: 0.7 }),
    countDistinct(ev, 'qty', { name: `dq_${w}`, window }), first(ev, 'amount', { name: `first_${w}`, window }), last(ev, 'cat', { name: `last_${w}`, window }),
    sum(ev, 'amount', { name: `by_cat_${w}`, window, by: { column: 'cat', values: ['a', 'b', 'c'] } }),
  ];
});
features.push(lastK(ev, { name: 'last4', k: 4, fields: ['qty', 'cat'], window: '100d' }), timeSinceLast(ev, { name: 'since', unit: 'h' }));
const defs = [acct, ev, ...features, featureSet('long', features)];

function parity(name: string, backend: BackendFactory, skip: () => Promise<boolean>): void {
  describe(`online equals offline over long windows: ${name}`, () => {
    const data = onlineStream(41, { days: 430, events: 1500, entities: 6, spine: 90, windowsUs: [30 * DAY, 100 * DAY, 200 * DAY] });
    let ctx: Awaited<ReturnType<typeof tempProject>>;
    let offline: Record<string, unknown>[] = [];
    let skipped = false;
    beforeAll(async () => {
      skipped = await skip();
      if (skipped) return;
      ctx = await tempProject();
      await createTable(ctx.project, 'ev', { k: 'BIGINT', ts: 'TIMESTAMP', av: 'TIMESTAMP', id: 'BIGINT', amount: 'DOUBLE', qty: 'BIGINT', cat: 'VARCHAR', flag: 'BOOLEAN' }, data.events as never);
      await createTable(ctx.project, 'spine', { k: 'BIGINT', t: 'TIMESTAMP' }, data.spine as never);
      await buildTrainingSet(ctx.project, { spine: { table: 'spine', timestamp: 't' }, features: 'long', definitions: defs, table: 'out' });
      offline = await ctx.project.offline.all('SELECT * FROM out');
    });
    afterAll(() => { if (!skipped) ctx.cleanup(); });

    for (const denseDay of [undefined, 1000]) {
      it(`replaying fourteen months in arrival order${denseDay ? `, denseDay ${denseDay}` : ''}`, async (t) => {
        if (skipped) { t.skip(); return; }
        const rng = new Rng(5);
        const rows = data.events.map(asPushed).map((r, i) => ({ r, a: Math.max(data.events[i]!.ts, data.events[i]!.av ?? -Infinity) + rng.int(3 * HOUR) }))
          .sort((x, y) => x.a - y.a);
        const h = await backend();
        try {
          const online = await OnlineFeatureStore.open(h.store, defs, denseDay ? { denseDay } : {});
          const cold = await OnlineFeatureStore.open(h.store, defs, { cacheSeries: 0, ...(denseDay ? { denseDay } : {}) }); // every read merges tiles
          const got: OnlineRow[] = [];
          const coldGot: OnlineRow[] = [];
          let next = 0;
          for (const { k, t: at } of data.spine) {
            const start = next;
            while (next < rows.length && rows[next]!.a < at + 3 * HOUR) next++;
            if (next > start) await online.push({ source: 'ev' }, rows.slice(start, next).map((x) => x.r));
            got.push((await online.getOnlineFeatures([k], 'long', { asOf: isoMicros(at) }))[0]!);
            coldGot.push((await cold.getOnlineFeatures([k], 'long', { asOf: isoMicros(at) }))[0]!);
          }
          const where = (i: number): string => `k=${data.spine[i]!.k} t=${isoMicros(data.spine[i]!.t)}`;
          expectParity(offline, got, where);
          expectParity(offline, coldGot, where);
          expectSameTypes(offline, got, where);
          expectSameTypes(offline, coldGot, where);
          // Redis resolved every first read (of a series written by then) in Lua, as the engine would
          if (h.store.capabilities.resolvesInner) expect(cold.stats.innerReread).toBe(0);
          // An old on-time event lands in sealed 16- and 64-day periods after readers kept middle states over
          // them: the next first read must not use those (the coarse epoch moved on).
          const { k: lastK4, t: lastAt } = data.spine[data.spine.length - 1]!;
          for (let i = 0; i < 2; i++) {
            await cold.getOnlineFeatures([lastK4], 'long', { asOf: isoMicros(lastAt) });
            await new Promise((resolve) => setTimeout(resolve, 20)); // middles are written back without waiting
          }
          const usedBefore = cold.stats.middlesRead;
          await cold.getOnlineFeatures([lastK4], 'long', { asOf: isoMicros(lastAt) });
          if (h.store.capabilities.resolvesInner) expect(cold.stats.middlesRead).toBeGreaterThan(usedBefore);
          // inside the sealed 16-day periods the longest links read (the lifetime one's: from rawFrom to 200 days back)
          const m = (await h.store.read([{ key: { source: 'ev', entity: String(lastK4) } }]))[0]!.meta!;
          const oldTs = Math.floor(Math.min(lastAt - 200 * DAY, m.sealedTo!) / (16 * DAY)) * 16 * DAY - 20 * DAY + 777;
          expect(oldTs).toBeGreaterThan(m.rawFrom! + 16 * DAY);
          const oldEvent = { ...data.events.find((e) => e.k === lastK4)!, ts: oldTs, av: null, id: 10_000_001, amount: 12345.5 };
          await online.push({ source: 'ev' }, [asPushed(oldEvent, 1)]);
          const [after] = await cold.getOnlineFeatures([lastK4], 'long', { asOf: isoMicros(lastAt) });
          const naiveAfter = naiveEvaluate(defs, { ev: [...data.events, oldEvent] as never }, [{ key: lastK4, time: lastAt }], { features: 'long' });
          expectParity([after!], naiveAfter, () => 'after an old event in a sealed period');
          expect(after!.sum_lifetime).not.toEqual(got[got.length - 1]!.sum_lifetime);
          expect(cold.stats.innerResolved > data.spine.length / 2).toBe(h.store.capabilities.resolvesInner === true);
          const naive = naiveEvaluate(defs, { ev: data.events as never }, data.spine.map((p) => ({ key: p.k, time: p.t })), { features: 'long' });
          expectParity(got, naive, where);
          // every level was sealed: the coarsest tiles exist (dense or stubs) and compaction moved rawFrom
          const top = TILE_LEVELS.length - 1;
          const w = TILE_LEVELS[top]!;
          const [d] = await h.store.read([{ key: { source: 'ev', entity: '0' }, tiles: [{ level: top, from: Math.floor(T0 / w), to: Math.ceil((T0 + 430 * DAY) / w) }] }]);
          expect(d!.meta!.sealedTo).not.toBeNull();
          expect(d!.meta!.rawFrom).not.toBeNull();
          expect(d!.tiles.size).toBeGreaterThan(0);
        } finally {
          await h.cleanup();
        }
      });
    }
  });
}

parity('sqlite', embeddedBackend, async () => false);
parity('redis', redisBackend, async () => (await redisMode()) === 'skip');
