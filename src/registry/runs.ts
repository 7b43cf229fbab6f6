import type { SqlDb } from '../store/sql/index.js';
import { KilnError } from '../core/errors.js';

/** A run's state: 'running' until it ends, then finished, failed (with its error) or killed (interrupted). */
export type RunStatus = 'running' | 'finished' | 'failed' | 'killed';

export interface RunSummary {
  id: string;
  experiment: string;
  name: string | null;
  status: RunStatus;
  startedAt: string;
  endedAt: string | null;
  gitCommit: string | null;
  configHash: string | null;
  error: string | null;
}

export interface RunDetail extends RunSummary {
  params: Record<string, string>;
  tags: Record<string, string>;
  /** Final value of each metric (its highest step). */
  metrics: Record<string, number | null>;
  /** Metrics with more than one step, as curves. */
  curves: Record<string, { step: number; value: number | null }[]>;
  lineage: { kind: string; name: string; version: string | null; details: unknown }[];
  artifacts: { path: string; bytes: number; sha256: string }[];
}

function summary(r: Record<string, unknown>): RunSummary {
  return {
    id: r.id as string, experiment: r.experiment as string, name: (r.name as string | null) ?? null, status: r.status as RunStatus,
    startedAt: r.started_at as string, endedAt: (r.ended_at as string | null) ?? null, gitCommit: (r.git_commit as string | null) ?? null,
    configHash: (r.config_hash as string | null) ?? null, error: (r.error as string | null) ?? null,
  };
}

const RUN_SELECT = 'SELECT r.*, e.name AS experiment FROM runs r JOIN experiments e ON e.id = r.experiment_id';

export function listRuns(db: SqlDb, opts: { experiment?: string; status?: RunStatus; limit?: number } = {}): RunSummary[] {
  const where: string[] = [];
  const args: unknown[] = [];
  if (opts.experiment) { where.push('e.name = ?'); args.push(opts.experiment); }
  if (opts.status) { where.push('r.status = ?'); args.push(opts.status); }
  const sql = `${RUN_SELECT}${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY r.started_at DESC, r.id DESC LIMIT ?`;
  return (db.prepare(sql).all(...args, opts.limit ?? 50) as Record<string, unknown>[]).map(summary);
}

/** A run by id, or by a unique id prefix (as git takes a short sha). */
export function getRun(db: SqlDb, idOrPrefix: string): RunDetail {
  const rows = db.prepare(`${RUN_SELECT} WHERE r.id LIKE ? ORDER BY r.id LIMIT 3`).all(`${idOrPrefix.replace(/[%_]/g, '')}%`) as Record<string, unknown>[];
  if (rows.length === 0) throw new KilnError('RUN_NOT_FOUND', `no run '${idOrPrefix}'; 'kiln runs list' shows the runs`);
  const exact = rows.find((r) => r.id === idOrPrefix);
  if (!exact && rows.length > 1) {
    throw new KilnError('RUN_NOT_FOUND', `run id prefix '${idOrPrefix}' is ambiguous (${rows.map((r) => r.id).join(', ')}, ...); give more characters`);
  }
  const r = summary(exact ?? rows[0]!);
  const kv = (table: string): Record<string, string> =>
    Object.fromEntries((db.prepare(`SELECT key, value FROM ${table} WHERE run_id = ? ORDER BY key`).all(r.id) as { key: string; value: string }[]).map((x) => [x.key, x.value]));
  const metricRows = db.prepare('SELECT key, step, value FROM run_metrics WHERE run_id = ? ORDER BY key, step').all(r.id) as { key: string; step: number; value: number | null }[];
  const metrics: Record<string, number | null> = {};
  const curves: Record<string, { step: number; value: number | null }[]> = {};
  for (const m of metricRows) {
    metrics[m.key] = m.value;
    (curves[m.key] ??= []).push({ step: m.step, value: m.value });
  }
  for (const k of Object.keys(curves)) if (curves[k]!.length < 2) delete curves[k];
  const lineage = (db.prepare('SELECT kind, name, version, details FROM run_lineage WHERE run_id = ? ORDER BY kind, name').all(r.id) as { kind: string; name: string; version: string | null; details: string | null }[])
    .map((l) => ({ ...l, details: l.details === null ? null : (JSON.parse(l.details) as unknown) }));
  const artifacts = db.prepare('SELECT path, bytes, sha256 FROM run_artifacts WHERE run_id = ? ORDER BY path').all(r.id) as { path: string; bytes: number; sha256: string }[];
  return { ...r, params: kv('run_params'), tags: kv('run_tags'), metrics, curves, lineage, artifacts };
}

export interface RunComparison {
  a: RunSummary;
  b: RunSummary;
  params: { key: string; a: string | null; b: string | null; same: boolean }[];
  metrics: { key: string; a: number | null; b: number | null; delta: number | null }[];
}

/** Two runs side by side: every parameter (marking differences) and every metric with b − a. */
export function compareRuns(db: SqlDb, idA: string, idB: string): RunComparison {
  const a = getRun(db, idA);
  const b = getRun(db, idB);
  const keys = (x: Record<string, unknown>, y: Record<string, unknown>): string[] => [...new Set([...Object.keys(x), ...Object.keys(y)])].sort();
  return {
    a, b,
    params: keys(a.params, b.params).map((key) => ({ key, a: a.params[key] ?? null, b: b.params[key] ?? null, same: a.params[key] === b.params[key] })),
    metrics: keys(a.metrics, b.metrics).map((key) => {
      const va = a.metrics[key] ?? null;
      const vb = b.metrics[key] ?? null;
      return { key, a: va, b: vb, delta: va !== null && vb !== null ? vb - va : null };
    }),
  };
}
