/**
 * Reads numeric columns of a CSV or Parquet file into Float64Arrays with DuckDB, at DuckDB's speed:
 * DuckDB parses the file on all its threads into a materialized result, and each 2048-row chunk's
 * DOUBLE vector is copied into the output array with one memcpy (validity bits become NaN). No JS
 * value is made per cell.
 */
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { gunzipSync, constants as zlibConstants } from 'node:zlib';
import type { DuckDBDataChunk, DuckDBMaterializedResult } from '@duckdb/node-api';
import { KilnError } from '../core/errors.js';
import { OfflineStore } from './offline.js';
import { quoteIdent, quoteLiteral } from './sql.js';

/** DuckDB types that cast to DOUBLE without loss of meaning (BOOLEAN reads as 0/1). */
export const NUMERIC_TYPE = /^(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT|UTINYINT|USMALLINT|UINTEGER|UBIGINT|UHUGEINT|FLOAT|DOUBLE|DECIMAL.*|BOOLEAN)$/;

export interface NumericFileOptions {
  /** Strings read as missing in CSV files (default 'NA' and empty). */
  na?: readonly string[];
  /** DuckDB threads for parsing (default: all cores). */
  threads?: number;
}

export interface NumericColumns {
  rows: number;
  /** One array per requested column, in the order asked; NaN = missing. */
  columns: Float64Array[];
}

/**
 * An opened data file: its columns (as DuckDB reads them) and, for CSV files whose first header cell is
 * empty (row names written by R's `write.csv` or pandas' `to_csv`), that column's name as `rowId`.
 */
export class NumericFile {
  private constructor(
    readonly path: string,
    readonly format: 'csv' | 'parquet',
    readonly names: string[],
    readonly types: string[],
    readonly rowId: string | null,
    readonly bytes: number,
    private readonly store: OfflineStore,
    private readonly source: string,
  ) {}

  /** Checks the file exists and is readable (FILE_NOT_FOUND / FILE_UNREADABLE), then reads its schema. */
  static async open(path: string, opts: NumericFileOptions & { what?: string } = {}): Promise<NumericFile> {
    const bytes = checkReadable(path, opts.what ?? 'data file');
    const format = /\.(parquet|pq)$/i.test(path) ? 'parquet' : 'csv';
    const na = opts.na ?? ['NA', ''];
    const source = format === 'parquet' ? `read_parquet(${quoteLiteral(path)})` : `read_csv(${quoteLiteral(path)}, nullstr=[${na.map(quoteLiteral).join(', ')}])`;
    const store = await OfflineStore.open(':memory:', opts.threads ? { threads: opts.threads } : {});
    try {
      let described: { column_name: string; column_type: string }[];
      try {
        described = await store.all(`DESCRIBE SELECT * FROM ${source}`);
      } catch (e) {
        throw new KilnError('FILE_INVALID', `cannot read ${path} as ${format === 'csv' ? 'CSV' : 'Parquet'}: ${firstLine(e)}; check the file is ${format === 'csv' ? 'comma-separated text with a header line' : 'a Parquet file'}`, { path: [path], cause: e });
      }
      const names = described.map((d) => d.column_name);
      const types = described.map((d) => d.column_type);
      // A headerless CSV (every name DuckDB's column0, column1, ...) has no row-names column, whatever its first cell.
      const headed = names.slice(1).some((nm) => !/^column\d+$/.test(nm));
      const rowId = format === 'csv' ? (headed && csvFirstHeaderEmpty(path) ? names[0]! : null) : names.includes('__index_level_0__') ? '__index_level_0__' : null;
      return new NumericFile(path, format, names, types, rowId, bytes, store, source);
    } catch (e) {
      store.close();
      throw e;
    }
  }

  /** Whether the file holds no data rows (a CSV of a header line alone reads as text columns). */
  async isEmpty(): Promise<boolean> {
    try {
      return (await this.store.all(`SELECT 1 AS one FROM ${this.source} LIMIT 1`)).length === 0;
    } catch (e) {
      throw readError(this.path, e);
    }
  }

  typeOf(name: string): string | undefined {
    const k = this.names.indexOf(name);
    return k < 0 ? undefined : this.types[k];
  }

  /**
   * Reads the named columns (which the caller has checked exist and are numeric) as float64.
   * `onProgress` gets the fraction of the file DuckDB has read, about every 100 ms.
   */
  async readDoubles(columns: readonly string[], onProgress?: (fraction: number) => void): Promise<NumericColumns> {
    const sql = columns.length === 0
      ? `SELECT count(*)::BIGINT FROM ${this.source}`
      : `SELECT ${columns.map((c) => `CAST(${quoteIdent(c)} AS DOUBLE)`).join(', ')} FROM ${this.source}`;
    const timer = onProgress ? setInterval(() => {
      const p = this.store.con.progress.percentage;
      if (p >= 0) onProgress(p / 100);
    }, 100) : undefined;
    let result: DuckDBMaterializedResult;
    try {
      result = await this.store.con.run(sql);
    } catch (e) {
      throw readError(this.path, e);
    } finally {
      if (timer) clearInterval(timer);
    }
    if (columns.length === 0) {
      const chunk = result.getChunk(0);
      return { rows: Number(chunk.getColumnVector(0).getItem(0)), columns: [] };
    }
    const rows = result.rowCount;
    const out = columns.map(() => new Float64Array(rows));
    let at = 0;
    for (let c = 0; c < result.chunkCount; c++) {
      const chunk = result.getChunk(c);
      const m = chunk.rowCount;
      for (let j = 0; j < columns.length; j++) copyDoubles(chunk, j, m, out[j]!, at);
      at += m;
    }
    return { rows: at, columns: at === rows ? out : out.map((a) => a.subarray(0, at)) };
  }

