/** SQL text helpers for DuckDB. Identifiers and literals are always quoted, never interpolated raw. */
export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

export function quoteLiteral(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}

/** A UTC instant (epoch ms, or ISO text) as a DuckDB TIMESTAMP literal. */
export function timestampSql(t: number | string): string {
  const ms = typeof t === 'number' ? t : Date.parse(t);
  return `TIMESTAMP '${new Date(ms).toISOString().replace('T', ' ').replace('Z', '')}'`;
}
