/**
 * The PyTorch reference values written by scripts/nn-fixtures/gru.py, and a comparison to 1e-5 (absolute
 * below magnitude 1, relative above).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';

export const gruFixture = JSON.parse(readFileSync(join(import.meta.dirname, 'fixtures', 'gru.json'), 'utf8'));

export function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol = 1e-5, what = ''): void {
  expect(actual.length, `${what} length`).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i]!;
    const e = expected[i]!;
    if (!(Math.abs(a - e) <= tol * Math.max(1, Math.abs(e)))) throw new Error(`${what}[${i}]: ${a} vs expected ${e}`);
  }
}
