/**
 * The aggregator algebra the online tiles will rely on: merging partial states equals folding everything,
 * the empty state is a neutral element, and `remove` (where declared) undoes `add`.
 */
import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/core/rng.js';
import { AGGREGATORS, type AggregatorKind, type Observation } from '../../src/features/index.js';
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

it('declares remove exactly for the invertible operators', () => {
  expect(invertible.map(([n]) => n)).toEqual(['count', 'sum', 'mean', 'stddev', 'countDistinct', 'percentile']);
});
