/**
 * Parity, proven on seeded random streams: the online store, fed by replaying the stream in arrival order
 * (out of event-time order, some events pushed before they are available) and read at random times, equals
 * the offline training set (DuckDB) and the naive evaluator at the same times, for every feature, to rtol
 * 1e-9, on both backends and both event-time bounds; also after materialising half-way from the offline
 * store and pushing the rest. Windows from 45 s to 20 days and lifetime, every operator, filters, buckets,
 * last-k with ties, snapshot attributes and derived features.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Rng } from '../../src/core/rng.js';
import {
  abs, add, attribute, bucket, coalesce, count, countDistinct, derived, div, entity, eventSource, featureSet, first, last, lastK, least, ln1p,
  max, mean, min, mul, naiveEvaluate, neg, percentile, snapshotSource, sqrt, stddev, sub, sum, timeSinceLast, type AnyFeatureDef, type WindowString,
} from '../../src/features/index.js';
import { buildTrainingSet } from '../../src/features/training/index.js';
import { EmbeddedOnlineStore, OnlineFeatureStore, isoMicros, materialize, type OnlineRow } from '../../src/online/index.js';
import { tempDir, tempProject } from '../helpers.js';
import { createTable } from '../features/helpers.js';
import { DAY, HOUR, MINUTE, SECOND, T0, asPushed, embeddedBackend, expectParity, expectSameTypes, onlineStream, redisBackend, redisMode, type BackendFactory, type OnlineStream } from './helpers.js';

const acct = entity('acct', { key: 'k' });
const columns = { amount: 'double', qty: 'bigint', cat: 'varchar', flag: 'boolean', id: 'bigint' } as const;
const ev = eventSource('ev', { entity: acct, timestamp: 'ts', availableAt: 'av', columns });
const evTb = eventSource('ev_tb', { entity: acct, table: 'ev', timestamp: 'ts', tiebreak: 'id', columns });
const prof = snapshotSource('prof', { entity: acct, timestamp: 'valid_from', columns: { income: 'double', segment: 'varchar' } });

const WINDOWS: WindowString[] = ['45s', '90m', '1h', '1d', '7d', '20d', 'lifetime'];
const perWindow = WINDOWS.flatMap((window): AnyFeatureDef[] => {
  const w = window.replace(/\W/g, '');
  return [
    count(ev, { name: `n_${w}`, window }),
    sum(ev, 'amount', { name: `sum_${w}`, window }),
    mean(ev, 'amount', { name: `mean_${w}`, window }),
    min(ev, 'amount', { name: `min_${w}`, window }),
    max(ev, 'qty', { name: `maxq_${w}`, window }),
    stddev(ev, 'amount', { name: `sd_${w}`, window }),
    percentile(ev, 'amount', { name: `p25_${w}`, window, p: 0.25 }),
    first(ev, 'amount', { name: `first_${w}`, window }),
    last(ev, 'cat', { name: `lastcat_${w}`, window }),
    countDistinct(ev, 'cat', { name: `dcat_${w}`, window }),
    timeSinceLast(ev, { name: `since_${w}`, window, unit: 'h' }),
  ];
});
const tieWindows: WindowString[] = ['1d', 'lifetime']; // ev_tb keeps one day of raw events: its base is exercised
const perTieWindow = tieWindows.flatMap((window): AnyFeatureDef[] => {
  const w = window.replace(/\W/g, '');
  return [
    last(evTb, 'amount', { name: `last_tb_${w}`, window }),
    first(evTb, 'qty', { name: `first_tb_${w}`, window }),
    lastK(evTb, { name: `last3_${w}`, k: 3, fields: ['amount', 'cat'], window }),
  ];
});
const sum7 = sum(ev, 'amount', { name: 'sum7', window: '7d' });
const n7 = count(ev, { name: 'n7', window: '7d' });
const byCat = sum(ev, 'amount', { name: 'by_cat', window: '7d', by: { column: 'cat', values: ['a', 'b', 'c', 'zz'] } });
const filtered: AnyFeatureDef[] = [
  sum7, n7, byCat,
  count(ev, { name: 'n_ab', window: '1d', where: { cat: ['a', 'b'] } }),
  sum(ev, 'amount', { name: 'sum_big_flag', window: '7d', where: { amount: { gt: 10 }, flag: true } }),
  count(ev, { name: 'n_nocat', window: 'lifetime', where: { cat: null } }),
  sum(ev, 'qty', { name: 'q_not_a', window: '7d', where: { cat: { ne: 'a' } } }),
  count(ev, { name: 'n_not_ab', window: '7d', where: { cat: { notIn: ['a', 'b'] }, qty: { gte: 3, lt: 15 } } }),
  countDistinct(evTb, 'qty', { name: 'dq_by_cat', window: '1d', by: { column: 'cat', values: ['a', 'd'] } }),
  lastK(ev, { name: 'last5', k: 5, fields: ['qty', 'flag'] }),
  timeSinceLast(evTb, { name: 'since_a', where: { cat: 'a' } }),
  // differ from p25_7d / since_a only in finish-only parameters: they share a state slot, not a finisher
  percentile(ev, 'amount', { name: 'p90_7d', window: '7d', p: 0.9 }),
  timeSinceLast(evTb, { name: 'since_a_days', where: { cat: 'a' }, unit: 'd' }),
];
const income = attribute(prof, 'income', { name: 'income' });
const avg7 = derived('avg7', div(sum7, n7));
const derivedFeatures: AnyFeatureDef[] = [
  income, attribute(prof, 'segment', { name: 'segment' }), avg7,
  derived('log_sum', ln1p(sum7)),
  derived('capped', least(sum7, 100, income)),
  derived('mean_or_zero', coalesce(avg7, 0)),
  derived('share_a', div(bucket(byCat, 'a'), sum7)),
  derived('mixed', add(mul(avg7, 2), neg(sub(n7, 1)), sqrt(abs(sum7)))),
  derived('per_income', div(sum7, income)),
];
const all = [...perWindow, ...perTieWindow, ...filtered, ...derivedFeatures];
const defs = [acct, ev, evTb, prof, ...all, featureSet('everything', all)];
const ARRIVAL_JITTER = 3 * HOUR;

type Feed = { target: { source: string }; rows: Record<string, unknown>[]; arrival: number[] };

/** Each source's rows in arrival order: arrival = effective time + jitter (< ARRIVAL_JITTER), so out of event-time order. */
function feeds(data: OnlineStream, seed: number, keep: (effective: number, source: string) => boolean = () => true, keyed = false): Feed[] {
  const rng = new Rng(seed);
  const make = (source: string, rows: Record<string, unknown>[], eff: (i: number) => number): Feed => {
    const order = rows.map((_, i) => i).filter((i) => keep(eff(i), source)).map((i) => ({ i, a: eff(i) + rng.int(ARRIVAL_JITTER) })).sort((x, y) => x.a - y.a);
    return { target: { source }, rows: order.map(({ i }) => rows[i]!), arrival: order.map((o) => o.a) };
  };
  // keyed: each event row gets a unique `txn` (exact duplicate rows are distinct events, as offline)
  const events = data.events.map((e, i) => (keyed ? { ...asPushed(e, i), txn: i } : asPushed(e, i)));
  return [
    make('ev', events.map(({ id: _id, ...r }) => r), (i) => Math.max(data.events[i]!.ts, data.events[i]!.av ?? -Infinity)),
    make('ev_tb', events.map(({ av: _av, flag: _flag, ...r }) => r), (i) => data.events[i]!.ts),
    make('prof', data.profiles.map((p) => ({ ...p, valid_from: isoMicros(p.valid_from) })), (i) => data.profiles[i]!.valid_from),
  ];
}

