import type { ColumnBuffers, ColumnSchema } from '../store/index.js';
import type { RowSink } from './sinks.js';

type Column = Float64Array | Uint8Array | Uint16Array;

/** Column buffers with the same layout as ColumnarAppender's (so rows can be copied chunk by chunk). */
function allocColumns(schema: ColumnSchema, rows: number): [string, Column][] {
  return Object.entries(schema).map(([name, kind]) => {
    if (kind === 'varchar') throw new Error(`sim batches do not support varchar columns (${name})`);
    if (kind === 'bool') return [name, new Uint8Array(rows)];
    if (typeof kind === 'object') return [name, kind.enum.length < 0xff ? new Uint8Array(rows) : new Uint16Array(rows)];
    return [name, new Float64Array(rows)];
  });
}

export type EmitBatch = (table: number, rows: number, columns: ArrayBuffer[]) => void;

/**
 * A RowSink for the generator worker: rows fill fixed column buffers of `chunkRows` rows; each full
 * chunk is copied out and emitted (the buffers themselves are reused, as ColumnarAppender's are). Only
 * the final chunk of a table may be partial.
 */
export class BatchSink<S extends ColumnSchema> implements RowSink<S> {
  readonly columns: ColumnBuffers<S>;
  private readonly bufs: Column[];
  private count = 0;

  constructor(readonly table: number, schema: S, private readonly chunkRows: number, private readonly emit: EmitBatch) {
    const cols = allocColumns(schema, chunkRows);
    this.bufs = cols.map(([, b]) => b);
    this.columns = Object.fromEntries(cols) as ColumnBuffers<S>;
  }

  next(): number {
    if (this.count === this.chunkRows) this.flush();
    return this.count++;
  }

  flush(): void {
    const n = this.count;
    if (n === 0) return;
    this.emit(this.table, n, this.bufs.map((b) => b.slice(0, n).buffer as ArrayBuffer));
    this.count = 0;
  }
}

/**
 * Appends one emitted chunk to a sink with ColumnarAppender semantics: the first `next()` flushes the
 * previous (full) chunk and returns 0, the columns are copied in whole, and the remaining `next()` calls
 * only advance the row count.
 */
export function appendBatch<S extends ColumnSchema>(w: RowSink<S>, rows: number, columns: ArrayBuffer[]): void {
  const i0 = w.next();
  if (i0 !== 0) throw new Error(`sim: batch appended at row ${i0} of a chunk (expected 0)`);
  const dst = Object.values(w.columns) as Column[];
  for (let k = 0; k < dst.length; k++) {
    const d = dst[k]!;
    const Ctor = d.constructor as new (b: ArrayBuffer, o: number, n: number) => Column;
    d.set(new Ctor(columns[k]!, 0, rows));
  }
  for (let j = 1; j < rows; j++) w.next();
}
