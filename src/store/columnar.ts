import type { DuckDBAppender, DuckDBConnection, DuckDBDataChunk as DataChunk, DuckDBType } from '@duckdb/node-api';
import type * as DuckDBBindings from '@duckdb/node-bindings';
import { duckdbApi, duckdbBindings } from './duckdb.js';
import { quoteIdent } from './sql.js';

const duckdb = duckdbBindings();
const { BIGINT, BOOLEAN, DATE, DOUBLE, ENUM, INTEGER, TIMESTAMP, VARCHAR, DuckDBDataChunk } = duckdbApi();

/**
 * Fast bulk writes into DuckDB: rows are written into typed-array column buffers and copied into a
 * DuckDB data chunk with one memcpy per column per 2,048 rows (no per-value N-API calls except for
 * VARCHAR). Numeric, timestamp and date columns take doubles (timestamps are epoch microseconds, dates
 * epoch days; NaN is NULL); enum columns take the category index.
 */
export type ColumnKind =
  | 'int32' | 'int64' | 'float64' | 'timestamp' | 'date' | 'bool' | 'varchar'
  | { readonly enum: readonly string[] };

export type ColumnSchema = Readonly<Record<string, ColumnKind>>;

type BufferFor<K> = K extends 'varchar' ? (string | null)[]
  : K extends 'bool' ? Uint8Array
  : K extends { enum: readonly string[] } ? Uint8Array | Uint16Array
  : Float64Array;

export type ColumnBuffers<S extends ColumnSchema> = { [K in keyof S]: BufferFor<S[K]> };

/** Marks a NULL in an enum column buffer. */
export const ENUM_NULL_U8 = 0xff;
export const ENUM_NULL_U16 = 0xffff;

export const CHUNK_ROWS = duckdb.vector_size();

export function enumOf<const T extends readonly string[]>(values: T): { readonly enum: T } {
  if (values.length >= 0xffff) throw new RangeError(`enum with ${values.length} values is too large`);
  return { enum: values };
}

export function duckdbTypeOf(kind: ColumnKind): DuckDBType {
  if (typeof kind === 'object') return ENUM(kind.enum as string[]);
  switch (kind) {
    case 'int32': return INTEGER;
    case 'int64': return BIGINT;
    case 'float64': return DOUBLE;
    case 'timestamp': return TIMESTAMP;
    case 'date': return DATE;
    case 'bool': return BOOLEAN;
    case 'varchar': return VARCHAR;
  }
}

export function sqlTypeOf(kind: ColumnKind): string {
  if (typeof kind === 'object') return `ENUM(${kind.enum.map((v) => `'${v.replace(/'/g, "''")}'`).join(', ')})`;
  return duckdbTypeOf(kind).toString();
}

/** One column's buffers, as `writeVector` copies them into a DuckDB vector. */
export interface ColState {
  name: string;
  kind: ColumnKind;
  buf: Float64Array | Uint8Array | Uint16Array | (string | null)[];
  /** Byte image of the vector for fixed-width kinds that need conversion (int32, int64, ts, date). */
  scratch: Int32Array | null;
}

export class ColumnarAppender<S extends ColumnSchema> {
  readonly columns: ColumnBuffers<S>;
  private readonly cols: ColState[];
  private readonly chunk: DataChunk;
  private count = 0;
  private written = 0;
  private closed = false;

  private constructor(private readonly appender: DuckDBAppender, schema: S) {
    this.cols = Object.entries(schema).map(([name, kind]) => {
      let buf: ColState['buf'];
      let scratch: Int32Array | null = null;
      if (kind === 'varchar') buf = new Array<string | null>(CHUNK_ROWS).fill(null);
      else if (kind === 'bool') buf = new Uint8Array(CHUNK_ROWS);
      else if (typeof kind === 'object') buf = kind.enum.length < 0xff ? new Uint8Array(CHUNK_ROWS) : new Uint16Array(CHUNK_ROWS);
      else {
        buf = new Float64Array(CHUNK_ROWS);
        if (kind === 'int64' || kind === 'timestamp') scratch = new Int32Array(CHUNK_ROWS * 2);
        else if (kind === 'int32' || kind === 'date') scratch = new Int32Array(CHUNK_ROWS);
      }
      return { name, kind, buf, scratch };
    });
    this.columns = Object.fromEntries(this.cols.map((c) => [c.name, c.buf])) as ColumnBuffers<S>;
    this.chunk = DuckDBDataChunk.create(this.cols.map((c) => duckdbTypeOf(c.kind)), CHUNK_ROWS);
  }

  /** Creates `table` (it must not exist; `temp`: a temp table) with the schema's columns and opens an appender on it. */
  static async create<S extends ColumnSchema>(con: DuckDBConnection, table: string, schema: S, opts: { temp?: boolean } = {}): Promise<ColumnarAppender<S>> {
    const cols = Object.entries(schema).map(([n, k]) => `${quoteIdent(n)} ${sqlTypeOf(k)}`).join(', ');
    await con.run(`CREATE ${opts.temp ? 'TEMP ' : ''}TABLE ${quoteIdent(table)} (${cols})`);
    return new ColumnarAppender(await (opts.temp ? con.createAppender(table, 'main', 'temp') : con.createAppender(table)), schema);
  }

