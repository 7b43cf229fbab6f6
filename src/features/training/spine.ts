/**
 * Spines: the (entity, time, label...) rows a training set is built for, from a table, a file, or every
 * entity as of one time. Everything is UTC: a time with a non-UTC offset is an error, never silently
 * shifted (DuckDB's VARCHAR → TIMESTAMP cast would drop the offset).
 */
import { existsSync } from 'node:fs';
import { extname, resolve } from 'node:path';
import { KilnError, didYouMean } from '../../core/errors.js';
import { parseTime } from '../../core/time.js';
import type { Project } from '../../store/index.js';
import type { EntitySpec, SourceSpec } from '../spec.js';
import { quoteIdent, quoteLiteral } from './sql-text.js';

export type SpineInput =
  | { readonly table: string; readonly key?: string; readonly timestamp?: string }
  | { readonly file: string; readonly key?: string; readonly timestamp?: string }
  | { readonly entities: 'all'; readonly asOf: string };

export interface PreparedSpine {
  /** A temp table with __row, __key, __t (TIMESTAMP, UTC) and the user columns. */
  readonly table: string;
  readonly columns: readonly string[];
  readonly keyColumn: string;
  readonly timeColumn: string;
  readonly rows: number;
  /** Earliest and latest time as SQL literals; null for an empty spine. */
  readonly timeRange: { readonly min: string; readonly max: string } | null;
}

const TIME_TYPES = /^(TIMESTAMP( WITH TIME ZONE)?|TIMESTAMP_(S|MS|NS)|DATE)$/;
const UTC_OFFSETS = new Set(['', 'Z', 'z', 'UTC', '+00', '-00', '+0000', '-0000', '+00:00', '-00:00']);
const OFFSET_RE = String.raw`\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?\s*(Z|z|UTC|[+-]\d{2}(?::?\d{2})?)$`;
const RESERVED = new Set(['__row', '__key', '__t']);
const TIME_NAMES = ['ts', 'time', 'timestamp', 'event_time', 'as_of'];

const bad = (message: string, details?: unknown): KilnError => new KilnError('SPINE_INVALID', message, details === undefined ? {} : { details });

/** A time given on the command line or in code, checked like spine times (by core's UTC parser); returns ISO 8601 with Z. */
export function parseUtcTime(text: string, what: string): string {
  const t = parseTime(text);
  if ('problem' in t) {
    throw bad(t.offset
      ? `${what} '${text}' has offset ${t.offset}; kiln works in UTC: give the time in UTC (e.g. '2025-01-01T00:00:00Z')`
      : `${what} '${text}' is not a time; use ISO 8601 in UTC, e.g. '2025-01-01T00:00:00Z'`);
  }
  return new Date(Math.floor(t.us / 1000)).toISOString();
}

async function describe(project: Project, relation: string): Promise<{ name: string; type: string }[]> {
  const rows = await project.offline.all<{ column_name: string; column_type: string }>(`DESCRIBE SELECT * FROM ${relation}`);
  return rows.map((r) => ({ name: r.column_name, type: r.column_type }));
}

function fileRelation(file: string, varcharColumn?: string): string {
  const f = quoteLiteral(file);
  const ext = extname(file).toLowerCase();
  if (ext === '.parquet') return `read_parquet(${f})`;
  if (ext === '.csv' || ext === '.tsv') return varcharColumn ? `read_csv(${f}, types = {${quoteLiteral(varcharColumn)}: 'VARCHAR'})` : `read_csv(${f})`;
  if (ext === '.json' || ext === '.ndjson' || ext === '.jsonl') return `read_json_auto(${f})`;
  throw bad(`spine file ${file}: unsupported format '${ext || '(none)'}'; use .parquet, .csv or .ndjson`);
}

