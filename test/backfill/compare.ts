import type { OfflineStore } from '../../src/store/index.js';

const q = (name: string): string => `"${name.replace(/"/g, '""')}"`;

/**
 * Compares two relations row for row, joined on a unique id column: the same columns, the same ids, every
 * value equal; DOUBLE values to 1e-12 relative, since a float sum's last bit depends on the order its
 * terms are added in. `exact` counts rows equal to the bit.
 */
export async function compareRows(db: OfflineStore, a: string, b: string, id: string): Promise<{ rowsA: number; rowsB: number; ids: number; matched: number; equal: number; exact: number; columnsA: string; columnsB: string }> {
  const describeCols = async (rel: string) => db.all<{ column_name: string; column_type: string }>(`DESCRIBE SELECT * FROM ${rel}`);
  const colsA = await describeCols(a);
  const colsB = await describeCols(b);
  const same = colsB.map((c) => (c.column_type === 'DOUBLE'
    ? `((a.${q(c.column_name)} IS NULL AND b.${q(c.column_name)} IS NULL) OR abs(a.${q(c.column_name)} - b.${q(c.column_name)}) <= 1e-12 * greatest(1, abs(b.${q(c.column_name)})))`
    : `a.${q(c.column_name)} IS NOT DISTINCT FROM b.${q(c.column_name)}`)).join(' AND ');
  const [r] = await db.all<Record<string, number | bigint>>(`SELECT (SELECT count(*) FROM ${a})::BIGINT AS rows_a, (SELECT count(*) FROM ${b})::BIGINT AS rows_b,
    (SELECT count(DISTINCT ${q(id)}) FROM ${a})::BIGINT AS ids,
    (SELECT count(*) FROM ${a} a JOIN ${b} b USING (${q(id)}))::BIGINT AS matched,
    (SELECT count(*) FILTER (WHERE ${same}) FROM ${a} a JOIN ${b} b USING (${q(id)}))::BIGINT AS equal,
    (SELECT count(*) FILTER (WHERE a::VARCHAR = b::VARCHAR) FROM ${a} a JOIN ${b} b USING (${q(id)}))::BIGINT AS exact`);
  return {
    rowsA: Number(r!.rows_a), rowsB: Number(r!.rows_b), ids: Number(r!.ids), matched: Number(r!.matched), equal: Number(r!.equal), exact: Number(r!.exact),
    columnsA: colsA.map((c) => c.column_name).join(','), columnsB: colsB.map((c) => c.column_name).join(','),
  };
}
