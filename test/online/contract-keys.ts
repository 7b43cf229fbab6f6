/**
 * The contract's part on entities and event keys, run inside `describeOnlineStore` against every backend:
 * unknown entities are reported as such (with several sources), event keys round-trip and survive a
 * restart and a reset, and pushes are idempotent by event key, across push calls, restarts and an
 * interruption mid-way.
 */
import { expect, it } from 'vitest';
import { isKilnError } from '../../src/core/errors.js';
import { count, entity, eventSource, featureSet, last, sum } from '../../src/features/index.js';
import { OnlineFeatureStore, isoMicros, type OnlineStore } from '../../src/online/index.js';
import { DAY, HOUR, T0, type BackendHandle } from './helpers.js';

const user = entity('user', { key: 'user_id' });
const pay = eventSource('pay', { entity: user, timestamp: 'ts', columns: { txn: 'bigint', amount: 'double' } });
const refunds = eventSource('refunds', { entity: user, timestamp: 'ts', columns: { amount: 'double' } });
const n7 = count(pay, { name: 'n_7d', window: '7d' });
const s7 = sum(pay, 'amount', { name: 'sum_7d', window: '7d' });
const all = count(pay, { name: 'n_all', window: 'lifetime' });
const lastAmount = last(pay, 'amount', { name: 'last_amount', window: 'lifetime' });
const r7 = count(refunds, { name: 'refunds_7d', window: '7d' });
const DEFS = [user, pay, refunds, n7, s7, all, lastAmount, r7, featureSet('pay', [n7, s7, all, lastAmount])];
const KEYED = { eventKeys: { pay: 'txn' } };
const at = (us: number): string => isoMicros(us);
/** 60 events of 6 users over 3 days, keyed by txn. */
const EVENTS = Array.from({ length: 60 }, (_, i) => ({ user_id: i % 6, txn: 1000 + i, ts: at(T0 + i * HOUR + 17), amount: (i % 7) + 0.25 }));
const READ_AT = at(T0 + 3 * DAY);
const IDS = [0, 1, 2, 3, 4, 5];

