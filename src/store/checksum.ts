import { KilnError } from '../core/errors.js';
import type { OfflineStore } from './offline.js';
import { quoteIdent, quoteLiteral } from './sql.js';

/**
 * An order-sensitive checksum of a table: XOR over rows of a chained hash of (rowid, every column),
 * with the row count and a hash of the column names and types. It changes when any value, the row order, the
 * schema or the row count changes (up to 64-bit hash collisions); two tables with the same contents in
 * the same order, written the same way, have the same checksum. One parallel scan: fast on big tables.
 * Format: `<schema hash>-<data hash>-<row count>`, all hex.
 */
export async function tableChecksum(store: OfflineStore, table: string): Promise<string> {
  const cols = await store.all<{ column_name: string; data_type: string }>(
    `SELECT column_name, data_type FROM duckdb_columns() WHERE schema_name = 'main' AND table_name = ${quoteLiteral(table)} ORDER BY column_index`,
  );
  if (cols.length === 0) {
    throw new KilnError('TABLE_NOT_FOUND', `table '${table}' does not exist in the offline store ${store.path}`, { path: [table] });
  }
  const schemaText = cols.map((c) => `${c.column_name}:${c.data_type}`).join(',');
  // Chained hashing: each step re-mixes the running hash before combining the next column, and the
  // result is mixed once more, so no column's contribution can cancel out across rows under XOR (a
  // flat hash(a, b, ...) combines columns almost linearly, and its XOR over rows would only see each
  // column's value multiset).
  let rowHash = 'hash(rowid)';
  for (const c of cols) rowHash = `hash(${rowHash}, ${quoteIdent(c.column_name)})`;
  rowHash = `hash(${rowHash})`;
  const rows = await store.all<{ n: number | string; h: string | null; s: string }>(
    `SELECT count(*) AS n, CAST(bit_xor(${rowHash}) AS VARCHAR) AS h, CAST(hash(${quoteLiteral(schemaText)}) AS VARCHAR) AS s FROM ${quoteIdent(table)}`,
  );
  const r = rows[0]!;
  const n = Number(r.n);
  const data = BigInt(r.h ?? '0');
  const schema = BigInt(r.s);
  const hex = (v: bigint): string => v.toString(16).padStart(16, '0');
  return `${hex(schema)}-${hex(data)}-${n.toString(16)}`;
}

/** Checksums of several tables, by name. */
export async function tableChecksums(store: OfflineStore, tables: readonly string[]): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const t of tables) out[t] = await tableChecksum(store, t);
  return out;
}
