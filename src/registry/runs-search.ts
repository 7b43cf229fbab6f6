/**
 * Runs searched, filtered, sorted and paged in SQL (the web UI's runs table, `kiln runs` at scale): text
 * over id, name and experiment; filters on status, experiment, tag and parameter values, and metric
 * comparisons (a metric's final value: its highest step); sort by start, end, name or any metric; a page
 * of `size` rows and the total. Every value is a bound parameter.
 */
import type { SqlDb } from '../store/sql/index.js';
import { KilnError } from '../core/errors.js';
import type { RunStatus, RunSummary } from './runs.js';

export interface MetricFilter { key: string; op: '>' | '>=' | '<' | '<=' | '='; value: number }

export interface RunSearch {
  /** Words matched (case-insensitive) against id, name and experiment. */
  text?: string;
  experiment?: string;
  status?: RunStatus;
  tags?: Record<string, string>;
  params?: Record<string, string>;
  metrics?: MetricFilter[];
  /** 'started' (default), 'ended', 'name', or 'metric:<key>'. */
  sort?: string;
  dir?: 'asc' | 'desc';
  /** 1-based. */
  page?: number;
  size?: number;
  /** Final values of these metrics come back with each run. */
  withMetrics?: string[];
}

export interface RunSearchResult {
  total: number;
  page: number;
  size: number;
  runs: (RunSummary & { metrics: Record<string, number | null>; tags: Record<string, string> })[];
}

const FINAL = (alias: string, param: string): string =>
  `(SELECT ${alias}.value FROM run_metrics ${alias} WHERE ${alias}.run_id = r.id AND ${alias}.key = ${param} ORDER BY ${alias}.step DESC LIMIT 1)`;

/** Parses 'auc>0.8', 'loss <= 0.3' into a metric filter; null when it is not one. */
export function parseMetricFilter(text: string): MetricFilter | null {
  const m = /^\s*([^<>=\s]+)\s*(>=|<=|>|<|=)\s*(-?[\d.]+(?:e-?\d+)?)\s*$/i.exec(text);
  if (!m) return null;
  const value = Number(m[3]);
  return Number.isFinite(value) ? { key: m[1]!, op: m[2] as MetricFilter['op'], value } : null;
}

export function searchRuns(db: SqlDb, q: RunSearch = {}): RunSearchResult {
  const size = Math.min(500, Math.max(1, Math.floor(q.size ?? 50)));
  const page = Math.max(1, Math.floor(q.page ?? 1));
  const where: string[] = [];
  const args: unknown[] = [];
  if (q.experiment) { where.push('e.name = ?'); args.push(q.experiment); }
  if (q.status) { where.push('r.status = ?'); args.push(q.status); }
  for (const word of (q.text ?? '').split(/\s+/).filter(Boolean)) {
    where.push(`(r.id LIKE ? ESCAPE '\\' OR r.name LIKE ? ESCAPE '\\' OR e.name LIKE ? ESCAPE '\\')`);
    const like = `%${word.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
    args.push(like, like, like);
  }
  for (const [k, v] of Object.entries(q.tags ?? {})) { where.push('EXISTS (SELECT 1 FROM run_tags t WHERE t.run_id = r.id AND t.key = ? AND t.value = ?)'); args.push(k, v); }
  for (const [k, v] of Object.entries(q.params ?? {})) { where.push('EXISTS (SELECT 1 FROM run_params p WHERE p.run_id = r.id AND p.key = ? AND p.value = ?)'); args.push(k, v); }
  for (const f of q.metrics ?? []) {
    if (!['>', '>=', '<', '<=', '='].includes(f.op)) throw new KilnError('INVALID_ARGUMENT', `metric filter operator '${f.op}' is not one of > >= < <= =`);
    where.push(`${FINAL('mf', '?')} ${f.op} ?`);
    args.push(f.key, f.value);
  }
  const from = 'FROM runs r JOIN experiments e ON e.id = r.experiment_id';
  const w = where.length ? ` WHERE ${where.join(' AND ')}` : '';
  const dir = q.dir === 'asc' ? 'ASC' : 'DESC';
  let order: string;
  const orderArgs: unknown[] = [];
  const sort = q.sort ?? 'started';
  if (sort === 'started') order = `r.started_at ${dir}, r.id ${dir}`;
  else if (sort === 'ended') order = `r.ended_at IS NULL, r.ended_at ${dir}, r.id ${dir}`;
  else if (sort === 'name') order = `r.name IS NULL, r.name ${dir}, r.id ${dir}`;
  else if (sort.startsWith('metric:') && sort.length > 7) {
    order = `${FINAL('ms', '?')} IS NULL, ${FINAL('ms2', '?')} ${dir}, r.id ${dir}`;
    orderArgs.push(sort.slice(7), sort.slice(7));
  } else throw new KilnError('INVALID_ARGUMENT', `sort '${sort}' is not one of started, ended, name, metric:<key>`);
  const total = (db.prepare(`SELECT count(*) AS n ${from}${w}`).get(...args) as { n: number }).n;
  const rows = db.prepare(`SELECT r.*, e.name AS experiment ${from}${w} ORDER BY ${order} LIMIT ? OFFSET ?`)
    .all(...args, ...orderArgs, size, (page - 1) * size) as Record<string, unknown>[];
  const ids = rows.map((r) => r.id as string);
  const metrics = new Map<string, Record<string, number | null>>(ids.map((id) => [id, {}]));
  const tags = new Map<string, Record<string, string>>(ids.map((id) => [id, {}]));
  if (ids.length) {
    const marks = ids.map(() => '?').join(',');
    const keys = q.withMetrics ?? [];
    if (keys.length) {
      const got = db.prepare(`SELECT m.run_id, m.key, m.value FROM run_metrics m WHERE m.run_id IN (${marks}) AND m.key IN (${keys.map(() => '?').join(',')})
        AND m.step = (SELECT max(step) FROM run_metrics x WHERE x.run_id = m.run_id AND x.key = m.key)`).all(...ids, ...keys) as { run_id: string; key: string; value: number | null }[];
      for (const g of got) metrics.get(g.run_id)![g.key] = g.value;
    }
    for (const t of db.prepare(`SELECT run_id, key, value FROM run_tags WHERE run_id IN (${marks})`).all(...ids) as { run_id: string; key: string; value: string }[]) tags.get(t.run_id)![t.key] = t.value;
  }
  return {
    total, page, size,
    runs: rows.map((r) => ({
      id: r.id as string, experiment: r.experiment as string, name: (r.name as string | null) ?? null, status: r.status as RunStatus,
      startedAt: r.started_at as string, endedAt: (r.ended_at as string | null) ?? null, gitCommit: (r.git_commit as string | null) ?? null,
      configHash: (r.config_hash as string | null) ?? null, error: (r.error as string | null) ?? null,
      metrics: metrics.get(r.id as string)!, tags: tags.get(r.id as string)!,
    })),
  };
}

/** Metric keys in use (for the sort and column pickers), most used first. */
export function metricKeys(db: SqlDb, limit = 50): string[] {
  return (db.prepare('SELECT key FROM run_metrics GROUP BY key ORDER BY count(DISTINCT run_id) DESC, key LIMIT ?').all(limit) as { key: string }[]).map((r) => r.key);
}

/** Experiment names. */
export function experimentNames(db: SqlDb): string[] {
  return (db.prepare('SELECT name FROM experiments ORDER BY name').all() as { name: string }[]).map((r) => r.name);
}