  /** Index of the next row in the column buffers; flushes the buffers first when they are full. */
  next(): number {
    if (this.count === CHUNK_ROWS) this.flushChunk();
    return this.count++;
  }

  get rowsWritten(): number {
    return this.written + this.count;
  }

  private flushChunk(): void {
    const n = this.count;
    if (n === 0) return;
    const chunk = this.chunk.chunk;
    for (let c = 0; c < this.cols.length; c++) {
      const col = this.cols[c]!;
      const vec = duckdb.data_chunk_get_vector(chunk, c);
      writeVector(vec, col, n);
    }
    this.chunk.rowCount = n;
    this.appender.appendDataChunk(this.chunk);
    this.chunk.reset();
    this.written += n;
    this.count = 0;
  }

  /** Writes the pending rows and closes the appender (the rows are committed). */
  close(): number {
    if (this.closed) return this.written;
    this.flushChunk();
    this.appender.flushSync();
    this.appender.closeSync();
    this.closed = true;
    return this.written;
  }
}

/** The buffers of a column of `kind` (numeric, timestamp and date kinds) for `writeVector`. */
export function columnState(name: string, kind: ColumnKind): ColState {
  const buf = new Float64Array(CHUNK_ROWS);
  const scratch = kind === 'int64' || kind === 'timestamp' ? new Int32Array(CHUNK_ROWS * 2) : kind === 'int32' || kind === 'date' ? new Int32Array(CHUNK_ROWS) : null;
  return { name, kind, buf, scratch };
}

/** Copies the first `n` values of a column's buffers into column `c` of a data chunk (NaN is NULL for numbers). */
export function writeChunkColumn(chunk: DataChunk, c: number, col: ColState, n: number): void {
  writeVector(duckdb.data_chunk_get_vector(chunk.chunk, c), col, n);
}

function writeVector(vec: DuckDBBindings.Vector, col: ColState, n: number): void {
  const { kind } = col;
  let validity: Uint8Array | null = null;
  const setNull = (i: number): void => {
    if (!validity) {
      duckdb.vector_ensure_validity_writable(vec);
      validity = duckdb.vector_get_validity(vec, Math.ceil(CHUNK_ROWS / 64) * 8);
    }
    validity[i >> 3]! &= ~(1 << (i & 7));
  };
  if (kind === 'varchar') {
    const buf = col.buf as (string | null)[];
    for (let i = 0; i < n; i++) {
      const s = buf[i];
      if (s == null) setNull(i); else duckdb.vector_assign_string_element(vec, i, s);
    }
    if (validity) duckdb.copy_data_to_vector_validity(vec, 0, (validity as Uint8Array).buffer as ArrayBuffer, (validity as Uint8Array).byteOffset, (validity as Uint8Array).byteLength);
    return;
  }
  let bytes: ArrayBufferView;
  if (typeof kind === 'object' || kind === 'bool') {
    const buf = col.buf as Uint8Array | Uint16Array;
    const nullCode = buf instanceof Uint8Array ? ENUM_NULL_U8 : ENUM_NULL_U16;
    if (kind !== 'bool') for (let i = 0; i < n; i++) if (buf[i] === nullCode) { setNull(i); buf[i] = 0; }
    bytes = buf;
  } else if (kind === 'float64') {
    const buf = col.buf as Float64Array;
    for (let i = 0; i < n; i++) if (buf[i] !== buf[i]) setNull(i);
    bytes = buf;
  } else {
    const src = col.buf as Float64Array;
    const dst = col.scratch!;
    if (kind === 'int32' || kind === 'date') {
      for (let i = 0; i < n; i++) { const v = src[i]!; if (v !== v) { setNull(i); dst[i] = 0; } else dst[i] = v; }
    } else {
      for (let i = 0; i < n; i++) {
        const v = src[i]!;
        if (v !== v) { setNull(i); dst[2 * i] = 0; dst[2 * i + 1] = 0; continue; }
        const hi = Math.floor(v / 4294967296);
        dst[2 * i] = (v - hi * 4294967296) | 0;
        dst[2 * i + 1] = hi;
      }
    }
    bytes = dst;
  }
  const width = bytes instanceof Int32Array && (kind === 'int64' || kind === 'timestamp') ? 8 : (bytes as Uint8Array).BYTES_PER_ELEMENT;
  duckdb.copy_data_to_vector(vec, 0, bytes.buffer as ArrayBuffer, bytes.byteOffset, n * width);
  if (validity) {
    const v = validity as Uint8Array;
    duckdb.copy_data_to_vector_validity(vec, 0, v.buffer as ArrayBuffer, v.byteOffset, v.byteLength);
  }
}