/** Loads, checks and normalises the spine into a temp table. */
export async function prepareSpine(
  project: Project, input: SpineInput, ctx: { entity: EntitySpec; sources: readonly SourceSpec[]; reserved: ReadonlySet<string>; strict: boolean },
): Promise<PreparedSpine> {
  const store = project.offline;
  const table = store.stagingName('spine');
  if ('entities' in input) return allEntities(project, input, ctx, table);

  let relation: string;
  let label: string;
  let textFile = false;
  if ('table' in input) {
    label = `spine table '${input.table}'`;
    if (!(await store.tableExists(input.table))) {
      const tables = (await store.all<{ n: string }>(`SELECT table_name AS n FROM duckdb_tables() WHERE NOT starts_with(table_name, '__kiln')`)).map((r) => r.n);
      const h = didYouMean(input.table, tables);
      throw new KilnError('TABLE_NOT_FOUND', `spine table '${input.table}' does not exist${h ? `; did you mean '${h}'?` : ''} (tables: ${tables.join(', ') || 'none'}). Pass a table of the offline store or a .parquet/.csv file`);
    }
    relation = quoteIdent(input.table);
  } else {
    const file = resolve(input.file);
    label = `spine file ${input.file}`;
    if (!existsSync(file)) throw bad(`spine file ${input.file} does not exist`);
    relation = fileRelation(file);
    textFile = !file.toLowerCase().endsWith('.parquet');
  }
  let columns = await describe(project, relation);
  const names = columns.map((c) => c.name);
  const keyColumn = input.key ?? ctx.entity.key;
  if (!names.includes(keyColumn)) {
    const h = didYouMean(keyColumn, names);
    throw bad(`${label} has no entity key column '${keyColumn}'${h ? `; did you mean '${h}'?` : ''} (columns: ${names.join(', ')}). Name it ${ctx.entity.key} or pass the key column (--key)`);
  }
  const timeColumn = input.timestamp ?? pickTimeColumn(project, input, columns, label, keyColumn);
  if (!names.includes(timeColumn)) {
    const h = didYouMean(timeColumn, names);
    throw bad(`${label} has no time column '${timeColumn}'${h ? `; did you mean '${h}'?` : ''} (columns: ${names.join(', ')})`);
  }
  for (const c of names) if (RESERVED.has(c) || ctx.reserved.has(c)) throw bad(`${label}: column '${c}' has the name of a feature column (or a reserved name); rename it in the spine`);

  let timeType = columns.find((c) => c.name === timeColumn)!.type;
  // A CSV with offsets is read as TIMESTAMPTZ, which would hide the offsets: read that column as text.
  if (textFile && timeType === 'TIMESTAMP WITH TIME ZONE' && 'file' in input) {
    relation = fileRelation(resolve(input.file), timeColumn);
    columns = await describe(project, relation);
    timeType = 'VARCHAR';
  }
  const stage = store.stagingName('spine_raw');
  await store.run(`CREATE TEMP TABLE ${quoteIdent(stage)} AS SELECT * FROM ${relation}`);
  try {
    let timeSql: string;
    if (timeType === 'VARCHAR') {
      await checkTextTimes(project, stage, timeColumn, label);
      timeSql = `CAST(CAST(${quoteIdent(timeColumn)} AS TIMESTAMPTZ) AS TIMESTAMP)`;
    } else if (TIME_TYPES.test(timeType)) {
      timeSql = `CAST(${quoteIdent(timeColumn)} AS TIMESTAMP)`;
    } else {
      throw bad(`${label}: time column '${timeColumn}' has type ${timeType}; it must be a TIMESTAMP, a DATE or ISO 8601 text in UTC`);
    }
    await checkKeyType(project, columns.find((c) => c.name === keyColumn)!.type, ctx.sources, label, keyColumn);
    const userCols = columns.map((c) => (c.name === timeColumn ? `${timeSql} AS ${quoteIdent(c.name)}` : quoteIdent(c.name)));
    await store.run(`CREATE TEMP TABLE ${quoteIdent(table)} AS SELECT rowid AS __row, ${quoteIdent(keyColumn)} AS __key, ${timeSql} AS __t, ${userCols.join(', ')} FROM ${quoteIdent(stage)}`);
  } finally {
    await store.dropIfExists(stage);
  }
  const [stats] = await store.all<{ n: number; nokey: number; notime: number; firstBad: number | null }>(
    `SELECT count(*)::BIGINT AS n, count(*) FILTER (WHERE __key IS NULL)::BIGINT AS nokey, count(*) FILTER (WHERE __t IS NULL)::BIGINT AS notime,
            min(__row) FILTER (WHERE __key IS NULL OR __t IS NULL)::BIGINT AS "firstBad" FROM ${quoteIdent(table)}`);
  if (stats!.nokey || stats!.notime) {
    await store.dropIfExists(table);
    throw bad(`${label}: ${stats!.nokey} row(s) without ${keyColumn} and ${stats!.notime} without ${timeColumn} (first: row ${Number(stats!.firstBad) + 1}); every spine row needs an entity key and a time (the time column is '${timeColumn}'; choose another with --time COLUMN, or drop those rows)`);
  }
  return { table, columns: columns.map((c) => c.name), keyColumn, timeColumn, rows: stats!.n, timeRange: await timeRange(project, table) };
}

