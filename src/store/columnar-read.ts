/**
 * Fast bulk reads out of DuckDB, the counterpart of columnar.ts: a DOUBLE column of a result chunk is
 * copied into a Float64Array with one memcpy, then its NULLs (read off the validity words, 64 rows at a
 * time, skipping words with no NULL) are written as NaN. No per-value N-API call.
 */
import type { DuckDBDataChunk } from '@duckdb/node-api';
import { duckdbBindings } from './duckdb.js';

/** Copies DOUBLE column `column` of `chunk` into `out` from `offset` on; NULL becomes NaN. Returns the row count. */
export function readDoubles(chunk: DuckDBDataChunk, column: number, out: Float64Array, offset: number): number {
  const duckdb = duckdbBindings();
  const n = chunk.rowCount;
  if (n === 0) return 0;
  if (offset + n > out.length) throw new RangeError(`readDoubles: ${n} rows do not fit at ${offset} in ${out.length}`);
  const vec = duckdb.data_chunk_get_vector(chunk.chunk, column);
  const bytes = duckdb.vector_get_data(vec, n * 8);
  out.set(bytes.byteOffset % 8 === 0 ? new Float64Array(bytes.buffer, bytes.byteOffset, n) : new Float64Array(bytes.slice().buffer), offset);
  const words = Math.ceil(n / 64);
  const validity = duckdb.vector_get_validity(vec, words * 8);
  if (!validity) return n;
  const v = validity.byteOffset % 4 === 0 ? new Uint32Array(validity.buffer, validity.byteOffset, words * 2) : new Uint32Array(validity.slice().buffer);
  for (let w = 0; w < v.length; w++) {
    const bits = v[w]!;
    if (bits === 0xffffffff) continue;
    const base = w * 32;
    for (let b = 0; b < 32 && base + b < n; b++) if (((bits >>> b) & 1) === 0) out[offset + base + b] = NaN;
  }
  return n;
}