/**
 * Pushes what has arrived by each spine time (every event visible then, and some not yet), then reads at it;
 * `cold` (an engine without a cache over the same backend) reads there too, so every one of its reads merges tiles.
 */
async function replay(online: OnlineFeatureStore, spine: OnlineStream['spine'], fs: Feed[], bound: 'strict' | 'inclusive', cold?: OnlineFeatureStore, coldRows: OnlineRow[] = [], repush = false): Promise<OnlineRow[]> {
  const next = fs.map(() => 0);
  const rows: OnlineRow[] = [];
  for (const { k, t } of spine) {
    for (const [f, feed] of fs.entries()) {
      const start = next[f]!;
      while (next[f]! < feed.rows.length && feed.arrival[next[f]!]! < t + ARRIVAL_JITTER) next[f]!++;
      if (next[f]! > start) await online.push(feed.target, feed.rows.slice(start, next[f]!));
      // a re-run after a kill: the same events again, with a few already pushed before them (keyed sources only)
      if (repush && next[f]! > start && feed.target.source !== 'prof') {
        const again = await online.push(feed.target, feed.rows.slice(Math.max(0, start - 3), next[f]!));
        expect(again.events).toBe(0);
      }
    }
    rows.push((await online.getOnlineFeatures([k], 'everything', { asOf: isoMicros(t), eventTimeBound: bound }))[0]!);
    if (cold) coldRows.push((await cold.getOnlineFeatures([k], 'everything', { asOf: isoMicros(t), eventTimeBound: bound }))[0]!);
  }
  return rows;
}

