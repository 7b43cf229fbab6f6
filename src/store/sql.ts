/** SQL text helpers for DuckDB. Identifiers and literals are always quoted, never interpolated raw. */
export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

export function quoteLiteral(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}