function pickTimeColumn(project: Project, input: SpineInput, columns: { name: string; type: string }[], label: string, key: string): string {
  if ('table' in input) {
    const registered = project.meta.getTable(input.table)?.timestampColumn;
    if (registered && columns.some((c) => c.name === registered)) return registered;
  }
  const times = columns.filter((c) => c.name !== key && (TIME_TYPES.test(c.type)));
  if (times.length === 1) return times[0]!.name;
  if (times.length === 0) {
    // JSON has no time type: a text column with a conventional name is read as ISO 8601 (and checked).
    const named = columns.filter((c) => c.type === 'VARCHAR' && TIME_NAMES.includes(c.name.toLowerCase()));
    if (named.length === 1) return named[0]!.name;
  }
  if (times.length > 1) throw bad(`${label} has several time columns (${times.map((c) => c.name).join(', ')}); say which one is the spine time (--time COLUMN)`);
  throw bad(`${label} has no timestamp column (columns: ${columns.map((c) => `${c.name} ${c.type}`).join(', ')}); every spine row needs a time: add one or pass --time COLUMN`);
}

async function checkTextTimes(project: Project, stage: string, column: string, label: string): Promise<void> {
  const v = `trim(${quoteIdent(column)})`;
  const offsets = await project.offline.all<{ off: string; n: number; row: number; example: string }>(
    `SELECT off, count(*)::BIGINT AS n, min(r)::BIGINT AS row, arg_min(v, r) AS example FROM (
       SELECT rowid + 1 AS r, ${v} AS v, regexp_extract(${v}, ${quoteLiteral(OFFSET_RE)}, 1) AS off FROM ${quoteIdent(stage)} WHERE ${quoteIdent(column)} IS NOT NULL)
     GROUP BY off ORDER BY row`);
  const foreign = offsets.filter((o) => !UTC_OFFSETS.has(o.off));
  if (foreign.length) {
    const utc = offsets.filter((o) => UTC_OFFSETS.has(o.off)).reduce((s, o) => s + o.n, 0);
    const parts = foreign.map((o) => `${o.n} row(s) at ${o.off} (first: row ${o.row}, '${o.example}')`);
    const mixed = foreign.length > 1 || utc > 0 ? `mixed time zones: ` : '';
    throw bad(`${label}: column '${column}' holds times that are not UTC (${mixed}${parts.join('; ')}${utc ? `; ${utc} row(s) in UTC or without offset` : ''}). kiln reads every time as UTC: convert them to UTC (e.g. '2024-01-01T08:00:00Z') and try again`,
      { offsets: foreign });
  }
  const [unparsed] = await project.offline.all<{ n: number; row: number | null; example: string | null }>(
    `SELECT count(*)::BIGINT AS n, min(rowid + 1)::BIGINT AS row, arg_min(${v}, rowid) AS example FROM ${quoteIdent(stage)}
      WHERE ${quoteIdent(column)} IS NOT NULL AND TRY_CAST(${v} AS TIMESTAMPTZ) IS NULL`);
  if (unparsed!.n) throw bad(`${label}: ${unparsed!.n} value(s) of '${column}' are not times (first: row ${unparsed!.row}, '${unparsed!.example}'); use ISO 8601 in UTC, e.g. '2024-01-01T08:00:00Z'`);
}