  close(): void {
    this.store.close();
  }
}

/** The parts of @duckdb/node-api's DuckDBDoubleVector that hold its data (a view of DuckDB's memory). */
interface DoubleVectorData {
  items?: unknown;
  validity?: { data?: unknown; offset?: unknown };
}

/** Copies one DOUBLE column of a chunk into `dst` at `at`: one memcpy, then NaN where the validity bit is 0. */
export function copyDoubles(chunk: DuckDBDataChunk, j: number, m: number, dst: Float64Array, at: number): void {
  const vector = chunk.getColumnVector(j);
  const raw = vector as unknown as DoubleVectorData;
  const items = raw.items;
  const validity = raw.validity?.data;
  if (!(items instanceof Float64Array) || items.length < m || (validity !== null && !(validity instanceof BigUint64Array)) || (raw.validity?.offset ?? 0) !== 0) {
    // Not the layout this was written against (another @duckdb/node-api version): the slow, safe way.
    for (let i = 0; i < m; i++) { const v = vector.getItem(i); dst[at + i] = v === null ? NaN : Number(v); }
    return;
  }
  dst.set(m === items.length ? items : items.subarray(0, m), at);
  if (validity) maskInvalid(new Uint8Array(validity.buffer, validity.byteOffset, validity.byteLength), m, dst, at);
}

/** Sets dst[at + i] = NaN for every i < m whose bit in the little-endian validity mask is 0. */
export function maskInvalid(bits: Uint8Array, m: number, dst: Float64Array, at: number): void {
  const nBytes = Math.min(bits.length, (m + 7) >> 3);
  for (let b = 0; b < nBytes; b++) {
    const x = bits[b]!;
    if (x === 255) continue;
    const base = b << 3;
    const end = Math.min(8, m - base);
    for (let k = 0; k < end; k++) if ((x & (1 << k)) === 0) dst[at + base + k] = NaN;
  }
}

/** DuckDB's conversion error for a CSV cell, as file, line, column and value with what to do; else its first line. */
export function readError(path: string, e: unknown): KilnError {
  const msg = String((e as Error)?.message ?? e);
  const line = /CSV Error on Line: (\d+)/.exec(msg)?.[1];
  const cell = /converting column "(.*?)"\. Could not convert string "(.*?)" to/.exec(msg);
  if (line && cell) {
    const [, column, value] = cell;
    return new KilnError('FILE_INVALID', `${path}:${line}: column '${column}' holds '${value}', which is not a number (the column's type was detected from the rows before it); fix the value, or read it as missing (kiln gbdt: --na 'NA,,${value}')`, { path: [path, Number(line), column!], cause: e });
  }
  return new KilnError('FILE_INVALID', `cannot read ${path}: ${firstLine(e)}`, { path: [path], cause: e });
}

function firstLine(e: unknown): string {
  return String((e as Error)?.message ?? e).split('\n')[0]!;
}

/** Size in bytes of a readable regular file; FILE_NOT_FOUND or FILE_UNREADABLE (naming the path) otherwise. */
export function checkReadable(path: string, what: string): number {
  let size: number;
  try {
    const st = statSync(path);
    if (st.isDirectory()) throw new KilnError('FILE_UNREADABLE', `${what} ${path} is a directory; give the path of a file`, { path: [path] });
    size = st.size;
  } catch (e) {
    if (e instanceof KilnError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') throw new KilnError('FILE_NOT_FOUND', `${what} ${path} does not exist; check the path (relative paths are from ${process.cwd()})`, { path: [path], cause: e });
    throw new KilnError('FILE_UNREADABLE', `cannot read ${what} ${path}: ${code ?? firstLine(e)}; check its permissions`, { path: [path], cause: e });
  }
  try {
    closeSync(openSync(path, 'r'));
  } catch (e) {
    throw new KilnError('FILE_UNREADABLE', `cannot read ${what} ${path}: ${(e as NodeJS.ErrnoException).code ?? firstLine(e)}; check its permissions (e.g. chmod +r)`, { path: [path], cause: e });
  }
  return size;
}

/** True when the first cell of the CSV's first line is empty (`,a,b` or `"",a,b`): a row-names column. */
export function csvFirstHeaderEmpty(path: string): boolean {
  let head: Buffer;
  const fd = openSync(path, 'r');
  try {
    const buf = Buffer.alloc(65536);
    head = buf.subarray(0, readSync(fd, buf, 0, buf.length, 0));
  } finally {
    closeSync(fd);
  }
  if (head[0] === 0x1f && head[1] === 0x8b) {
    try { head = gunzipSync(head, { finishFlush: zlibConstants.Z_SYNC_FLUSH }); } catch { return false; }
  }
  return firstHeaderCellEmpty(head.toString('utf8'));
}

export function firstHeaderCellEmpty(text: string): boolean {
  const line = text.replace(/^\uFEFF/, '').split(/\r?\n/, 1)[0] ?? '';
  return /^("")?[,;\t|]/.test(line);
}