export function describeEntitiesAndKeys(h: () => BackendHandle): void {
  const store = (): OnlineStore => h().store;
  const values = async (online: OnlineFeatureStore): Promise<unknown[]> => online.getOnlineFeatures(IDS, 'pay', { asOf: READ_AT });

  it('stores event keys with their digests per series, keeps them over a restart, and drops them on reset', async () => {
    const meta = { version: 1, plan: 'p', rawFrom: null, lo: T0, watermark: T0, sealedTo: null };
    const one = { source: 'pay', entity: '1' };
    await store().write([{ key: one, meta, tiles: [], raw: [], eventKeys: { keys: ['#a', '#b'], digests: [11, 2 ** 53 - 1] } }]);
    await store().write([{ key: one, meta: { ...meta, version: 2 }, tiles: [], raw: [], eventKeys: { keys: ['#c'], digests: [13] } }]);
    const ask = [{ key: one, keys: ['#a', '#c', '#zz'] }, { key: { source: 'pay', entity: '2' }, keys: ['#a'] }, { key: { source: 'other', entity: '1' }, keys: ['#a'] }];
    // each answer holds at least the asked keys that are stored (a backend sharing its objects may hold more)
    const looked = async (s: OnlineStore): Promise<(number | undefined)[][]> => (await s.eventKeys(ask)).map((m, i) => ask[i]!.keys.map((k) => m.get(k)));
    const want = [[11, 13, undefined], [undefined], [undefined]];
    expect(await looked(store())).toEqual(want);
    if (!store().capabilities.durableOnWrite) await store().flush();
    const reopened = await h().reopen();
    expect(await looked(reopened)).toEqual(want);
    await reopened.write([{ key: one, meta: { ...meta, version: 3 }, tiles: [], raw: [], eventKeys: { keys: ['#e'], digests: [15] } }]); // stored keys loaded before adding
    const [m] = await reopened.eventKeys([{ key: one, keys: ['#a', '#b', '#e'] }]);
    expect(['#a', '#b', '#e'].map((k) => m!.get(k))).toEqual([11, 2 ** 53 - 1, 15]);
    await reopened.reset(['pay'], {});
    expect(await looked(reopened)).toEqual([[undefined, undefined, undefined], [undefined], [undefined]]);
  });

  it('reports an entity it never saw as unknown, per source, not as an entity without events', async () => {
    const online = await OnlineFeatureStore.open(store(), DEFS);
    await online.push({ source: 'pay' }, [{ user_id: 1, txn: 1, ts: at(T0 + HOUR), amount: 5 }]);
    await online.push({ source: 'refunds' }, [{ user_id: 2, ts: at(T0 + HOUR), amount: 3 }]);
    const got = await online.lookup([1, 2, 99, '1'], 'pay', { asOf: at(T0 + DAY) });
    expect(got.map((g) => [g.entity, g.known, g.sources])).toEqual([[1, true, ['pay']], [2, true, ['refunds']], [99, false, []], ['1', true, ['pay']]]);
    // the unknown entity's row is what an entity without events reads (so --allow-unknown callers can use it)
    expect(got[2]!.row).toEqual((await online.getOnlineFeatures([99], 'pay', { asOf: at(T0 + DAY) }))[0]);
    expect(got[0]!.row).toMatchObject({ n_7d: 1, sum_7d: 5 });
    // every source counts, whichever features are read; an entity in both lists both
    await online.push({ source: 'refunds' }, [{ user_id: 1, ts: at(T0 + 2 * HOUR), amount: 1 }]);
    const both = await online.lookup([1, 2, 99], undefined, { asOf: at(T0 + DAY) });
    expect(both.map((g) => [g.known, g.sources])).toEqual([[true, ['pay', 'refunds']], [true, ['refunds']], [false, []]]);
    // a fresh process (nothing cached) over the same store says the same
    if (!store().capabilities.durableOnWrite) await online.flush();
    const again = await OnlineFeatureStore.open(await h().reopen(), DEFS, { cacheSeries: 0 });
    expect((await again.lookup([2, 99], 'pay', { asOf: at(T0 + DAY) })).map((g) => g.known)).toEqual([true, false]);
  });

  it('skips re-pushed events by their event key, within a push, across pushes and after a restart', async () => {
    const online = await OnlineFeatureStore.open(store(), DEFS, KEYED);
    const first = await online.push({ source: 'pay' }, EVENTS);
    expect(first).toMatchObject({ events: 60, duplicates: 0 });
    const clean = await values(online);
    expect(clean[0]).toMatchObject({ n_all: 10 });
    // the same events again, some twice in one push, with new ones among them
    const again = await online.push({ source: 'pay' }, [...EVENTS.slice(0, 30), ...EVENTS.slice(0, 5), { user_id: 0, txn: 5000, ts: at(T0 + 61 * HOUR), amount: 1 }]);
    expect(again).toMatchObject({ events: 1, duplicates: 35 });
    expect((await values(online))[0]).toMatchObject({ n_all: 11, last_amount: 1 });
    // another process, after a restart: the keys were stored with the events
    if (!store().capabilities.durableOnWrite) await online.flush();
    const later = await OnlineFeatureStore.open(await h().reopen(), DEFS, KEYED);
    expect(await later.push({ source: 'pay' }, EVENTS)).toMatchObject({ events: 0, duplicates: 60 });
    expect((await values(later))[0]).toMatchObject({ n_all: 11 });
    // without the event key, the same events count twice (as rows of a table do)
    const unkeyed = await OnlineFeatureStore.open(store(), DEFS);
    expect(await unkeyed.push({ source: 'pay' }, EVENTS.slice(0, 1))).toMatchObject({ events: 1, duplicates: 0 });
    expect((await values(unkeyed))[0]).toMatchObject({ n_all: 12 });
  });

  it('refuses a re-pushed key with different content, naming the key and record, and writes nothing of that push', async () => {
    const online = await OnlineFeatureStore.open(store(), DEFS, KEYED);
    await online.push({ source: 'pay' }, EVENTS);
    const before = await values(online);
    const changed = [{ user_id: 5, txn: 9999, ts: at(T0 + 2 * HOUR), amount: 1 }, { ...EVENTS[7]!, amount: 999 }];
    const e = await online.push({ source: 'pay' }, changed).catch((x: unknown) => x);
    expect(isKilnError(e, 'EVENT_KEY_CONFLICT')).toBe(true);
    expect((e as Error).message).toMatch(/reuses an event key of stored events with different content.*nothing of this push was written:\n {2}- event 1: txn = "1007" \(entity 1, source 'pay'\)\n/);
    const inOne = await online.push({ source: 'pay' }, [{ user_id: 3, txn: 7, ts: at(T0), amount: 1 }, { user_id: 3, txn: 7, ts: at(T0), amount: 2 }]).catch((x: unknown) => x);
    expect((inOne as Error).message).toMatch(/event 1: txn = "7"/);
    expect(await values(online)).toEqual(before);
    // a missing key is refused, naming the record
    const missing = await online.push({ source: 'pay' }, [{ user_id: 3, ts: at(T0), amount: 1 }]).catch((x: unknown) => x);
    expect((missing as Error).message).toMatch(/event 0: missing event key 'txn'/);
  });

  it('re-runs an interrupted push safely: the result equals one clean push', async () => {
    const batches = Array.from({ length: 6 }, (_, b) => ({ rows: EVENTS.slice(b * 10, b * 10 + 10) }));
    const online = await OnlineFeatureStore.open(store(), DEFS, KEYED);
    const ac = new AbortController();
    const stopped = await online.pushAll({ source: 'pay' }, batches, { signal: ac.signal, onBatch: (t) => { if (t.batches === 2) ac.abort(); } }).catch((x: unknown) => x);
    expect(isKilnError(stopped, 'INTERRUPTED')).toBe(true);
    expect((stopped as Error).message).toMatch(/after 2 batches: 20 events were written.*through event 19.*Re-running the same push is safe/s);
    expect((stopped as { details: unknown }).details).toMatchObject({ batches: 2, events: 20, keyed: true });
    if (!store().capabilities.durableOnWrite) await online.flush();
    const rerun = await OnlineFeatureStore.open(await h().reopen(), DEFS, KEYED);
    expect(await rerun.pushAll({ source: 'pay' }, batches)).toMatchObject({ batches: 6, rows: 60, events: 40, duplicates: 20 });
    // a clean push of the same events into an empty series set (another source name is not possible: reset)
    const got = await values(rerun);
    await rerun.reset();
    const clean = await OnlineFeatureStore.open(store(), DEFS, KEYED);
    expect(await clean.pushAll({ source: 'pay' }, batches)).toMatchObject({ events: 60, duplicates: 0 });
    expect(got).toEqual(await values(clean));
    // a failure mid-way says what was written before it
    const bad = [...batches.slice(0, 1), { rows: [{ user_id: 1, txn: 1, ts: 'yesterday', amount: 1 }] }];
    const failed = await clean.pushAll({ source: 'pay' }, [{ rows: [{ user_id: 9, txn: 77, ts: at(T0), amount: 1 }] }, ...bad]).catch((x: unknown) => x);
    expect(isKilnError(failed, 'EVENTS_INVALID')).toBe(true);
    expect((failed as Error).message).toMatch(/column 'ts'[\s\S]*before this, 1 events were written and 10 duplicates skipped, from 11 records.*safe/);
  });
}
