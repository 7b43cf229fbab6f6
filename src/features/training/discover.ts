import { KilnError, didYouMean } from '../../core/errors.js';
import type { Project } from '../../store/index.js';
import type { SourceSpec } from '../spec.js';
import { quoteIdent } from './sql-text.js';

/**
 * The values of a source column, most frequent first, for freezing into a bucketed feature's `by.values`.
 * Buckets are part of the definition (and its version): discovering them is a one-off, never done at load.
 * @example const cats = await discoverBuckets(project, txns, 'category'); // paste into by: { column: 'category', values: [...] }
 */
export async function discoverBuckets(project: Project, source: Pick<SourceSpec, 'name' | 'table'>, column: string, opts: { max?: number } = {}): Promise<(string | number)[]> {
  const max = opts.max ?? 50;
  if (!(await project.offline.tableExists(source.table))) throw new KilnError('TABLE_NOT_FOUND', `source '${source.name}': table '${source.table}' is not in the offline store`);
  const cols = (await project.offline.all<{ column_name: string }>(`DESCRIBE ${quoteIdent(source.table)}`)).map((c) => c.column_name);
  if (!cols.includes(column)) {
    const h = didYouMean(column, cols);
    throw new KilnError('FEATURE_DEFINITION_INVALID', `source '${source.name}': table '${source.table}' has no column '${column}'${h ? `; did you mean '${h}'?` : ''}`);
  }
  const rows = await project.offline.all<{ v: string | number; n: number }>(
    `SELECT ${quoteIdent(column)} AS v, count(*) AS n FROM ${quoteIdent(source.table)} WHERE ${quoteIdent(column)} IS NOT NULL GROUP BY 1 ORDER BY n DESC, v LIMIT ${max + 1}`);
  if (rows.length > max) throw new KilnError('FEATURE_DEFINITION_INVALID', `column '${column}' has more than ${max} distinct values; buckets suit a short categorical list (raise max if you mean it)`);
  return rows.map((r) => (typeof r.v === 'number' ? r.v : String(r.v)));
}
