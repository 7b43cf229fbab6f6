/** The band kernel's event order: a counting sort by entity, then time within an entity, stable. */
import { describe, expect, it } from 'vitest';
import { eventOrder } from '../../src/features/training/bands/run.js';
import { Rng } from '../../src/core/rng.js';

describe('eventOrder', () => {
  it('orders by entity code, then time, keeping the input order of equal times', () => {
    const kid = Float64Array.from([3, 1, 2, 1, 3, 1, 2]);
    const ts = Float64Array.from([5, 9, 1, 2, 5, 9, 0]);
    const order = eventOrder(kid, ts, 1, 3);
    expect([...order]).toEqual([3, 1, 5, 6, 2, 0, 4]);
  });

  it('agrees with a comparison sort on seeded random input, in-order entities included', () => {
    const rng = new Rng(5);
    const n = 5000;
    const kid = new Float64Array(n);
    const ts = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      kid[i] = 10 + rng.int(40);
      // Entities below 20 arrive in time order (the usual event log); the rest at random, with ties.
      ts[i] = kid[i]! < 20 ? i : rng.int(100);
    }
    const expected = Array.from({ length: n }, (_, i) => i).sort((a, b) => kid[a]! - kid[b]! || ts[a]! - ts[b]! || a - b);
    expect([...eventOrder(kid, ts, 10, 49)]).toEqual(expected);
  });

  it('handles no events and entities without events', () => {
    expect([...eventOrder(new Float64Array(0), new Float64Array(0), 1, 5)]).toEqual([]);
    expect([...eventOrder(Float64Array.from([4]), Float64Array.from([1]), 1, 5)]).toEqual([0]);
  });
});
