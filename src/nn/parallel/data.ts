/**
 * A training set as the data-parallel trainer shares it with its threads: named fields, each a
 * row-major typed array over a SharedArrayBuffer with `width` values per row (a [rows, T, F] sequence
 * field has width T * F). A step gathers its rows of every field into the thread's arena.
 */
import type { Arena } from '../memory.js';

export interface Field {
  readonly name: string;
  readonly width: number;
  readonly data: Float32Array | Int32Array;
}

export interface TrainData {
  readonly rows: number;
  readonly fields: readonly Field[];
}

/** A batch: each field's gathered rows, plus the row count. */
export interface Batch {
  readonly n: number;
  readonly f32: Record<string, Float32Array>;
  readonly i32: Record<string, Int32Array>;
}

/** A field over shared memory (copies `values`), so worker threads can read it. */
export function sharedField(name: string, width: number, values: Float32Array | Int32Array): Field {
  const buf = new SharedArrayBuffer(values.byteLength);
  const data = values instanceof Float32Array ? new Float32Array(buf) : new Int32Array(buf);
  data.set(values as never);
  return { name, width, data };
}

/** Gathers rows `rows[lo..hi)` of every field into arrays of `arena`. */
export function gather(data: TrainData, rows: Int32Array, lo: number, hi: number, arena: Arena): Batch {
  const n = hi - lo;
  const f32: Record<string, Float32Array> = {};
  const i32: Record<string, Int32Array> = {};
  for (const f of data.fields) {
    const w = f.width;
    const out = f.data instanceof Float32Array ? arena.f32(n * w) : arena.i32(n * w);
    for (let i = 0; i < n; i++) {
      const r = rows[lo + i]!;
      out.set(f.data.subarray(r * w, r * w + w) as never, i * w);
    }
    if (out instanceof Float32Array) f32[f.name] = out;
    else i32[f.name] = out;
  }
  return { n, f32, i32 };
}
