/**
 * Float32 values as order-preserving int32 keys: key(x) < key(t) exactly when fround(x) < fround(t)
 * (-0 is folded into +0; NaN has no key). Keys make binning and prediction cheap: a sort is a radix
 * sort, and "how many thresholds are <= x" is a table lookup on the key's top 12 bits (sign, exponent
 * and the first three mantissa bits) followed by a scan of the few thresholds that share that bucket.
 */

const F32 = new Float32Array(1);
const I32 = new Int32Array(F32.buffer);

/** Order-preserving key of fround(x); x must not be NaN. */
export function floatKey(x: number): number {
  F32[0] = x + 0;
  const b = I32[0]!;
  return b ^ ((b >> 31) & 0x7fffffff);
}

/** The key of float32 bits b (as read through an Int32Array view of a Float32Array). */
export function bitsKey(b: number): number {
  return b ^ ((b >> 31) & 0x7fffffff);
}

/** Whether float32 bits b are a NaN. */
export function bitsIsNaN(b: number): boolean {
  return (b & 0x7fffffff) > 0x7f800000;
}

export function keyToFloat(k: number): number {
  I32[0] = k ^ ((k >> 31) & 0x7fffffff);
  return F32[0]!;
}

const BUCKET_SHIFT = 20;
const BUCKETS = 4096;

/** Sorted keys with, per key bucket, the index of the first key at or after the bucket. */
export interface RankTable {
  keys: Int32Array;
  start: Uint32Array;
}

export function rankTable(sortedKeys: Int32Array): RankTable {
  const start = new Uint32Array(BUCKETS + 1);
  let r = 0;
  for (let b = 0; b <= BUCKETS; b++) {
    while (r < sortedKeys.length && (sortedKeys[r]! >> BUCKET_SHIFT) + BUCKETS / 2 < b) r++;
    start[b] = r;
  }
  return { keys: sortedKeys, start };
}

/** Number of table keys <= k. */
export function rankOf(t: RankTable, k: number): number {
  const keys = t.keys;
  const bkt = (k >> BUCKET_SHIFT) + BUCKETS / 2;
  let r = t.start[bkt]!;
  let end = t.start[bkt + 1]!;
  if (end - r > 8) {
    while (r < end) {
      const mid = (r + end) >>> 1;
      if (keys[mid]! <= k) r = mid + 1;
      else end = mid;
    }
    return r;
  }
  while (r < end && keys[r]! <= k) r++;
  return r;
}

/** LSD radix sort of int32 keys (ascending, signed), carrying an optional payload; stable. */
export function radixSort(keys: Int32Array, payload: Uint32Array | null): void {
  const n = keys.length;
  const a = new Uint32Array(n);
  const b = new Uint32Array(n);
  for (let i = 0; i < n; i++) a[i] = (keys[i]! ^ 0x80000000) >>> 0;
  const pa = payload ? Uint32Array.from(payload) : null;
  const pb = payload ? new Uint32Array(n) : null;
  const count = new Uint32Array(2048);
  // Three passes (11 + 11 + 10 bits): a -> b -> a -> b.
  radixPass(a, b, pa, pb, 0, count);
  radixPass(b, a, pb, pa, 11, count);
  radixPass(a, b, pa, pb, 22, count);
  for (let i = 0; i < n; i++) keys[i] = (b[i]! ^ 0x80000000) | 0;
  if (payload && pb) payload.set(pb);
}

function radixPass(src: Uint32Array, dst: Uint32Array, psrc: Uint32Array | null, pdst: Uint32Array | null, shift: number, count: Uint32Array): void {
  const n = src.length;
  count.fill(0);
  for (let i = 0; i < n; i++) count[(src[i]! >>> shift) & 2047]!++;
  let sum = 0;
  for (let d = 0; d < 2048; d++) {
    const c = count[d]!;
    count[d] = sum;
    sum += c;
  }
  if (psrc && pdst) {
    for (let i = 0; i < n; i++) {
      const v = src[i]!;
      const d = count[(v >>> shift) & 2047]!++;
      dst[d] = v;
      pdst[d] = psrc[i]!;
    }
  } else {
    for (let i = 0; i < n; i++) {
      const v = src[i]!;
      dst[count[(v >>> shift) & 2047]!++] = v;
    }
  }
}
