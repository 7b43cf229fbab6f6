/** Shared helpers of the online tests: Redis availability, seeded event streams, and backends. */
import { randomBytes } from 'node:crypto';
import { Rng } from '../../src/core/rng.js';
import { expect } from 'vitest';
import { isoMicros, parseTime } from '../../src/online/index.js';
import { EmbeddedOnlineStore, RedisOnlineStore, type OnlineStore } from '../../src/online/index.js';
import { tempDir } from '../helpers.js';
import { expectParity as expectValues } from '../features/helpers.js';

export const SECOND = 1_000_000;
export const MINUTE = 60 * SECOND;
export const HOUR = 60 * MINUTE;
export const DAY = 24 * HOUR;
/** 2024-01-01T00:00:00Z in epoch µs. */
export const T0 = Date.UTC(2024, 0, 1) * 1000;
export const REDIS_URL = process.env.KILN_REDIS_URL ?? 'redis://127.0.0.1:6379';

let redisProbe: Promise<string | null> | null = null;
let warned = false;

/**
 * Null when Redis answers at REDIS_URL, else why not. Under CI an unreachable Redis is a failure, never a
 * skip: the caller throws the reason.
 */
export function redisUnavailable(): Promise<string | null> {
  redisProbe ??= RedisOnlineStore.connect({ url: REDIS_URL, prefix: 'kiln-test-probe:', connectTimeoutMs: 1000 })
    .then(async (s) => { await s.close(); return null; }, (e: unknown) => (e as Error).message);
  return redisProbe;
}

/** How the suites decide: run, skip with a message, or fail under CI. */
export async function redisMode(): Promise<'run' | 'skip'> {
  const why = await redisUnavailable();
  if (why === null) return 'run';
  if (process.env.CI) throw new Error(`Redis is required under CI and unreachable: ${why}`);
  if (!warned) console.warn(`SKIPPING the Redis online-store tests: ${why}. Start Redis on 127.0.0.1:6379 (or set KILN_REDIS_URL) to run them; under CI they fail instead.`);
  warned = true;
  return 'skip';
}

export interface BackendHandle {
  readonly store: OnlineStore;
  /** Closes and opens the same store again (a restart). */
  reopen(): Promise<OnlineStore>;
  cleanup(): Promise<void>;
}

export type BackendFactory = () => Promise<BackendHandle>;

export const embeddedBackend: BackendFactory = async () => {
  const { dir, cleanup } = tempDir('kiln-online-');
  const file = `${dir}/online.sqlite`;
  let store: OnlineStore = EmbeddedOnlineStore.open(file);
  return {
    get store() { return store; },
    reopen: async () => { await store.close(); store = EmbeddedOnlineStore.open(file); return store; },
    cleanup: async () => { await store.close(); cleanup(); },
  };
};

/** A Redis store under a random key prefix, dropped on cleanup. */
export const redisBackend: BackendFactory = async () => {
  const prefix = `kiln-test:${randomBytes(6).toString('hex')}:`;
  let store = await RedisOnlineStore.connect({ url: REDIS_URL, prefix });
  return {
    get store() { return store; },
    reopen: async () => { await store.close(); store = await RedisOnlineStore.connect({ url: REDIS_URL, prefix }); return store; },
    cleanup: async () => { await store.drop(); await store.close(); },
  };
};

export interface StreamEvent {
  k: number;
  ts: number;
  av: number | null;
  id: number;
  amount: number | null;
  qty: number | null;
  cat: string | null;
  flag: boolean;
}

export interface OnlineStream {
  events: StreamEvent[];
  profiles: { k: number; valid_from: number; income: number | null; segment: string }[];
  /** Sorted by time. */
  spine: { k: number; t: number }[];
}

/**
 * A seeded stream that provokes the edge cases: µs timestamps, exact duplicates and equal times, late rows
 * (availability hours to days after the event), rows available before their event time, NULLs, entities
 * without events, and spine times at random µs, at event times, at availability times, at event time plus
 * a window, and on hour boundaries.
 */
