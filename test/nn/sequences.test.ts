/**
 * Sequence tensors from lastK features. A tiny project's DuckDB training set (event times with
 * microseconds, nulls, a heavy-tailed amount, an entity without events, histories longer than the steps)
 * gives the encoding; the naive evaluator and the online store, read at the same times, give values that
 * learn the same encoding and encode to the same bytes (train/serve parity). Then the JSON form, OOV and
 * null ids, empty and over-long histories, hand-computed values and determinism.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Rng } from '../../src/core/rng.js';
import { entity, eventSource, featureSet, lastK, naiveEvaluate, sum } from '../../src/features/index.js';
import { buildTrainingSet } from '../../src/features/training/index.js';
import { EmbeddedOnlineStore, OnlineFeatureStore, isoMicros } from '../../src/online/index.js';
import {
  Arena, FIRST_ID, NULL_ID, OOV_ID, SequenceEncoding, allocBatch, encodeBatch, encodeRow, learnEncoding, sequenceSpec, sequenceSql,
  type SequenceBatch, type SequenceRowInput,
} from '../../src/nn/index.js';
import { tempDir, tempProject } from '../helpers.js';
import { DAY, HOUR, SECOND, T0, createTable } from '../features/helpers.js';

const acct = entity('acct', { key: 'k' });
const columns = { amount: 'double', qty: 'bigint', cat: 'varchar', flag: 'boolean', due: 'timestamp' } as const;
const ev = eventSource('ev', { entity: acct, timestamp: 'ts', columns });
const seq = lastK(ev, { name: 'seq', k: 6, fields: ['amount', 'cat', 'qty', 'flag', 'due'] });
const defs = [acct, ev, seq, featureSet('s', [seq])];
const spec = sequenceSpec(seq, ev);
const STEPS = 4;
const CATS = ['food', 'fuel', 'cash', 'travel', 'rare'];

type Event = { k: number; ts: number; amount: number | null; qty: number | null; cat: string | null; flag: boolean | null; due: number | null };
type Point = { k: number; t: number };

/** Seeded events (µs offsets, so milliseconds do not suffice), entity 5 without events, and a spine in time order. */
function data(): { events: Event[]; spine: Point[] } {
  const rng = new Rng(5);
  const events: Event[] = [];
  for (let i = 0; i < 160; i++) {
    const k = rng.int(5);
    const ts = T0 + rng.int(20 * 24) * HOUR + rng.int(3600) * SECOND + rng.int(1_000_000);
    const c = rng.uniform();
    events.push({
      k, ts, amount: rng.bernoulli(0.1) ? null : Math.round(rng.lognormal(3, 1.5) * 100) / 100, qty: rng.bernoulli(0.1) ? null : rng.int(5),
      cat: rng.bernoulli(0.1) ? null : c < 0.4 ? 'food' : c < 0.65 ? 'fuel' : c < 0.85 ? 'cash' : c < 0.995 ? 'travel' : 'rare',
      flag: rng.bernoulli(0.1) ? null : rng.bernoulli(0.3), due: rng.bernoulli(0.3) ? null : ts + rng.int(40) * DAY - 5 * DAY,
    });
  }
  const spine: Point[] = [];
  for (let i = 0; i < 40; i++) spine.push({ k: rng.int(6), t: T0 + rng.int(22 * 24) * HOUR });
  spine.push({ k: events[0]!.k, t: events[0]!.ts }, { k: 5, t: T0 + 10 * DAY });
  spine.sort((a, b) => a.t - b.t || a.k - b.k);
  return { events, spine };
}