const TABLES = {
  ev: { k: 'BIGINT', ts: 'TIMESTAMP', av: 'TIMESTAMP', id: 'BIGINT', amount: 'DOUBLE', qty: 'BIGINT', cat: 'VARCHAR', flag: 'BOOLEAN' },
  prof: { k: 'BIGINT', valid_from: 'TIMESTAMP', income: 'DOUBLE', segment: 'VARCHAR' },
  spine: { k: 'BIGINT', t: 'TIMESTAMP' },
} as const;

/** `denseDay` settings to replay with (strict bound): 1 keeps a tile for every day, 1000 none (all stubs). */
function parity(name: string, backend: BackendFactory, skip: () => Promise<boolean>, denseDays: readonly number[]): void {
  describe(`online equals offline and naive: ${name}`, () => {
    let ctx: Awaited<ReturnType<typeof tempProject>>;
    let skipped = false;
    const data = onlineStream(17, { days: 40, events: 700, windowsUs: [45 * SECOND, 90 * MINUTE, HOUR, DAY, 7 * DAY, 20 * DAY] });
    const offline: Partial<Record<'strict' | 'inclusive', Record<string, unknown>[]>> = {};
    beforeAll(async () => {
      skipped = await skip();
      if (skipped) return;
      ctx = await tempProject();
      await createTable(ctx.project, 'ev', TABLES.ev, data.events as never);
      await createTable(ctx.project, 'prof', TABLES.prof, data.profiles as never);
      await createTable(ctx.project, 'spine', TABLES.spine, data.spine as never);
      for (const bound of ['strict', 'inclusive'] as const) {
        await buildTrainingSet(ctx.project, { spine: { table: 'spine', timestamp: 't' }, features: 'everything', definitions: defs, eventTimeBound: bound, table: `out_${bound}` });
        offline[bound] = await ctx.project.offline.all(`SELECT * FROM out_${bound}`);
      }
    });
    afterAll(() => { if (!skipped) ctx.cleanup(); });
    const where = (i: number): string => `k=${data.spine[i]!.k} t=${isoMicros(data.spine[i]!.t)}`;

    const runs = [['strict', undefined], ['inclusive', undefined], ...denseDays.map((d) => ['strict', d] as const)] as const;
    for (const [bound, denseDay] of runs) {
      it(`replaying the stream (${bound}${denseDay ? `, denseDay ${denseDay}` : ''})`, async (t) => {
        if (skipped) { t.skip(); return; }
        const h = await backend();
        try {
          const online = await OnlineFeatureStore.open(h.store, defs, denseDay ? { denseDay } : {});
          const cold = await OnlineFeatureStore.open(h.store, defs, { cacheSeries: 0, ...(denseDay ? { denseDay } : {}) });
          const coldRows: OnlineRow[] = [];
          const rows = await replay(online, data.spine, feeds(data, 5), bound, cold, coldRows);
          expectParity(offline[bound]!, rows, where);
          expectParity(offline[bound]!, coldRows, where);
          expectSameTypes(offline[bound]!, rows, where);
          expectSameTypes(offline[bound]!, coldRows, where);
          // a backend that resolves inner parts itself (Redis, in Lua) resolved every first read as the engine would
          if (h.store.capabilities.resolvesInner) expect(cold.stats.innerReread).toBe(0);
          expect(cold.stats.innerResolved > 0).toBe(h.store.capabilities.resolvesInner === true);
          const naive = naiveEvaluate(defs, { ev: data.events as never, ev_tb: data.events as never, prof: data.profiles as never },
            data.spine.map((p) => ({ key: p.k, time: p.t })), { features: 'everything', eventTimeBound: bound });
          expectParity(rows, naive, where);
          const [meta] = await h.store.read([{ key: { source: 'ev_tb', entity: '3' }, base: true }]);
          expect(meta!.meta!.rawFrom).not.toBeNull(); // compaction happened during the replay
          expect(meta!.base!.count).toBeGreaterThan(0);
          const [ev3] = await h.store.read([{ key: { source: 'ev', entity: '3' } }]);
          expect(ev3!.meta!.sealedTo).not.toBeNull(); // coarse tiles were sealed, and read by lifetime and 20d windows
        } finally {
          await h.cleanup();
        }
      });
    }

    it('with an event key, pushing every event again (and some older ones) changes nothing', async (t) => {
      if (skipped) { t.skip(); return; }
      const h = await backend();
      try {
        const online = await OnlineFeatureStore.open(h.store, defs, { eventKeys: { ev: 'txn' } });
        const rows = await replay(online, data.spine, feeds(data, 5, undefined, true), 'strict', undefined, [], true);
        expectParity(offline.strict!, rows, where);
        expectSameTypes(offline.strict!, rows, where);
      } finally {
        await h.cleanup();
      }
    });

    it('materialising half-way from the offline store, then pushing the rest', async (t) => {
      if (skipped) { t.skip(); return; }
      const h = await backend();
      try {
        const online = await OnlineFeatureStore.open(h.store, defs);
        const mid = T0 + 20 * DAY + 12345;
        const s = await materialize(ctx.project, { store: online, asOf: isoMicros(mid), quiet: true });
        expect(s.sources.map((x) => x.name).sort()).toEqual(['ev', 'ev_tb', 'prof']);
        const later = data.spine.map((p, i) => ({ ...p, i })).filter((p) => p.t >= mid);
        const rows = await replay(online, later, feeds(data, 9, (eff) => eff >= mid), 'strict');
        expect(later.length).toBeGreaterThan(50);
        expectParity(later.map((p) => offline.strict![p.i]!), rows, (i) => where(later[i]!.i));
        expectSameTypes(later.map((p) => offline.strict![p.i]!), rows, (i) => where(later[i]!.i));
      } finally {
        await h.cleanup();
      }
    });
  });
}

