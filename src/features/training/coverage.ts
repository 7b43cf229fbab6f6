/**
 * Coverage of a training set's rows by its feature sources: rows whose time lies after a source's last
 * event (the source's data ends before the spine does) or at or before its first event see no data from
 * it, and their features read 0 or NULL without that being the truth about the entity.
 */
import type { Project } from '../../store/index.js';
import type { SourceSpec } from '../spec.js';
import { quoteIdent } from './sql-text.js';

export interface SourceCoverage {
  source: string;
  table: string;
  /** The source's first and last event time (UTC, 'YYYY-MM-DD HH:MM:SS'); null when it has no rows. */
  first: string | null;
  last: string | null;
  /** 'snapshot' sources keep their last row valid after it: only 'event' sources can end too early. */
  type: 'event' | 'snapshot';
  rows: number;
  /** Rows whose time is after the source's last event (event sources only), and their share of `rows`. */
  afterLast: number;
  afterLastShare: number;
  /** Rows whose time is at or before the source's first event, and their share of `rows`. */
  beforeFirst: number;
  beforeFirstShare: number;
}

/** A row share above this (5%) is worth a warning. */
export const COVERAGE_WARN_SHARE = 0.05;

/**
 * For each source, how many rows of `table` (time column `timeColumn`) lie outside the source's data.
 * @example await sourceCoverage(project, 'training_credit', 'funded_at', [transactions, repayments])
 */
export async function sourceCoverage(project: Project, table: string, timeColumn: string, sources: readonly Pick<SourceSpec, 'name' | 'table' | 'timestamp' | 'type'>[]): Promise<SourceCoverage[]> {
  const out: SourceCoverage[] = [];
  const t = `CAST(${quoteIdent(timeColumn)} AS TIMESTAMP)`;
  const seen = new Set<string>();
  for (const s of sources) {
    if (seen.has(s.name)) continue;
    seen.add(s.name);
    const ts = `CAST(${quoteIdent(s.timestamp)} AS TIMESTAMP)`;
    const [r] = await project.offline.all<{ lo: string | null; hi: string | null; n: number; after: number; before: number }>(
      `WITH b AS (SELECT min(${ts}) AS lo, max(${ts}) AS hi FROM ${quoteIdent(s.table)})
       SELECT strftime(b.lo, '%Y-%m-%d %H:%M:%S') AS lo, strftime(b.hi, '%Y-%m-%d %H:%M:%S') AS hi, count(*)::BIGINT AS n,
              count(*) FILTER (WHERE b.hi IS NULL OR ${t} > b.hi)::BIGINT AS after,
              count(*) FILTER (WHERE b.lo IS NOT NULL AND ${t} <= b.lo)::BIGINT AS before
         FROM ${quoteIdent(table)}, b WHERE ${t} IS NOT NULL GROUP BY b.lo, b.hi`);
    const n = Number(r?.n ?? 0);
    const after = s.type === 'snapshot' ? 0 : Number(r?.after ?? 0);
    const before = Number(r?.before ?? 0);
    out.push({
      source: s.name, table: s.table, type: s.type, first: r?.lo ?? null, last: r?.hi ?? null, rows: n,
      afterLast: after, afterLastShare: n ? after / n : 0, beforeFirst: before, beforeFirstShare: n ? before / n : 0,
    });
  }
  return out;
}

/** One warning line per source whose data misses more than COVERAGE_WARN_SHARE of the rows. */
export function coverageWarnings(coverage: readonly SourceCoverage[]): string[] {
  const pct = (x: number): string => `${(x * 100).toFixed(1)}%`;
  const lines: string[] = [];
  for (const c of coverage) {
    if (c.afterLastShare > COVERAGE_WARN_SHARE) {
      lines.push(`source '${c.source}' (table ${c.table}) ends at ${c.last ?? '(no rows)'}: ${c.afterLast} of ${c.rows} rows (${pct(c.afterLastShare)}) are later and see none of its data, so its features read 0 or missing for them; extend the source's data or move the spine's end earlier`);
    }
    if (c.beforeFirstShare > COVERAGE_WARN_SHARE) {
      lines.push(`source '${c.source}' (table ${c.table}) starts at ${c.first}: ${c.beforeFirst} of ${c.rows} rows (${pct(c.beforeFirstShare)}) are at or before its first event and see none of its data; start the spine later or load earlier history`);
    }
  }
  return lines;
}
