/**
 * What discovery reads from the source's data before proposing anything: the values of each categorical
 * column (via `discoverBuckets`), ordered by how much they tell entities apart, and the mean number of
 * events per entity per day (for the online cost). Label-free: nothing here looks at the model's label.
 */
import { isKilnError } from '../core/errors.js';
import type { SourceSpec } from '../features/index.js';
import { discoverBuckets } from '../features/training/index.js';
import { quoteIdent, type Project } from '../store/index.js';
import { classifyColumns, type ColumnProfile } from './candidates.js';

/** Categorical columns with more distinct values than this are treated as id-like (distinct counts). */
export const MAX_BUCKET_VALUES = 50;

export interface SourceProfile extends ColumnProfile {
  eventsPerEntityDay: number;
}

/**
 * Values of `column`, most entity-specific first: by the coefficient of variation of the per-entity
 * count over all entities (a value concentrated in few entities, like gambling, before one everybody has).
 */
async function orderedValues(project: Project, source: SourceSpec, column: string, values: readonly (string | number)[]): Promise<(string | number)[]> {
  const t = quoteIdent(source.table), k = quoteIdent(source.key), c = quoteIdent(column);
  const [{ ne }] = (await project.offline.all<{ ne: number }>(`SELECT count(DISTINCT ${k})::DOUBLE AS ne FROM ${t}`)) as [{ ne: number }];
  const rows = await project.offline.all<{ v: string; s1: number; s2: number }>(
    `SELECT v, sum(n)::DOUBLE AS s1, sum(n * n)::DOUBLE AS s2 FROM (SELECT ${k}, ${c}::VARCHAR AS v, count(*) AS n FROM ${t} WHERE ${c} IS NOT NULL GROUP BY 1, 2) GROUP BY 1`);
  const cv = new Map(rows.map((r) => {
    const m = r.s1 / ne;
    return [r.v, Math.sqrt(Math.max(0, r.s2 / ne - m * m)) / (m || 1)];
  }));
  return [...values].sort((a, b) => (cv.get(String(b)) ?? 0) - (cv.get(String(a)) ?? 0) || String(a).localeCompare(String(b)));
}

/**
 * The column profile of a source: numeric columns, categorical columns with up to `maxValues` values
 * each, id-like columns (declared ids, and categorical columns with more than MAX_BUCKET_VALUES values).
 */
export async function profileSource(project: Project, source: SourceSpec, maxValues: number): Promise<SourceProfile> {
  const cls = classifyColumns(source);
  const categorical: ColumnProfile['categorical'][number][] = [];
  const idLike = [...cls.idLike];
  for (const column of cls.categorical) {
    if (source.columns[column] === 'boolean') { categorical.push({ column, values: [true] }); continue; }
    try {
      const values = await discoverBuckets(project, source, column, { max: MAX_BUCKET_VALUES });
      categorical.push({ column, values: (await orderedValues(project, source, column, values)).slice(0, maxValues) });
    } catch (e) {
      if (!isKilnError(e) || e.code !== 'FEATURE_DEFINITION_INVALID') throw e;
      idLike.push(column);
    }
  }
  const t = quoteIdent(source.table), k = quoteIdent(source.key), ts = quoteIdent(source.timestamp);
  const [r] = await project.offline.all<{ n: number; ne: number; days: number | null }>(
    `SELECT count(*)::DOUBLE AS n, count(DISTINCT ${k})::DOUBLE AS ne, date_diff('day', min(${ts})::TIMESTAMP, max(${ts})::TIMESTAMP)::DOUBLE AS days FROM ${t}`);
  const eventsPerEntityDay = r && r.ne > 0 ? r.n / (r.ne * Math.max(1, r.days ?? 1)) : 0;
  return { numeric: cls.numeric, categorical, idLike, eventsPerEntityDay };
}
