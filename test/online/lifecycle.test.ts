/**
 * The engine's life cycle over a backend: background write-backs finish before `close()` resolves, and a
 * store written by a newer format is refused with STORE_TOO_NEW.
 */
import { describe, expect, it } from 'vitest';
import { isKilnError } from '../../src/core/errors.js';
import { count, entity, eventSource, featureSet, sum } from '../../src/features/index.js';
import { ONLINE_FORMAT, OnlineFeatureStore, RedisOnlineStore, isoMicros } from '../../src/online/index.js';
import { DAY, HOUR, REDIS_URL, T0, embeddedBackend, redisBackend, redisMode } from './helpers.js';

const user = entity('user', { key: 'user_id' });
const pay = eventSource('pay', { entity: user, timestamp: 'ts', columns: { amount: 'double' } });
const FEATURES = [count(pay, { name: 'n_200d', window: '200d' }), sum(pay, 'amount', { name: 'sum_200d', window: '200d' })];
const DEFS = [user, pay, ...FEATURES, featureSet('long', FEATURES)];
/** A year of daily events for user 1: every tile level sealed, so a first read has middle states to write back. */
const EVENTS = Array.from({ length: 365 }, (_, d) => ({ user_id: 1, ts: isoMicros(T0 + d * DAY + 9 * HOUR), amount: d % 7 }));
const AS_OF = isoMicros(T0 + 366 * DAY);

describe('online store life cycle', () => {
  it('close() waits for the middle states a first read writes back (redis)', async (t) => {
    if ((await redisMode()) === 'skip') { t.skip(); return; }
    const rejections: unknown[] = [];
    const onRejection = (e: unknown): void => { rejections.push(e); };
    process.on('unhandledRejection', onRejection);
    const h = await redisBackend();
    try {
      const writer = await OnlineFeatureStore.open(h.store, DEFS, { denseDay: 1 });
      await writer.push({ source: 'pay' }, EVENTS);
      const reader = await OnlineFeatureStore.open(await RedisOnlineStore.connect({ url: REDIS_URL, prefix: (h.store as RedisOnlineStore).prefix }), DEFS, { denseDay: 1, cacheSeries: 0 });
      const [row] = await reader.getOnlineFeatures([1], 'long', { asOf: AS_OF });
      expect(row!.n_200d).toBe(199); // days 166..364
      await reader.close(); // at once: the write-back is still to start
      expect(reader.stats.middleWritesFailed).toBe(0);
      expect(reader.stats.middlesWritten).toBeGreaterThan(0);
      // the middle states are in Redis: the next first read uses them
      const again = await OnlineFeatureStore.open(await RedisOnlineStore.connect({ url: REDIS_URL, prefix: (h.store as RedisOnlineStore).prefix }), DEFS, { denseDay: 1, cacheSeries: 0 });
      expect((await again.getOnlineFeatures([1], 'long', { asOf: AS_OF }))[0]).toEqual(row);
      expect(again.stats.middlesRead).toBeGreaterThan(0);
      await again.close();
      await new Promise((resolve) => setTimeout(resolve, 20));
      expect(rejections).toEqual([]);
    } finally {
      process.off('unhandledRejection', onRejection);
      await h.cleanup();
    }
  });

  it('has the one-round-trip read (readResolved, putMiddles) exactly when it declares it', async (t) => {
    const factories = [embeddedBackend, ...((await redisMode()) === 'skip' ? [] : [redisBackend])];
    if (factories.length < 2) t.annotate?.('Redis skipped');
    for (const factory of factories) {
      const h = await factory();
      try {
        const declared = h.store.capabilities.resolvesInner === true;
        expect(typeof h.store.readResolved === 'function', h.store.capabilities.name).toBe(declared);
        expect(typeof h.store.putMiddles === 'function', h.store.capabilities.name).toBe(declared);
      } finally {
        await h.cleanup();
      }
    }
  });

  it('records its format in the manifest and refuses a store written by a newer kiln (STORE_TOO_NEW)', async () => {
    const h = await embeddedBackend();
    try {
      const online = await OnlineFeatureStore.open(h.store, DEFS);
      await online.push({ source: 'pay' }, EVENTS.slice(0, 3));
      expect((await h.store.manifest()).format).toBe(ONLINE_FORMAT);
      await online.flush();
      await h.store.reset([], { format: 'kiln.online@99' });
      const e = await OnlineFeatureStore.open(h.store, DEFS).catch((x: unknown) => x);
      expect(isKilnError(e, 'STORE_TOO_NEW')).toBe(true);
      expect((e as Error).message).toMatch(/written by a newer kiln \(format kiln\.online@99; this kiln reads kiln\.online@\d+\): upgrade kiln/);
      await h.store.reset([], { format: 'kiln.online@1' }); // an older one is read as before (its plan hash decides)
      await expect(OnlineFeatureStore.open(h.store, DEFS)).resolves.toBeInstanceOf(OnlineFeatureStore);
    } finally {
      await h.cleanup();
    }
  });
});
