/**
 * The PyTorch references of test/nn/fixtures/transformer.json (written by
 * scripts/nn-fixtures/transformer.py): loading them into kiln's parameters and comparing to them.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import type { Params } from '../../src/nn/index.js';

export interface TorchCase {
  params: Record<string, number[]>;
  grads: Record<string, number[]>;
  x: number[];
  w: number[];
  y: number[];
  dx: number[];
}

export interface TransformerFixture {
  config: { dim: number; heads: number; ff: number; layers: number; batch: number; time: number; lengths: number[] };
  layerNorm: TorchCase & { rows: number; dim: number };
  attention: TorchCase;
  encoderPost: TorchCase & { normFirst: boolean; activation: 'relu' | 'gelu'; finalNorm: boolean };
  encoderPre: TorchCase & { normFirst: boolean; activation: 'relu' | 'gelu'; finalNorm: boolean };
  positions: TorchCase & { maxLen: number; freqs: number[]; gaps: number[] };
}

export const fixture: TransformerFixture = JSON.parse(readFileSync(join(import.meta.dirname, 'fixtures', 'transformer.json'), 'utf8'));

/** Copies the fixture's parameter values into `params` (kiln name = prefix + torch name); every parameter must be covered. */
export function loadParams(params: Params, c: TorchCase, prefix = ''): void {
  const seen = new Set<string>();
  for (const [n, v] of Object.entries(c.params)) {
    const name = `${prefix}${n}`;
    const p = params.get(name);
    expect(p.value.length, name).toBe(v.length);
    p.value.set(v);
    seen.add(name);
  }
  expect(params.list.map((p) => p.name).filter((n) => !seen.has(n))).toEqual([]);
}

/** |a - e| <= atol + rtol |e| everywhere (1e-5 both by default). */
export function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, what: string, atol = 1e-5, rtol = 1e-5): void {
  expect(actual.length, what).toBe(expected.length);
  let worst = 0;
  let at = -1;
  for (let i = 0; i < expected.length; i++) {
    const err = Math.abs(actual[i]! - expected[i]!) - rtol * Math.abs(expected[i]!);
    if (!(err <= worst)) {
      worst = err;
      at = i;
    }
  }
  if (at >= 0 && !(worst <= atol)) throw new Error(`${what}: at ${at} got ${actual[at]} expected ${expected[at]}`);
}

/** Compares every parameter gradient to the fixture's. */
export function expectGrads(params: Params, c: TorchCase, prefix = ''): void {
  for (const [n, g] of Object.entries(c.grads)) expectClose(params.get(`${prefix}${n}`).grad, g, `grad ${n}`);
}
