import { Rng } from '../core/rng.js';
import type { ColumnarAppender } from '../store/index.js';
import { CAT_MERCHANT_SHARE, CAT_TIER_W } from './model.js';
import { CATEGORIES, type MERCHANTS_SCHEMA } from './schema.js';

/** Random stream of the merchant table (borrower streams are the positive borrower ids). */
export const MERCHANT_STREAM = -1;

/** Merchant ids per category: category c owns ids [start[c], start[c] + count[c]). */
export interface MerchantIndex {
  total: number;
  start: Float64Array;
  count: Float64Array;
}

export function merchantCount(borrowers: number): number {
  return Math.max(200, Math.ceil(borrowers / 50));
}

export function buildMerchantIndex(borrowers: number): MerchantIndex {
  const n = merchantCount(borrowers);
  const k = CATEGORIES.length;
  const count = new Float64Array(k);
  let assigned = 0;
  for (let c = 0; c < k; c++) {
    count[c] = Math.max(2, Math.round(CAT_MERCHANT_SHARE[c]! * n));
    assigned += count[c]!;
  }
  count[0] = count[0]! + Math.max(0, n - assigned); // rounding remainder goes to grocery
  const start = new Float64Array(k);
  let next = 1;
  for (let c = 0; c < k; c++) { start[c] = next; next += count[c]!; }
  return { total: next - 1, start, count };
}

/** Writes the merchants table: id, category and risk tier (1..3, drawn from the category's profile). */
export function writeMerchants(w: ColumnarAppender<typeof MERCHANTS_SCHEMA>, idx: MerchantIndex, seed: number): void {
  const rng = new Rng(seed, MERCHANT_STREAM);
  const { merchant_id: id, category, risk_tier: tier } = w.columns;
  for (let c = 0; c < CATEGORIES.length; c++) {
    const s = idx.start[c]!;
    const tierW = CAT_TIER_W[c]!;
    for (let j = 0; j < idx.count[c]!; j++) {
      const i = w.next();
      id[i] = s + j;
      category[i] = c;
      tier[i] = 1 + rng.categorical(tierW);
    }
  }
}

/** A merchant of category `c` for a uniform draw `u`: popularity is skewed (u^2), as in real card data. */
export function pickMerchant(idx: MerchantIndex, c: number, u: number): number {
  return idx.start[c]! + Math.floor(u * u * idx.count[c]!);
}
