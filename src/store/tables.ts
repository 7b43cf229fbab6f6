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

/** The user tables of the offline store, with row counts, columns and time ranges. */
export async function listTables(project: Project): Promise<TableInfo[]> {
  const store = project.offline;
  const tables = await store.all<{ table_name: string; estimated_size: number }>(
    `SELECT table_name FROM duckdb_tables() WHERE schema_name = 'main' AND NOT starts_with(table_name, '__kiln') ORDER BY table_name`,
  );
  const out: TableInfo[] = [];
  for (const { table_name: name } of tables) {
    const columns = (await store.all<{ column_name: string; data_type: string }>(
      `SELECT column_name, data_type FROM duckdb_columns() WHERE schema_name = 'main' AND table_name = ${quoteLiteral(name)} ORDER BY column_index`,
    )).map((c) => ({ name: c.column_name, type: c.data_type }));
    const reg = project.meta.getTable(name);
    const tsCol = reg?.timestampColumn ?? columns.find((c) => c.type === 'TIMESTAMP' || c.type.startsWith('TIMESTAMP'))?.name ?? null;
    const t = quoteIdent(name);
    const stats = await store.all<{ n: number; lo: string | null; hi: string | null }>(
      tsCol
        ? `SELECT count(*)::BIGINT AS n, min(${quoteIdent(tsCol)})::VARCHAR AS lo, max(${quoteIdent(tsCol)})::VARCHAR AS hi FROM ${t}`
        : `SELECT count(*)::BIGINT AS n, NULL AS lo, NULL AS hi FROM ${t}`,
    );
    const s = stats[0]!;
    out.push({
      name,
      rows: s.n,
      columns,
      timestampColumn: tsCol,
      keyColumn: reg?.keyColumn ?? null,
      timeRange: tsCol ? { from: s.lo, to: s.hi } : null,
      source: reg?.source ?? null,
    });
  }
  return out;
}
