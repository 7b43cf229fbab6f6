/**
 * The aggregator algebra the online tiles will rely on: merging partial states equals folding everything,
 * the empty state is a neutral element, and `remove` (where declared) undoes `add`.
 */
import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/core/rng.js';
import { AGGREGATORS, finishMerged, type AggregatorKind, type Observation } from '../../src/features/index.js';
import { normalise } from './helpers.js';

const PARAMS = { k: 4, fields: ['a'], p: 0.3, unit: 'h' as const };

function observations(rng: Rng, n: number): Observation[] {
  return Array.from({ length: n }, () => {
    const value = rng.bernoulli(0.15) ? null : rng.bernoulli(0.5) ? rng.int(5) : Math.round(rng.normal() * 1000) / 10;
    return { time: rng.int(20) * 1e6, tie: rng.bernoulli(0.3) ? null : rng.int(3), value, fields: { a: value } };
  });
}

function fold(kind: AggregatorKind, xs: readonly Observation[]): unknown {
  const agg = kind.create(PARAMS);
  return xs.reduce((s, x) => agg.add(s, x), agg.empty());
}

function approxEqual(a: unknown, b: unknown): void {
  if (typeof a === 'number' && typeof b === 'number') expect(a).toBeCloseTo(b, 9);
  else expect(normalise(a)).toEqual(normalise(b));
}

describe.each(Object.entries(AGGREGATORS))('%s', (_name, kind: AggregatorKind) => {
  const at = { at: 25e6 };
  it('merges partial states into the state of the whole', () => {
    const rng = new Rng(3);
    for (let trial = 0; trial < 50; trial++) {
      const xs = observations(rng, rng.int(30));
      const cut = rng.int(xs.length + 1);
      const agg = kind.create(PARAMS);
      const whole = agg.finish(fold(kind, xs), at);
      const merged = agg.finish(agg.merge(fold(kind, xs.slice(0, cut)), fold(kind, xs.slice(cut))), at);
      approxEqual(merged, whole);
      approxEqual(agg.finish(agg.merge(agg.empty(), fold(kind, xs)), at), whole);
    }
  });

  it('merges into its first argument only: the second (a shared tile state) is left as it was', () => {
    const rng = new Rng(4);
    for (let trial = 0; trial < 30; trial++) {
      const agg = kind.create(PARAMS);
      const b = fold(kind, observations(rng, rng.int(20)));
      const before = agg.finish(agg.merge(agg.empty(), b), at);
      const snapshot = JSON.stringify(normalise(b instanceof Map ? [...b] : b));
      agg.merge(fold(kind, observations(rng, rng.int(20))), b);
      expect(JSON.stringify(normalise(b instanceof Map ? [...b] : b))).toBe(snapshot);
      approxEqual(agg.finish(agg.merge(agg.empty(), b), at), before);
    }
  });

  it('finishes a merge without changing either state (finishMerged)', () => {
    const rng = new Rng(6);
    for (let trial = 0; trial < 60; trial++) {
      const agg = kind.create(PARAMS);
      const a = fold(kind, observations(rng, rng.int(25)));
      const b = fold(kind, observations(rng, rng.int(6)));
      const snap = (x: unknown): string => JSON.stringify(normalise(x instanceof Map ? [...x] : x));
      const [sa, sb] = [snap(a), snap(b)];
      const expected = agg.finish(agg.merge(agg.merge(agg.empty(), a), b), at);
      approxEqual(finishMerged(agg, a, b, at), expected);
      approxEqual(finishMerged(agg, a, null, at), agg.finish(a, at));
      expect([snap(a), snap(b)]).toEqual([sa, sb]);
    }
  });

  it('round-trips its state through JSON (encode/decode, or as it is)', () => {
    const rng = new Rng(8);
    for (let trial = 0; trial < 30; trial++) {
      const agg = kind.create(PARAMS);
      const st = fold(kind, observations(rng, rng.int(25)));
      const more = fold(kind, observations(rng, 5));
      const expected = agg.finish(agg.merge(agg.merge(agg.empty(), st), more), at);
      const text = JSON.stringify(agg.encode ? agg.encode(st) : st);
      const back = agg.decode ? agg.decode(JSON.parse(text)) : JSON.parse(text);
      approxEqual(agg.finish(back, at), agg.finish(st, at));
      approxEqual(agg.finish(agg.merge(back, more), at), expected);
    }
  });

  it('declares an empty value that matches its finished empty state', () => {
    const agg = kind.create(PARAMS);
    const empty = agg.finish(agg.empty(), at);
    expect(empty).toEqual({ '0': 0, null: null, '[]': [] }[kind.empty]);
  });
});

const invertible = Object.entries(AGGREGATORS).filter(([, k]) => k.create(PARAMS).remove !== undefined);
describe.each(invertible)('%s (invertible)', (_name, kind: AggregatorKind) => {
  it('removes what it added', () => {
    const rng = new Rng(5);
    const at = { at: 25e6 };
    for (let trial = 0; trial < 50; trial++) {
      const xs = observations(rng, 1 + rng.int(30));
      const keep = rng.int(xs.length + 1);
      const agg = kind.create(PARAMS);
      let s = fold(kind, xs);
      for (const x of xs.slice(keep)) s = agg.remove!(s, x);
      approxEqual(agg.finish(s, at), agg.finish(fold(kind, xs.slice(0, keep)), at));
    }
  });
});

it('counts distinct values by value and type: 1 and "1" differ, 0 and -0 do not', () => {
  const agg = AGGREGATORS.countDistinct.create({});
  const s = [1, '1', 0, -0, true, 'true', null, 1].reduce((st, value) => agg.add(st, { time: 0, tie: null, value }), agg.empty());
  expect(agg.finish(s, { at: 0 })).toBe(5);
});

it('declares remove exactly for the invertible operators', () => {
  expect(invertible.map(([n]) => n)).toEqual(['count', 'sum', 'mean', 'stddev', 'countDistinct', 'percentile']);
});