parity('sqlite', embeddedBackend, async () => false, [1, 1000]);
parity('redis', redisBackend, async () => (await redisMode()) === 'skip', [1]);

describe('the embedded store written behind', () => {
  it('survives a restart mid-stream: same values after reopening, and the replay continues exactly', async () => {
    const data = onlineStream(23, { events: 300, spine: 60 });
    const h = await embeddedBackend();
    try {
      const fs = feeds(data, 1);
      const first = await OnlineFeatureStore.open(h.store, defs);
      await replay(first, data.spine.slice(0, 30), fs, 'strict');
      const t = isoMicros(data.spine[29]!.t);
      const ids = [...new Set(data.events.map((e) => e.k))];
      const before = await first.getOnlineFeatures(ids, 'everything', { asOf: t });
      await first.flush();
      const reopened = await OnlineFeatureStore.open(await h.reopen(), defs, { cacheSeries: 0 });
      expect(reopened.backend).toBeInstanceOf(EmbeddedOnlineStore);
      expectParity(before, await reopened.getOnlineFeatures(ids, 'everything', { asOf: t }), (i) => `entity ${ids[i]}`);
      // Pushes after the restart pick up where the store left off: feeds resume at the same arrival positions.
      const rest = data.spine.slice(30);
      const resumed = fs.map((f) => {
        const done = f.arrival.filter((a) => a < data.spine[29]!.t + ARRIVAL_JITTER).length;
        return { ...f, rows: f.rows.slice(done), arrival: f.arrival.slice(done) };
      });
      const rows = await replay(reopened, rest, resumed, 'strict');
      const naive = naiveEvaluate(defs, { ev: data.events as never, ev_tb: data.events as never, prof: data.profiles as never },
        rest.map((p) => ({ key: p.k, time: p.t })), { features: 'everything' });
      expectParity(rows, naive, (i) => `spine ${30 + i}`);
    } finally {
      await h.cleanup();
    }
  });
});