function sameBytes(a: SequenceBatch, b: SequenceBatch, row = -1, bRow = 0): void {
  const T = a.steps;
  const F = a.width;
  const pick = <A extends Int32Array | Float32Array>(x: A, r: number, per: number): A => (r < 0 ? x : (x.subarray(r * per, (r + 1) * per) as A));
  expect([...pick(a.lengths, row, 1)]).toEqual([...pick(b.lengths, row < 0 ? -1 : bRow, 1)]);
  a.ids.forEach((ids, c) => expect([...pick(ids, row, T)]).toEqual([...pick(b.ids[c]!, row < 0 ? -1 : bRow, T)]));
  expect(new Uint8Array(pick(a.numeric, row, T * F).slice().buffer)).toEqual(new Uint8Array(pick(b.numeric, row < 0 ? -1 : bRow, T * F).slice().buffer));
}

describe('sequences from a lastK feature: train/serve parity', () => {
  let ctx: Awaited<ReturnType<typeof tempProject>>;
  const { events, spine } = data();
  let offline: SequenceRowInput[];
  let offlineMs: SequenceRowInput[];
  let naive: SequenceRowInput[];
  const online: SequenceRowInput[] = [];
  let enc: SequenceEncoding;
  const arena = new Arena(1 << 22, false);

  beforeAll(async () => {
    ctx = await tempProject();
    await createTable(ctx.project, 'ev', { k: 'BIGINT', ts: 'TIMESTAMP', amount: 'DOUBLE', qty: 'BIGINT', cat: 'VARCHAR', flag: 'BOOLEAN', due: 'TIMESTAMP' }, events);
    await createTable(ctx.project, 'spine', { k: 'BIGINT', t: 'TIMESTAMP' }, spine);
    await buildTrainingSet(ctx.project, { spine: { table: 'spine', timestamp: 't' }, features: 's', definitions: defs, table: 'train' });
    const rows = await ctx.project.offline.all<{ at: number; seq: unknown[] }>(`SELECT epoch_us(t)::DOUBLE AS at, ${sequenceSql('seq', spec)} AS seq FROM train ORDER BY t, k`);
    offline = rows.map((r) => ({ at: r.at, events: r.seq }));
    const plain = await ctx.project.offline.all<{ t: string; seq: unknown[] }>('SELECT t, seq FROM train ORDER BY t, k');
    offlineMs = plain.map((r) => ({ at: r.t, events: r.seq }));
    naive = naiveEvaluate(defs, { ev: events }, spine.map((p) => ({ key: p.k, time: p.t })), { features: 's' })
      .map((r, i) => ({ at: spine[i]!.t, events: r.seq as unknown[] }));

    const dir = tempDir('kiln-seq-online-');
    const store = await OnlineFeatureStore.open(EmbeddedOnlineStore.open(`${dir.dir}/online.sqlite`), defs);
    try {
      const byTime = [...events].sort((a, b) => a.ts - b.ts);
      let next = 0;
      for (const p of spine) {
        const start = next;
        while (next < byTime.length && byTime[next]!.ts < p.t) next++;
        if (next > start) await store.push({ source: 'ev' }, byTime.slice(start, next).map((e) => ({ ...e, ts: isoMicros(e.ts), due: e.due === null ? null : isoMicros(e.due) })));
        const asOf = isoMicros(p.t);
        const [row] = await store.getOnlineFeatures([p.k], 's', { asOf });
        online.push({ at: asOf, events: row!.seq as unknown[] });
      }
    } finally {
      await store.close();
      dir.cleanup();
    }
    enc = learnEncoding(spec, offline, { steps: STEPS });
  });
  afterAll(() => ctx.cleanup());

  it('reads the value shapes each side gives', () => {
    const full = offline.find((r) => r.events!.length === 6)!;
    const i = offline.indexOf(full);
    expect(typeof (offline[i]!.events![0] as { ts: unknown }).ts).toBe('number');
    expect((offlineMs[i]!.events![0] as { ts: unknown }).ts).toBeInstanceOf(Date);
    expect(typeof (offlineMs[i]!.events!.find((e) => (e as { qty: unknown }).qty !== null) as { qty: unknown }).qty).toBe('bigint');
    expect(typeof (naive[i]!.events![0] as { ts: unknown }).ts).toBe('number');
    expect((online[i]!.events![0] as { ts: unknown }).ts).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
    expect(offline.some((r) => r.events!.length === 0)).toBe(true);
    expect(online.filter((r) => r.events!.length === 0).length).toBe(offline.filter((r) => r.events!.length === 0).length);
  });

  it('learns from the training set what it would learn from the naive evaluator or the online store', () => {
    expect(enc.rows).toBe(spine.length);
    expect(enc.events).toBeGreaterThan(100);
    expect(enc.categorical.map((f) => f.vocab)).toEqual([['food', 'fuel', 'cash', 'travel']]);
    expect(enc.numeric.map((f) => [f.name, f.kind, f.log])).toEqual([['amount', 'numeric', true], ['qty', 'numeric', false], ['flag', 'numeric', false], ['due', 'time', true]]);
    expect(learnEncoding(spec, naive, { steps: STEPS }).toJSON()).toEqual(enc.toJSON());
    expect(learnEncoding(spec, online, { steps: STEPS }).toJSON()).toEqual(enc.toJSON());
    const ms = learnEncoding(spec, offlineMs, { steps: STEPS });
    expect(ms.categorical).toEqual(enc.categorical);
    ms.numeric.forEach((f, j) => { expect(f.mean).toBeCloseTo(enc.numeric[j]!.mean, 4); expect(f.std).toBeCloseTo(enc.numeric[j]!.std, 4); });
  });

  it('encodes a training row and the naive and online values at the same time to the same bytes', () => {
    const m = arena.mark();
    const train = encodeBatch(enc, offline, arena);
    sameBytes(train, encodeBatch(enc, naive, arena));
    sameBytes(train, encodeBatch(enc, online, arena));
    const one = allocBatch(enc, 1, arena);
    for (let b = 0; b < online.length; b++) {
      encodeRow(enc, one, 0, online[b]!.events, online[b]!.at);
      sameBytes(train, one, b, 0);
    }
    const ms = encodeBatch(enc, offlineMs, arena);
    expect([...ms.lengths]).toEqual([...train.lengths]);
    ms.numeric.forEach((v, i) => expect(Math.abs(v - train.numeric[i]!)).toBeLessThan(1e-3));
    arena.release(m);
  });

  it('keeps the latest events, the latest last, with the gap of the oldest kept from the event before it', () => {
    const m = arena.mark();
    const x = encodeBatch(enc, offline, arena);
    const F = enc.width;
    const gapAt = 2 * enc.numeric.length + 1;
    offline.forEach((r, b) => {
      const n = r.events!.length;
      expect(x.lengths[b]).toBe(Math.min(n, STEPS));
      for (let s = x.lengths[b]!; s < STEPS; s++) {
        expect(x.ids[0]![b * STEPS + s]).toBe(0);
        for (let f = 0; f < F; f++) expect(x.numeric[(b * STEPS + s) * F + f]).toBe(0);
      }
      if (n === 0) return;
      const latest = r.events![n - 1] as { cat: string | null };
      expect(x.ids[0]![b * STEPS + x.lengths[b]! - 1]).toBe(latest.cat === null ? NULL_ID : enc.idOf(0, latest.cat));
      const o = b * STEPS * F;
      expect(x.numeric[o + gapAt + 1]).toBe(n > STEPS ? 0 : 1);
      if (n > STEPS) {
        const prev = (r.events![n - STEPS - 1] as { ts: number }).ts;
        const first = (r.events![n - STEPS] as { ts: number }).ts;
        expect(x.numeric[o + gapAt]).toBe(Math.fround((Math.log1p((first - prev) / 1e6) - enc.gap.mean) / enc.gap.std));
      }
    });
    expect(offline.some((r) => r.events!.length > STEPS)).toBe(true);
    arena.release(m);
  });
});

