import { KilnError, didYouMean } from '../core/errors.js';
import type { Project } from './project.js';
import { quoteIdent, quoteLiteral } from './sql.js';

export interface TableInfo {
  name: string;
  rows: number;
  columns: { name: string; type: string }[];
  timestampColumn: string | null;
  keyColumn: string | null;
  /** Earliest and latest value of the timestamp column (ISO, UTC), when there is one. */
  timeRange: { from: string | null; to: string | null } | null;
  source: string | null;
}

/**
 * The user tables of the offline store, with row counts, columns and time ranges. Three queries whatever
 * the number of tables (the tables, all their columns, one UNION ALL of exact counts and ranges).
 */
export async function listTables(project: Project): Promise<TableInfo[]> {
  const store = project.offline;
  const tables = (await store.all<{ table_name: string }>(
    `SELECT table_name FROM duckdb_tables() WHERE schema_name = 'main' AND NOT starts_with(table_name, '__kiln') ORDER BY table_name`,
  )).map((t) => t.table_name);
  if (tables.length === 0) return [];
  const columns = new Map<string, { name: string; type: string }[]>(tables.map((t) => [t, []]));
  for (const c of await store.all<{ table_name: string; column_name: string; data_type: string }>(
    `SELECT table_name, column_name, data_type FROM duckdb_columns() WHERE database_name = current_database() AND schema_name = 'main' ` +
      `AND table_name IN (${tables.map(quoteLiteral).join(', ')}) ORDER BY table_name, column_index`,
  )) columns.get(c.table_name)?.push({ name: c.column_name, type: c.data_type });
  const info = tables.map((name) => {
    const cols = columns.get(name)!;
    const reg = project.meta.getTable(name);
    const tsCol = reg?.timestampColumn ?? cols.find((c) => c.type === 'TIMESTAMP' || c.type.startsWith('TIMESTAMP'))?.name ?? null;
    return { name, cols, reg, tsCol };
  });
  const stats = new Map<number, { n: number; lo: string | null; hi: string | null }>();
  const union = info.map(({ name, tsCol }, i) => {
    const range = tsCol ? `min(${quoteIdent(tsCol)})::VARCHAR AS lo, max(${quoteIdent(tsCol)})::VARCHAR AS hi` : 'NULL::VARCHAR AS lo, NULL::VARCHAR AS hi';
    return `SELECT ${i} AS i, count(*)::BIGINT AS n, ${range} FROM ${quoteIdent(name)}`;
  }).join(' UNION ALL ');
  for (const s of await store.all<{ i: number; n: number; lo: string | null; hi: string | null }>(union)) stats.set(Number(s.i), s);
  return info.map(({ name, cols, reg, tsCol }, i) => {
    const s = stats.get(i)!;
    return {
      name,
      rows: Number(s.n),
      columns: cols,
      timestampColumn: tsCol,
      keyColumn: reg?.keyColumn ?? null,
      timeRange: tsCol ? { from: s.lo, to: s.hi } : null,
      source: reg?.source ?? null,
    };
  });
}

export interface TableRows {
  table: string;
  columns: { name: string; type: string }[];
  /** Rows as JSON-ready values: numbers and booleans as such, dates, times and other types as text. */
  rows: Record<string, string | number | boolean | null>[];
  /** Rows matching the predicate (all rows without one), of which `rows` are the first `limit`. */
  matching: number;
}

const KEEP_TYPES = /^(BOOLEAN|TINYINT|SMALLINT|INTEGER|BIGINT|UTINYINT|USMALLINT|UINTEGER|UBIGINT|HUGEINT|FLOAT|DOUBLE|VARCHAR)$/;

/**
 * The first `limit` rows of a table (in storage order), optionally filtered by a SQL predicate. An unknown
 * table or a predicate DuckDB cannot run is a KilnError that names it.
 */
export async function showTable(project: Project, table: string, opts: { limit?: number; where?: string } = {}): Promise<TableRows> {
  const store = project.offline;
  const limit = opts.limit ?? 20;
  if (!Number.isInteger(limit) || limit < 0) throw new KilnError('USAGE', `--limit ${String(opts.limit)}: expected a whole number >= 0`);
  const names = (await store.all<{ table_name: string }>(
    `SELECT table_name FROM duckdb_tables() WHERE schema_name = 'main' AND NOT starts_with(table_name, '__kiln') ORDER BY table_name`,
  )).map((r) => r.table_name);
  if (!names.includes(table)) {
    const hint = didYouMean(table, names);
    throw new KilnError('TABLE_NOT_FOUND', `table '${table}' is not in the offline store${hint ? `; did you mean '${hint}'?` : ''} (tables: ${names.join(', ') || "none; load some with 'kiln ingest'"})`, { path: [table] });
  }
  const columns = (await store.all<{ column_name: string; data_type: string }>(
    `SELECT column_name, data_type FROM duckdb_columns() WHERE schema_name = 'main' AND table_name = ${quoteLiteral(table)} ORDER BY column_index`,
  )).map((c) => ({ name: c.column_name, type: c.data_type }));
  const select = columns.map((c) => {
    const id = quoteIdent(c.name);
    return KEEP_TYPES.test(c.type) ? id : c.type.startsWith('DECIMAL') ? `${id}::DOUBLE AS ${id}` : `${id}::VARCHAR AS ${id}`;
  }).join(', ');
  const where = opts.where?.trim() ? ` WHERE (${opts.where})` : '';
  const query = async (sql: string): Promise<Record<string, unknown>[]> => {
    try {
      // A prepared statement is one statement: a predicate cannot smuggle in a second one.
      const prepared = await store.con.prepare(sql);
      return (await prepared.runAndReadAll()).getRowObjectsJS() as Record<string, unknown>[];
    } catch (e) {
      const msg = (e as Error).message.split('\n')[0]!;
      throw new KilnError('USAGE', `--where ${JSON.stringify(opts.where)}: DuckDB cannot run it as a condition on table '${table}': ${msg}\n  columns: ${columns.map((c) => `${c.name} ${c.type}`).join(', ')}`, { path: [table], cause: e });
    }
  };
  const rows = (await query(`SELECT ${select} FROM ${quoteIdent(table)}${where} LIMIT ${limit}`)).map(jsonRow);
  const matching = Number((await query(`SELECT count(*)::BIGINT AS n FROM ${quoteIdent(table)}${where}`))[0]!.n);
  return { table, columns, rows, matching };
}

function jsonRow(row: Record<string, unknown>): Record<string, string | number | boolean | null> {
  const out: Record<string, string | number | boolean | null> = {};
  for (const [k, v] of Object.entries(row)) {
    if (typeof v === 'bigint') out[k] = Number.isSafeInteger(Number(v)) ? Number(v) : v.toString();
    else if (v === null || typeof v === 'number' || typeof v === 'boolean' || typeof v === 'string') out[k] = v;
    else out[k] = String(v);
  }
  return out;
}