describe('the embedded store with a bound on the series in memory', () => {
  it('drops series past maxSeriesInMemory and reloads them: cached and cold reads stay exact', async () => {
    const data = onlineStream(29, { events: 400, spine: 80 });
    const { dir, cleanup } = tempDir('kiln-online-bound-');
    const store = EmbeddedOnlineStore.open(`${dir}/online.sqlite`, { maxSeriesInMemory: 2 });
    try {
      const online = await OnlineFeatureStore.open(store, defs);
      const cold = await OnlineFeatureStore.open(store, defs, { cacheSeries: 0 });
      const coldRows: OnlineRow[] = [];
      const rows = await replay(online, data.spine, feeds(data, 3), 'strict', cold, coldRows);
      // 10 entities x 3 sources: series were dropped all along, and never more than a request's own stayed
      expect(store.memory.dropped).toBeGreaterThan(100);
      expect(store.memory.series).toBeLessThanOrEqual(3);
      const naive = naiveEvaluate(defs, { ev: data.events as never, ev_tb: data.events as never, prof: data.profiles as never },
        data.spine.map((p) => ({ key: p.k, time: p.t })), { features: 'everything' });
      const where = (i: number): string => `spine ${i}`;
      expectParity(rows, naive, where);
      expectParity(coldRows, naive, where);
    } finally {
      await store.close();
      cleanup();
    }
  });

  it('materialising releases each finished entity: the store ends empty, and reads rebuild exactly', async () => {
    const data = onlineStream(31, { events: 500, spine: 60 });
    const ctx = await tempProject();
    try {
      await createTable(ctx.project, 'ev', TABLES.ev, data.events as never);
      await createTable(ctx.project, 'prof', TABLES.prof, data.profiles as never);
      const store = EmbeddedOnlineStore.open(`${ctx.dir}/online.sqlite`);
      const online = await OnlineFeatureStore.open(store, defs);
      const end = T0 + 41 * DAY;
      // batches of 50 events, cut at entities: each is released once written
      await materialize(ctx.project, { store: online, asOf: isoMicros(end), quiet: true, batchEvents: 50 });
      expect(store.memory.series).toBe(0);
      expect(store.memory.dropped).toBeGreaterThanOrEqual(20);
      const ids = [...new Set(data.events.map((e) => e.k))].sort((a, b) => a - b);
      const rows = await online.getOnlineFeatures(ids, 'everything', { asOf: isoMicros(end) });
      const naive = naiveEvaluate(defs, { ev: data.events as never, ev_tb: data.events as never, prof: data.profiles as never },
        ids.map((k) => ({ key: k, time: end })), { features: 'everything' });
      expectParity(rows, naive, (i) => `entity ${ids[i]}`);
      await online.close();
    } finally {
      ctx.cleanup();
    }
  });
});