const INTEGER_TYPES = /^(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT|UTINYINT|USMALLINT|UINTEGER|UBIGINT|UHUGEINT)$/;
const family = (t: string): string => (INTEGER_TYPES.test(t) ? 'integer' : t === 'VARCHAR' || t.startsWith('ENUM') ? 'text' : t);

async function checkKeyType(project: Project, spineType: string, sources: readonly SourceSpec[], label: string, key: string): Promise<void> {
  for (const s of sources) {
    const [col] = await project.offline.all<{ t: string }>(
      `SELECT data_type AS t FROM duckdb_columns() WHERE table_name = ${quoteLiteral(s.table)} AND column_name = ${quoteLiteral(s.key)}`);
    if (col && family(col.t) !== family(spineType)) {
      throw bad(`${label}: key column '${key}' is ${spineType} but source '${s.name}' keys its entity by ${s.table}.${s.key} (${col.t}); cast the spine key to match`);
    }
  }
}

async function timeRange(project: Project, table: string): Promise<PreparedSpine['timeRange']> {
  const [r] = await project.offline.all<{ lo: string | null; hi: string | null }>(
    `SELECT strftime(min(__t), '%Y-%m-%d %H:%M:%S.%f') AS lo, strftime(max(__t), '%Y-%m-%d %H:%M:%S.%f') AS hi FROM ${quoteIdent(table)}`);
  return r?.lo && r.hi ? { min: `TIMESTAMP '${r.lo}'`, max: `TIMESTAMP '${r.hi}'` } : null;
}

/** Every entity with a row in any of the sources before `asOf`, each at `asOf` (column `as_of`). */
async function allEntities(project: Project, input: { asOf: string }, ctx: { entity: EntitySpec; sources: readonly SourceSpec[]; strict: boolean }, table: string): Promise<PreparedSpine> {
  const iso = parseUtcTime(input.asOf, 'as-of time');
  const at = `CAST(${quoteLiteral(iso)} AS TIMESTAMPTZ)::TIMESTAMP`;
  const keys = ctx.sources.map((s) =>
    `SELECT ${quoteIdent(s.key)} AS k FROM ${quoteIdent(s.table)} WHERE ${quoteIdent(s.key)} IS NOT NULL AND CAST(${quoteIdent(s.timestamp)} AS TIMESTAMP) ${ctx.strict ? '<' : '<='} ${at}`);
  if (keys.length === 0) throw bad('a spine of every entity needs at least one aggregate feature to find the entities from');
  const key = quoteIdent(ctx.entity.key);
  await project.offline.run(`CREATE TEMP TABLE ${quoteIdent(table)} AS SELECT (row_number() OVER (ORDER BY k) - 1)::BIGINT AS __row, k AS __key, ${at} AS __t, k AS ${key}, ${at} AS as_of
    FROM (SELECT DISTINCT k FROM (${keys.join(' UNION ALL ')}))`);
  const [n] = await project.offline.all<{ n: number }>(`SELECT count(*)::BIGINT AS n FROM ${quoteIdent(table)}`);
  return { table, columns: [ctx.entity.key, 'as_of'], keyColumn: ctx.entity.key, timeColumn: 'as_of', rows: n!.n, timeRange: await timeRange(project, table) };
}
