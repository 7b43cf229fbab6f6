/** Bad input to the online store: each a KilnError that says what is wrong, where, and what to do. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { KilnError, isKilnError } from '../../src/core/errors.js';
import { OnlineFeatureStore, RedisOnlineStore, openOnlineStore } from '../../src/online/index.js';
import { tempProject } from '../helpers.js';
import { CONTRACT_DEFS } from './contract.js';
import { embeddedBackend, type BackendHandle } from './helpers.js';

async function failure(p: Promise<unknown>): Promise<KilnError> {
  const e = await p.then(() => undefined, (x: unknown) => x);
  if (!isKilnError(e)) throw new Error(`expected a KilnError, got ${String(e)}`);
  return e;
}

describe('online store bad input', () => {
  let h: BackendHandle;
  let online: OnlineFeatureStore;
  beforeEach(async () => { h = await embeddedBackend(); online = await OnlineFeatureStore.open(h.store, CONTRACT_DEFS); });
  afterEach(async () => { await h.cleanup(); });
  const good = { user_id: 1, ts: '2024-01-01T10:00:00Z', amount: 10, cat: 'a' };

  it('names unknown sources and tables, with did-you-mean', async () => {
    expect((await failure(online.push({ source: 'pays' }, [good]))).message).toBe("unknown source 'pays'; did you mean 'pay'? (served sources: pay)");
    expect((await failure(online.push({ table: 'payz' }, [good]))).message).toMatch(/no served source reads table 'payz'; did you mean 'pay'\?/);
  });

  it('names unknown columns, wrong types and missing keys, all at once, and writes nothing', async () => {
    const e = await failure(online.push({ source: 'pay' }, [good, { ...good, amont: 3 }, { ...good, amount: 'ten' }, { ts: good.ts, amount: 1 }, 'nope']));
    expect(e.code).toBe('EVENTS_INVALID');
    expect(e.message).toMatch(/^4 problems in pushed events \(nothing was written\)/);
    expect(e.message).toContain("event 1: unknown column 'amont'; did you mean 'amount'?");
    expect(e.message).toContain(`event 2: column 'amount': "ten" is not a number`);
    expect(e.message).toContain("event 3: missing column 'user_id' (source 'pay' needs its entity key)");
    expect(e.message).toContain('event 4: expected an object of column values, got "nope"');
    expect((await online.getOnlineFeatures([1], 'n_1d', { asOf: '2024-01-02T00:00:00Z' }))[0]!.n_1d).toBe(0);
    const ok = await online.push({ source: 'pay' }, [{ ...good, amont: 3 }], { extraColumns: 'ignore' });
    expect(ok.events).toBe(1);
  });

  it('refuses times that are not UTC, says mixed time zones, and names the record', async () => {
    const one = await failure(online.push({ source: 'pay' }, [{ ...good, ts: '2024-01-01T10:00:00+02:00' }], { label: (i) => `line ${i + 1}` }));
    expect(one.message).toContain("line 1: column 'ts': '2024-01-01T10:00:00+02:00' has offset +02:00; kiln reads every time as UTC");
    expect(one.message).not.toContain('Mixed');
    const mixed = await failure(online.push({ source: 'pay' }, [good, { ...good, ts: '2024-01-01T10:00:00-05:00' }, { ...good, av: '2024-01-01T12:00:00+01:00' }]));
    expect(mixed.message).toMatch(/Mixed time zones: 1 time\(s\) at -05:00, 1 time\(s\) at \+01:00 and \d+ in UTC; kiln needs every time in UTC/);
    expect((await failure(online.push({ source: 'pay' }, [{ ...good, ts: '2024-02-30T00:00:00Z' }]))).message).toContain('is not a valid date and time');
    expect((await failure(online.push({ source: 'pay' }, [{ ...good, ts: 'yesterday' }]))).message).toContain("'yesterday' is not a time");
    expect((await failure(online.getOnlineFeatures([1], 'n_1d', { asOf: '2024-01-01T10:00:00+01:00' }))).message).toMatch(/^asOf: .*has offset \+01:00; kiln works in UTC/);
  });

  it('counts rows with a NULL key or time as offline does: not at all', async () => {
    const s = await online.push({ source: 'pay' }, [good, { ...good, user_id: null }, { ...good, ts: null }]);
    expect(s).toMatchObject({ events: 1, skipped: 2 });
  });

  it('names unknown features and bad read arguments', async () => {
    expect((await failure(online.getOnlineFeatures([1], ['n_1d', 'sum_7d']))).message).toMatch(/unknown feature or feature set 'sum_7d' \(did you mean 'sum_1d'\?\)/);
    expect((await failure(online.getOnlineFeatures([{} as never], 'n_1d'))).message).toBe('entity id 0 ({}) must be text or a number');
    expect((await failure(online.getOnlineFeatures([1], 'n_1d', { eventTimeBound: 'loose' as never }))).message).toMatch(/eventTimeBound must be 'strict' or 'inclusive'/);
    const narrow = await OnlineFeatureStore.open(h.store, CONTRACT_DEFS, { features: ['n_1h'] });
    expect((await failure(narrow.getOnlineFeatures([1], 'n_1d'))).message).toMatch(/'n_1d' are not served by this online store \(it serves n_1h\)/);
  });

  it('names an unknown backend and an unreachable Redis', async () => {
    const ctx = await tempProject();
    try {
      expect((await failure(openOnlineStore(ctx.project, { backend: 'memcached', definitions: CONTRACT_DEFS }))).message).toBe("online backend 'memcached' is unknown; use one of: embedded, redis");
    } finally {
      ctx.cleanup();
    }
    const e = await failure(RedisOnlineStore.connect({ url: 'redis://127.0.0.1:1', prefix: 'x:', connectTimeoutMs: 500 }));
    expect(e.message).toMatch(/^cannot reach Redis at redis:\/\/127\.0\.0\.1:1 .*KILN_REDIS_URL/);
    expect(e.code).toBe('ONLINE_UNAVAILABLE');
  });

  it('refuses a feature the store does not serve, and a table no served source reads, as FEATURE_NOT_SERVED', async () => {
    const narrow = await OnlineFeatureStore.open(h.store, CONTRACT_DEFS, { features: ['n_1d'] });
    const e = await failure(narrow.getOnlineFeatures([1], 'sum_1d'));
    expect(e.code).toBe('FEATURE_NOT_SERVED');
    expect(e.message).toMatch(/'sum_1d' are not served by this online store \(it serves n_1d\)/);
    expect((await failure(online.push({ table: 'payz' }, [good]))).code).toBe('FEATURE_NOT_SERVED');
  });
});