const small = sequenceSpec(lastK(ev, { name: 'small', k: 3, fields: ['amount', 'cat', 'due'] }), ev);
const at = T0 + 100 * SECOND;
const e = (dt: number, amount: number | null, cat: string | null, due: number | null = null): Record<string, unknown> => ({ ts: T0 + dt * SECOND, amount, cat, due });
const training: SequenceRowInput[] = [
  { at, events: [e(0, 1, 'a'), e(10, 2, 'a'), e(50, 3, 'b')] },
  { at, events: [e(20, 5, 'a', at + 60 * SECOND), e(90, null, null)] },
  { at, events: [] },
];

describe('sequence encodings', () => {
  it('computes each value as documented', () => {
    const enc = learnEncoding(small, training, { minCount: 1 });
    expect(enc.categorical[0]!.vocab).toEqual(['a', 'b']);
    const amount = enc.numeric[0]!;
    const xs = [1, 2, 3, 5];
    const mean = xs.reduce((s, v) => s + v, 0) / 4;
    expect(amount.log).toBe(false);
    expect(amount.mean).toBeCloseTo(mean, 12);
    expect(amount.std).toBeCloseTo(Math.sqrt(xs.reduce((s, v) => s + (v - mean) ** 2, 0) / 4), 12);
    const ages = [100, 90, 50, 80, 10].map((s) => Math.log1p(s));
    expect(enc.age.mean).toBeCloseTo(ages.reduce((s, v) => s + v, 0) / 5, 12);
    const gaps = [10, 40, 70].map((s) => Math.log1p(s));
    expect(enc.gap.mean).toBeCloseTo(gaps.reduce((s, v) => s + v, 0) / 3, 12);
    expect(enc.numeric[1]!).toMatchObject({ name: 'due', kind: 'time', log: true, mean: -Math.log1p(60), std: 1 });
    const x = encodeBatch(enc, training, new Arena(1 << 16, false));
    expect(enc.featureNames()).toEqual(['amount', 'amount:missing', 'due', 'due:missing', 'age', 'gap', 'gap:unknown']);
    const F = enc.width;
    const step = (b: number, s: number): number[] => [...x.numeric.subarray((b * 3 + s) * F, (b * 3 + s + 1) * F)];
    const f = Math.fround;
    expect(step(1, 0)).toEqual([f((5 - amount.mean) / amount.std), 0, 0, 0, f((Math.log1p(80) - enc.age.mean) / enc.age.std), 0, 1]);
    expect(step(1, 1)).toEqual([0, 1, 0, 1, f((Math.log1p(10) - enc.age.mean) / enc.age.std), f((Math.log1p(70) - enc.gap.mean) / enc.gap.std), 0]);
    expect([...x.ids[0]!]).toEqual([FIRST_ID, FIRST_ID, FIRST_ID + 1, FIRST_ID, NULL_ID, 0, 0, 0, 0]);
    expect([...x.lengths]).toEqual([3, 2, 0]);
  });

  it('maps unseen values to the OOV id, rare ones too, and nulls to their own id', () => {
    const enc = learnEncoding(small, training);
    expect(enc.categorical[0]!.vocab).toEqual(['a']);
    expect(enc.vocabSize(0)).toBe(FIRST_ID + 1);
    const x = encodeBatch(enc, [{ at, events: [e(1, 1, 'b'), e(2, 1, 'never seen'), e(3, 1, null), e(4, 1, 'a')] }], new Arena(1 << 16, false));
    expect([...x.ids[0]!]).toEqual([OOV_ID, NULL_ID, FIRST_ID]);
    expect(learnEncoding(small, training, { minCount: 1, maxVocab: 1 }).categorical[0]!.vocab).toEqual(['a']);
  });

  it('encodes empty histories as zeros, and over-long ones by their latest steps; a reused row is cleared', () => {
    const enc = learnEncoding(small, training, { steps: 2 });
    const arena = new Arena(1 << 16, false);
    const one = allocBatch(enc, 1, arena);
    encodeRow(enc, one, 0, training[0]!.events, at);
    expect(one.lengths[0]).toBe(2);
    expect(one.ids[0]![1]).toBe(enc.idOf(0, 'b'));
    expect(one.numeric[enc.width + 6]).toBe(0);
    for (const empty of [[], null, undefined]) {
      encodeRow(enc, one, 0, empty, at);
      expect(one.lengths[0]).toBe(0);
      expect([...one.ids[0]!, ...one.numeric].every((v) => v === 0)).toBe(true);
    }
    const mark = arena.mark();
    for (let i = 0; i < 50; i++) encodeRow(enc, one, 0, training[0]!.events, at);
    expect(arena.mark()).toBe(mark);
  });

  it('round-trips through JSON and rejects damaged or newer encodings', () => {
    const enc = learnEncoding(small, training, { minCount: 1 });
    const text = JSON.stringify(enc);
    const back = SequenceEncoding.fromJSON(text);
    expect(back.toJSON()).toEqual(enc.toJSON());
    expect(JSON.stringify(back)).toBe(text);
    const arena = new Arena(1 << 16, false);
    sameBytes(encodeBatch(enc, training, arena), encodeBatch(back, training, arena));
    expect(back.matches(small)).toBe(true);
    expect(back.matches(spec)).toBe(false);
    const j = JSON.parse(text) as Record<string, unknown>;
    expect(() => SequenceEncoding.fromJSON({ ...j, version: 2 })).toThrow(expect.objectContaining({ code: 'MODEL_FORMAT_TOO_NEW' }));
    expect(() => SequenceEncoding.fromJSON({ ...j, format: 'other' })).toThrow(expect.objectContaining({ code: 'MODEL_FORMAT_INVALID' }));
    expect(() => SequenceEncoding.fromJSON({ ...j, age: { mean: 0, std: 0 } })).toThrow(/age.std/);
    expect(() => SequenceEncoding.fromJSON('{')).toThrow(expect.objectContaining({ code: 'MODEL_FORMAT_INVALID' }));
    expect(() => SequenceEncoding.fromJSON({ ...j, fields: [{ name: 'cat', type: 'varchar', kind: 'categorical', vocab: ['a', 'a'] }] })).toThrow(/vocab/);
  });

  it('is deterministic: same rows, same bytes; the vocabulary does not depend on row order', () => {
    const rows = [...training, { at, events: [e(5, 7, 'c'), e(6, 8, 'c'), e(7, 9, 'c')] }];
    const a = learnEncoding(small, rows, { minCount: 1 });
    expect(JSON.stringify(learnEncoding(small, rows, { minCount: 1 }))).toBe(JSON.stringify(a));
    expect(learnEncoding(small, [...rows].reverse(), { minCount: 1 }).categorical).toEqual(a.categorical);
    expect(a.categorical[0]!.vocab).toEqual(['a', 'c', 'b']);
    const arena = new Arena(1 << 16, false);
    sameBytes(encodeBatch(a, rows, arena), encodeBatch(a, rows, arena));
  });

  it('refuses what it cannot read', () => {
    const total = sum(ev, 'amount', { name: 'total', window: '7d' });
    expect(() => sequenceSpec(total, ev)).toThrow(/lastK/);
    expect(() => sequenceSpec(seq, ev, { categorical: ['due'] })).toThrow(/time/);
    expect(() => learnEncoding(small, training, { steps: 4 })).toThrow(/steps/);
    const enc = learnEncoding(small, training);
    expect(() => encodeBatch(enc, [{ at, events: [{ amount: 1 }] }], new Arena(1 << 16, false))).toThrow(expect.objectContaining({ code: 'SIGNATURE_MISMATCH' }));
    expect(() => encodeBatch(enc, [{ at: 'yesterday', events: [e(1, 1, 'a')] }], new Arena(1 << 16, false))).toThrow(/as-of/);
  });
});
