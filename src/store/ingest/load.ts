import { createReadStream, createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { KilnError } from '../../core/errors.js';
import { COLUMN_TYPES, type FileFormat } from '../../config/index.js';
import type { OfflineStore } from '../offline.js';
import { quoteIdent, quoteLiteral } from '../sql.js';
import { ROW_NAMES_COLUMN, isGzip, readCsvHeader } from './sniff.js';
import { badRowsError, castFails, columnExpr, planColumns, type BadRow, type IngestSpec, type PlannedColumn } from './plan.js';

/** One input file loaded into its own staging table, in file order (rowid = data row index). */
export interface FileStage {
  file: string;
  table: string;
  rows: number;
  columns: PlannedColumn[];
  /** Where row `rowid` came from: `${word} ${rowid + offset}`. */
  lineWord: 'line' | 'row';
  lineOffset: number;
}

export interface LoadHooks {
  /** Called while DuckDB reads the file, with the fraction done (from DuckDB's query progress). */
  onProgress?: (fraction: number) => void;
  bytesPerRowHint?: (bytesPerRow: number) => void;
  /** Something the user should know about how the file was read (e.g. a dropped row-name column). */
  note?: (text: string) => void;
}

/** Types the CSV reader is given for the columns of an existing table it appends to. */
const READER_TYPES = new Set(['BOOLEAN', 'INTEGER', 'BIGINT', 'DOUBLE', 'VARCHAR', 'DATE', 'TIMESTAMP']);

const MAX_SHOWN = 5;

export async function loadFile(store: OfflineStore, file: string, format: FileFormat, spec: IngestSpec, stage: string, hooks: LoadHooks): Promise<FileStage> {
  switch (format) {
    case 'csv': return loadCsv(store, file, spec, stage, hooks);
    case 'parquet': return loadParquet(store, file, spec, stage, hooks);
    case 'ndjson': return loadNdjson(store, file, spec, stage, hooks);
  }
}

async function withProgress<T>(store: OfflineStore, hooks: LoadHooks, work: Promise<T>): Promise<T> {
  if (!hooks.onProgress) return work;
  const timer = setInterval(() => {
    const p = store.con.progress.percentage;
    if (p >= 0) hooks.onProgress!(p / 100);
  }, 100);
  try { return await work; } finally { clearInterval(timer); }
}

async function describe(store: OfflineStore, source: string): Promise<{ name: string; type: string }[]> {
  const rows = await store.all<{ column_name: string; column_type: string }>(`DESCRIBE SELECT * FROM ${source}`);
  return rows.map((r) => ({ name: r.column_name, type: r.column_type }));
}

async function rowCount(store: OfflineStore, table: string): Promise<number> {
  const r = await store.all<{ n: number }>(`SELECT count(*)::BIGINT AS n FROM ${quoteIdent(table)}`);
  return r[0]!.n;
}

function emptyError(file: string, what: string): KilnError {
  return new KilnError('INGEST_EMPTY_FILE', `${file}: ${what}; nothing to ingest`, { path: [file] });
}

async function loadCsv(store: OfflineStore, file: string, spec: IngestSpec, stage: string, hooks: LoadHooks): Promise<FileStage> {
  const header = readCsvHeader(file, { delimiter: spec.delimiter, rowNames: spec.rowNames });
  if (!header) throw emptyError(file, 'the file is empty (no header line)');
  hooks.bytesPerRowHint?.(header.bytesPerLine);
  // Declared (or, when appending, stored) types are given to the reader, so a bad value is a reject with
  // its line and column. Timestamps and formatted columns are read as text and converted afterwards
  // (TIMESTAMPTZ: an explicit offset converts to UTC, a naive value is UTC): the CSV reader turns a bad
  // TIMESTAMPTZ into NULL instead of rejecting it.
  const types: Record<string, string> = {};
  for (const [k, v] of spec.stored ?? []) if (READER_TYPES.has(v)) types[k] = v === 'TIMESTAMP' ? 'VARCHAR' : v;
  for (const d of spec.decls ?? []) types[d.name] = d.type === 'timestamp' ? 'VARCHAR' : COLUMN_TYPES[d.type];
  if (spec.timestamp) types[spec.timestamp] = 'VARCHAR';
  for (const k of spec.formats.keys()) types[k] = 'VARCHAR';
  const present = Object.entries(types).filter(([k]) => header.columns.includes(k));
  const typesArg = present.length ? `, types={${present.map(([k, v]) => `${quoteLiteral(k)}: ${quoteLiteral(v)}`).join(', ')}}` : '';
  const names = `[${header.columns.map(quoteLiteral).join(', ')}]`;
  const nulls = `[${[...new Set(['', ...spec.nullValues])].map(quoteLiteral).join(', ')}]`;
  const rejects = `${stage}_rej`;
  const gz = isGzip(file) ? `, compression='gzip'` : '';
  const reader = `read_csv(${quoteLiteral(file)}${gz}, header=true, names=${names}, delim=${quoteLiteral(header.delimiter)}, quote='"', escape='"', nullstr=${nulls}${typesArg}, store_rejects=true, rejects_table=${quoteLiteral(rejects)}, rejects_scan=${quoteLiteral(`${rejects}_scan`)})`;
  let fileCols: { name: string; type: string }[];
  try {
    fileCols = await describe(store, reader);
  } catch (e) {
    throw new KilnError('INGEST_BAD_FORMAT', `${file}: DuckDB cannot read it as CSV: ${(e as Error).message.split('\n')[0]}`, { path: [file], cause: e });
  }
  if (header.rowNames && spec.rowNames === undefined) {
    fileCols = fileCols.filter((c) => c.name !== ROW_NAMES_COLUMN);
    hooks.note?.(`${file}: dropped R's row-name column (the first column, whose header is empty); use --row-names NAME (rowNames in the config) to keep it`);
  }
  const columns = planColumns(file, fileCols, spec);
  // Converted columns keep their raw text beside them until the conversion is checked row by row.
  const converted = columns.filter((c) => castFails(c) !== undefined);
  const rawName = (c: PlannedColumn): string => `__kiln_raw_${c.name}`;
  try {
    const select = [...columns.map(columnExpr), ...converted.map((c) => `${quoteIdent(c.name)} AS ${quoteIdent(rawName(c))}`)].join(', ');
    await withProgress(store, hooks, store.run(`CREATE TABLE ${quoteIdent(stage)} AS SELECT ${select} FROM ${reader}`));
    const errs = await store.all<{ line: number; column_name: string | null; error_type: string; csv_line: string; error_message: string; n: number }>(
      `SELECT line, first(column_name ORDER BY column_idx) AS column_name, first(error_type ORDER BY column_idx) AS error_type, first(csv_line) AS csv_line,
              first(error_message ORDER BY column_idx) AS error_message, count(*) OVER ()::BIGINT AS n
         FROM ${quoteIdent(rejects)} GROUP BY line ORDER BY line LIMIT ${MAX_SHOWN}`,
    );
    if (errs.length) {
      throw badRowsError(file, spec.table, errs[0]!.n, errs.map((e) => {
        const row: BadRow = { where: `line ${e.line}`, problem: describeReject(e.error_type, e.error_message), text: e.csv_line };
        if (e.column_name && e.error_type === 'CAST') row.column = e.column_name;
        return row;
      }));
    }
    if (converted.length) {
      const raw = `(SELECT rowid, ${converted.map((c) => `${quoteIdent(rawName(c))} AS ${quoteIdent(c.name)}`).join(', ')} FROM ${quoteIdent(stage)})`;
      await checkCasts(store, file, spec, raw, 'rowid + 2', 'line', converted);
      for (const c of converted) await store.run(`ALTER TABLE ${quoteIdent(stage)} DROP COLUMN ${quoteIdent(rawName(c))}`);
    }
  } finally {
    await store.dropIfExists(rejects);
    await store.dropIfExists(`${rejects}_scan`);
  }
  const rows = await rowCount(store, stage);
  if (rows === 0) throw emptyError(file, 'the file has a header but no data rows');
  return { file, table: stage, rows, columns, lineWord: 'line', lineOffset: 2 };
}

function describeReject(type: string, message: string): string {
  const cast = /Could not convert string "(.*)" to '(.*)'/.exec(message);
  if (type === 'CAST' && cast) return `"${cast[1]}" is not a valid ${cast[2] === 'TIMESTAMP WITH TIME ZONE' ? 'timestamp' : cast[2]}`;
  const cols = /Expected Number of Columns: (\d+) Found: (\d+)/.exec(message);
  if (cols && type === 'TOO MANY COLUMNS') return `too many fields: expected ${cols[1]}, found more`;
  if (cols && type === 'MISSING COLUMNS') return `too few fields: expected ${cols[1]}`;
  return message;
}

/** Reports values that do not convert to their column's type, by row, before anything is stored. */
async function checkCasts(store: OfflineStore, file: string, spec: IngestSpec, source: string, lineExpr: string, word: string, columns: PlannedColumn[]): Promise<void> {
  const bad: BadRow[] = [];
  let total = 0;
  for (const c of columns) {
    const cond = castFails(c);
    if (!cond) continue;
    const n = (await store.all<{ n: number }>(`SELECT count(*)::BIGINT AS n FROM ${source} WHERE ${cond}`))[0]!.n;
    if (n === 0) continue;
    total += n;
    const rows = await store.all<{ line: number; v: string }>(
      `SELECT ${lineExpr} AS line, ${quoteIdent(c.name)}::VARCHAR AS v FROM ${source} WHERE ${cond} ORDER BY 1 LIMIT ${MAX_SHOWN}`,
    );
    for (const r of rows) {
      if (bad.length < MAX_SHOWN) bad.push({ where: `${word} ${r.line}`, column: c.name, problem: c.format !== undefined ? `${JSON.stringify(r.v)} does not fit the format '${c.format}' of this ${c.targetType.toLowerCase()} column` : `${JSON.stringify(r.v)} is not a valid ${c.targetType.toLowerCase()}` });
    }
  }
  if (total) throw badRowsError(file, spec.table, total, bad);
}

async function loadParquet(store: OfflineStore, file: string, spec: IngestSpec, stage: string, hooks: LoadHooks): Promise<FileStage> {
  const source = `read_parquet(${quoteLiteral(file)}, file_row_number=true)`;
  let fileCols: { name: string; type: string }[];
  try {
    fileCols = (await describe(store, source)).filter((c) => c.name !== 'file_row_number');
  } catch (e) {
    throw new KilnError('INGEST_BAD_FORMAT', `${file}: not a readable Parquet file: ${(e as Error).message.split('\n')[0]}`, { path: [file], cause: e });
  }
  const columns = planColumns(file, fileCols, spec);
  await checkCasts(store, file, spec, source, 'file_row_number + 1', 'row', columns);
  await withProgress(store, hooks, store.run(`CREATE TABLE ${quoteIdent(stage)} AS SELECT ${columns.map(columnExpr).join(', ')} FROM ${source}`));
  const rows = await rowCount(store, stage);
  if (rows === 0) throw emptyError(file, 'the file has no rows');
  return { file, table: stage, rows, columns, lineWord: 'row', lineOffset: 1 };
}

async function loadNdjson(store: OfflineStore, file: string, spec: IngestSpec, stage: string, hooks: LoadHooks): Promise<FileStage> {
  const lines = `${stage}_lines`;
  // DuckDB's read_text does not decompress: a gzip file is expanded to a temporary file first.
  const tmp = isGzip(file) ? await gunzipToTemp(file) : undefined;
  const src = tmp?.path ?? file;
  try {
    // Line numbers are exact: the text is split here rather than by the JSON reader.
    await store.run(
      `CREATE TABLE ${quoteIdent(lines)} AS SELECT line, j FROM (
         SELECT ordinality AS line, j FROM unnest(string_split((SELECT content FROM read_text(${quoteLiteral(src)})), chr(10))) WITH ORDINALITY AS t(j)
       ) WHERE NOT (trim(j) = '' AND line = (SELECT count(*) FROM unnest(string_split((SELECT content FROM read_text(${quoteLiteral(src)})), chr(10)))))`,
    );
    const n = await rowCount(store, lines);
    if (n === 0) throw emptyError(file, 'the file is empty');
    const malformed = await store.all<{ line: number; j: string; n: number; valid: boolean }>(
      `SELECT line, j, json_valid(j) AS valid, count(*) OVER ()::BIGINT AS n FROM ${quoteIdent(lines)}
         WHERE NOT (CASE WHEN json_valid(j) THEN json_type(j::JSON) = 'OBJECT' ELSE false END) ORDER BY line LIMIT ${MAX_SHOWN}`,
    );
    if (malformed.length) {
      throw badRowsError(file, spec.table, malformed[0]!.n, malformed.map((m) => ({
        where: `line ${m.line}`,
        problem: m.j.trim() === '' ? 'blank line (NDJSON needs one JSON object per line)' : m.valid ? 'not a JSON object' : 'malformed JSON',
        text: m.j,
      })));
    }
    const keys = await store.all<{ k: string }>(
      `SELECT k FROM (SELECT line, unnest(json_keys(j::JSON)) AS k, unnest(range(len(json_keys(j::JSON)))) AS pos FROM ${quoteIdent(lines)})
         GROUP BY k ORDER BY min(line), arg_min(pos, line)`,
    );
    const inferred = await describe(store, `read_json(${quoteLiteral(src)}, format='newline_delimited', sample_size=-1)`).catch(() => []);
    const fileCols = keys.map(({ k }) => ({ name: k, type: 'VARCHAR', inferred: inferred.find((c) => c.name === k)?.type ?? 'VARCHAR' }));
    const columns = planColumns(file, fileCols, spec).map((c) => {
      // Values are extracted as text, so every file column converts from VARCHAR; inferred types
      // (without a declared schema) come from DuckDB's JSON reader.
      const inf = fileCols.find((f) => f.name === c.name)?.inferred;
      const target = spec.decls || spec.stored?.has(c.name) || c.targetType === 'TIMESTAMP' ? c.targetType : simpleType(inf ?? 'VARCHAR');
      return { ...c, targetType: target };
    });
    const extracted = `(SELECT line, ${fileCols.map((f) => `json_extract_string(j::JSON, ${quoteLiteral(`$.${JSON.stringify(f.name)}`)}) AS ${quoteIdent(f.name)}`).join(', ')} FROM ${quoteIdent(lines)})`;
    await checkCasts(store, file, spec, extracted, 'line', 'line', columns);
    await withProgress(store, hooks, store.run(`CREATE TABLE ${quoteIdent(stage)} AS SELECT ${columns.map(columnExpr).join(', ')} FROM ${extracted} ORDER BY line`));
    const rows = await rowCount(store, stage);
    return { file, table: stage, rows, columns, lineWord: 'line', lineOffset: 1 };
  } finally {
    await store.dropIfExists(lines);
    tmp?.remove();
  }
}

async function gunzipToTemp(file: string): Promise<{ path: string; remove: () => void }> {
  const dir = mkdtempSync(join(tmpdir(), 'kiln-ingest-'));
  const path = join(dir, 'input.ndjson');
  const remove = (): void => rmSync(dir, { recursive: true, force: true });
  try {
    await pipeline(createReadStream(file), createGunzip(), createWriteStream(path));
  } catch (e) {
    remove();
    throw new KilnError('INGEST_BAD_FORMAT', `${file}: cannot decompress it as gzip: ${(e as Error).message}`, { path: [file], cause: e });
  }
  return { path, remove };
}

/** Nested JSON (structs, lists) is kept as its JSON text. */
function simpleType(t: string): string {
  return /^(BOOLEAN|BIGINT|INTEGER|DOUBLE|VARCHAR|DATE|TIMESTAMP|TIMESTAMP WITH TIME ZONE|UBIGINT|HUGEINT)$/.test(t) ? (t === 'TIMESTAMP WITH TIME ZONE' ? 'TIMESTAMP' : t) : 'VARCHAR';
}