export function onlineStream(seed: number, opts: { entities?: number; events?: number; spine?: number; days?: number; windowsUs?: readonly number[] } = {}): OnlineStream {
  const rng = new Rng(seed);
  const nEnt = opts.entities ?? 12;
  const days = opts.days ?? 20;
  const cats = ['a', 'b', 'c', 'd'];
  const events: StreamEvent[] = [];
  for (let i = 0; i < (opts.events ?? 600); i++) {
    if (events.length && rng.bernoulli(0.08)) { events.push({ ...events[rng.int(events.length)]! }); continue; } // an exact duplicate row
    const k = rng.int(nEnt - 2); // the last two entities never have events
    const r = rng.uniform();
    const ts = r < 0.15 && events.length ? events[rng.int(events.length)]!.ts // an equal time
      : r < 0.25 ? T0 + rng.int(days * 24) * HOUR
        : T0 + rng.int(days * 24 * 3600) * SECOND + rng.int(SECOND);
    const late = rng.uniform();
    events.push({
      k, ts, id: rng.int(50),
      av: late < 0.5 ? null : late < 0.7 ? ts + rng.int(72 * 60) * MINUTE + rng.int(SECOND) : late < 0.8 ? ts + rng.int(30) * MINUTE : late < 0.9 ? ts : ts - rng.int(10) * MINUTE,
      amount: rng.bernoulli(0.1) ? null : Math.round((rng.normal() * 50 + 20) * 100) / 100,
      qty: rng.bernoulli(0.1) ? null : rng.int(20),
      cat: rng.bernoulli(0.05) ? null : cats[rng.int(cats.length)]!,
      flag: rng.bernoulli(0.5),
    });
  }
  const profiles: OnlineStream['profiles'] = [];
  for (let k = 0; k < nEnt; k++) {
    for (let v = rng.int(3); v > 0; v--) profiles.push({ k, valid_from: T0 + rng.int(days * 24) * HOUR + rng.int(HOUR), income: rng.bernoulli(0.1) ? null : 1000 + rng.int(5000), segment: cats[rng.int(3)]! });
  }
  const windows = opts.windowsUs ?? [45 * SECOND, 90 * MINUTE, HOUR, DAY, 7 * DAY];
  const spine: { k: number; t: number }[] = [];
  for (let i = 0; i < (opts.spine ?? 150); i++) {
    const r = rng.uniform();
    const e = events[rng.int(events.length)]!;
    const eff = Math.max(e.ts, e.av ?? e.ts);
    const t = r < 0.35 ? T0 + rng.int(days * 24 * 3600) * SECOND + rng.int(SECOND)
      : r < 0.5 ? e.ts
        : r < 0.65 ? e.ts + windows[rng.int(windows.length)]!
          : r < 0.75 ? eff
            : r < 0.85 ? Math.floor(e.ts / HOUR) * HOUR + HOUR
              : e.ts + 1;
    spine.push({ k: r < 0.35 ? rng.int(nEnt) : e.k, t });
  }
  spine.sort((a, b) => a.t - b.t);
  return { events, profiles, spine };
}

/** An event as pushed: times as ISO text with µs (or epoch ms when whole), the way a producer writes them. */
export function asPushed(e: StreamEvent, i: number): Record<string, unknown> {
  const time = (us: number | null): string | number | null => (us === null ? null : us % 1000 === 0 && i % 3 === 0 ? us / 1000 : isoMicros(us));
  return { ...e, ts: time(e.ts), av: time(e.av) };
}

const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?Z$/;

/** A value's kind as the training set types it: a time (a Date, or ISO 8601 text in UTC), text, number, boolean, list or record. */
function kindOf(v: unknown): unknown {
  if (v === null || v === undefined) return null;
  if (v instanceof Date || (typeof v === 'string' && ISO_TIME.test(v))) return 'time';
  if (typeof v === 'bigint') return 'number';
  if (Array.isArray(v)) return v.map(kindOf);
  if (typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, kindOf(x)]));
  return typeof v;
}

/** Kinds agree wherever both sides have a value (null on either side: the values' comparison decides). */
function sameKinds(a: unknown, e: unknown): boolean {
  if (a === null || e === null) return true;
  if (Array.isArray(a) && Array.isArray(e)) return a.length === e.length && a.every((x, i) => sameKinds(x, e[i]));
  if (typeof a === 'object' && typeof e === 'object') return Object.keys(e as object).every((k) => sameKinds((a as Record<string, unknown>)[k] ?? null, (e as Record<string, unknown>)[k] ?? null));
  return a === e;
}

/**
 * Every column of the online rows has the type the offline training set gives it (times as ISO text, not
 * numbers), row by row: parity of types, not only of values.
 */
export function expectSameTypes(offline: readonly Record<string, unknown>[], online: readonly Record<string, unknown>[], context: (i: number) => string): void {
  expect(online.length).toBe(offline.length);
  offline.forEach((row, i) => {
    for (const col of Object.keys(online[i]!)) {
      if (!(col in row)) continue;
      const want = kindOf(row[col]);
      const got = kindOf(online[i]![col]);
      if (!sameKinds(got, want)) expect.fail(`row ${i} (${context(i)}) ${col}: online ${JSON.stringify(online[i]![col])} is ${JSON.stringify(got)}, offline ${JSON.stringify(row[col])} is ${JSON.stringify(want)}`);
    }
  });
}

/** Rows in the naive evaluator's terms: times (Dates, ISO text) as epoch µs; everything else as it is. */
export function inNaiveTerms<T>(rows: readonly T[]): T[] {
  const conv = (v: unknown): unknown => {
    if (v instanceof Date) return v.getTime() * 1000;
    if (typeof v === 'string' && ISO_TIME.test(v)) { const t = parseTime(v); return 'us' in t ? t.us : v; }
    if (Array.isArray(v)) return v.map(conv);
    if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, conv(x)]));
    return v;
  };
  return rows.map((r) => conv(r) as T);
}

/** `expectParity` of the feature tests, with times compared as instants whatever their form (µs, Date, ISO text). */
export function expectParity(actual: readonly Record<string, unknown>[], expected: readonly Record<string, unknown>[], context: (i: number) => string): void {
  expectValues(inNaiveTerms(actual), inNaiveTerms(expected), context);
}
