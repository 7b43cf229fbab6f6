import { createHash, randomBytes } from 'node:crypto';
import { copyFileSync, mkdirSync, renameSync, statSync, writeFileSync, readFileSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import type { SqlDb } from '../store/sql/index.js';
import { KilnError } from '../core/errors.js';
import { gitCommit, host, nowIso, processAlive } from './context.js';
import { experimentNames, metricKeys, searchRuns, type RunSearch, type RunSearchResult } from './runs-search.js';
import { compareRuns, getRun, listRuns, type RunComparison, type RunDetail, type RunStatus, type RunSummary } from './runs.js';

export type { RunStatus };

export interface StartRunOptions {
  experiment: string;
  name?: string;
  params?: Record<string, unknown>;
  tags?: Record<string, string>;
  configHash?: string;
  /** The directory whose git commit is recorded (the project root). */
  codeDir?: string;
}

export interface LineageEntry {
  /** What the run used or produced: 'feature', 'table', 'training_set', 'parent_run', ... */
  kind: string;
  name: string;
  version?: string | null;
  details?: unknown;
}

/** Parameters are stored as text: strings as they are, everything else as JSON. */
function paramText(v: unknown): string {
  return typeof v === 'string' ? v : JSON.stringify(v) ?? String(v);
}

function newRunId(): string {
  return `${Date.now().toString(36).padStart(9, '0')}${randomBytes(4).toString('hex')}`;
}

/**
 * A run being recorded. Every call writes through to meta.sqlite at once, so what was logged survives
 * a crash; `end` closes it. Obtain one from `Tracker.withRun` (which ends it for you) or `startRun`.
 */
export class Run {
  private ended = false;

  constructor(private readonly db: SqlDb, readonly id: string, readonly artifactsDir: string) {}

  logParams(params: Record<string, unknown>): void {
    const stmt = this.db.prepare('INSERT INTO run_params (run_id, key, value) VALUES (?, ?, ?) ON CONFLICT (run_id, key) DO UPDATE SET value = excluded.value');
    this.db.transaction(() => { for (const [k, v] of Object.entries(params)) stmt.run(this.id, k, paramText(v)); })();
  }

  setTags(tags: Record<string, string>): void {
    const stmt = this.db.prepare('INSERT INTO run_tags (run_id, key, value) VALUES (?, ?, ?) ON CONFLICT (run_id, key) DO UPDATE SET value = excluded.value');
    this.db.transaction(() => { for (const [k, v] of Object.entries(tags)) stmt.run(this.id, k, v); })();
  }

  /** One metric value; `step` orders a curve (an iteration), 0 for a final figure. NaN is stored as NULL. */
  logMetric(key: string, value: number, step = 0): void {
    this.logMetrics({ [key]: value }, step);
  }

  logMetrics(metrics: Record<string, number>, step = 0): void {
    const stmt = this.db.prepare(
      'INSERT INTO run_metrics (run_id, key, step, value, logged_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT (run_id, key, step) DO UPDATE SET value = excluded.value, logged_at = excluded.logged_at',
    );
    const at = nowIso();
    this.db.transaction(() => {
      for (const [k, v] of Object.entries(metrics)) stmt.run(this.id, k, step, Number.isFinite(v) ? v : null, at);
    })();
  }

  /** A whole curve at once, e.g. per-iteration validation AUC. */
  logCurve(key: string, values: ArrayLike<number>, firstStep = 0): void {
    const at = nowIso();
    // Multi-row inserts, 200 points a statement: one round trip per 200 on PostgreSQL.
    const CHUNK = 200;
    const upsert = (n: number): string =>
      `INSERT INTO run_metrics (run_id, key, step, value, logged_at) VALUES ${Array.from({ length: n }, () => '(?, ?, ?, ?, ?)').join(', ')}
       ON CONFLICT (run_id, key, step) DO UPDATE SET value = excluded.value, logged_at = excluded.logged_at`;
    this.db.transaction(() => {
      for (let lo = 0; lo < values.length; lo += CHUNK) {
        const hi = Math.min(values.length, lo + CHUNK);
        const args: unknown[] = [];
        for (let i = lo; i < hi; i++) args.push(this.id, key, firstStep + i, Number.isFinite(values[i]!) ? values[i]! : null, at);
        this.db.prepare(upsert(hi - lo)).run(...args);
      }
    })();
  }

  logLineage(entries: LineageEntry[]): void {
    const stmt = this.db.prepare('INSERT INTO run_lineage (run_id, kind, name, version, details) VALUES (?, ?, ?, ?, ?) ON CONFLICT (run_id, kind, name) DO UPDATE SET version = excluded.version, details = excluded.details');
    this.db.transaction(() => {
      for (const e of entries) stmt.run(this.id, e.kind, e.name, e.version ?? null, e.details === undefined ? null : JSON.stringify(e.details));
    })();
  }

  /**
   * Stores an artifact under `.kiln/artifacts/<run-id>/<name>` (written to a temporary file and renamed,
   * so a reader never sees half a file) and records its size and SHA-256. Returns the stored path.
   */
  logArtifact(name: string, content: { data: string | Uint8Array } | { file: string }): string {
    const rel = normalize(name);
    if (rel.startsWith('..') || rel.startsWith('/') || rel === '.') {
      throw new KilnError('NAME_INVALID', `artifact name '${name}' must be a relative path inside the run's artifact directory`);
    }
    const dest = join(this.artifactsDir, this.id, rel);
    mkdirSync(dirname(dest), { recursive: true });
    const tmp = `${dest}.tmp-${process.pid}`;
    if ('file' in content) copyFileSync(content.file, tmp);
    else writeFileSync(tmp, content.data);
    renameSync(tmp, dest);
    const sha = createHash('sha256').update(readFileSync(dest)).digest('hex');
    this.db
      .prepare('INSERT INTO run_artifacts (run_id, path, bytes, sha256, logged_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT (run_id, path) DO UPDATE SET bytes = excluded.bytes, sha256 = excluded.sha256, logged_at = excluded.logged_at')
      .run(this.id, relative(join(this.artifactsDir, this.id), dest), statSync(dest).size, sha, nowIso());
    return dest;
  }

  end(status: Exclude<RunStatus, 'running'> = 'finished', error?: string): void {
    if (this.ended) return;
    this.ended = true;
    this.db.prepare(`UPDATE runs SET status = ?, ended_at = ?, error = ? WHERE id = ? AND status = 'running'`).run(status, nowIso(), error ?? null, this.id);
  }

  get isEnded(): boolean {
    return this.ended;
  }
}

/** Experiment tracking in meta.sqlite: experiments, runs, params, metrics, lineage and artifacts. */
export class Tracker {
  constructor(private readonly db: SqlDb, private readonly artifactsDir: string) {
    this.reapCrashedRuns();
  }

  /** Runs, newest first (by experiment and status; 50 unless `limit`). */
  listRuns(opts: { experiment?: string; status?: RunStatus; limit?: number } = {}): RunSummary[] {
    return listRuns(this.db, opts);
  }

  /** Runs searched, filtered, sorted and paged in SQL (runs-search.ts). */
  searchRuns(q: RunSearch = {}): RunSearchResult {
    return searchRuns(this.db, q);
  }

  /** Metric keys in use, most used first; experiment names. */
  metricKeys(limit = 50): string[] { return metricKeys(this.db, limit); }
  experimentNames(): string[] { return experimentNames(this.db); }

  /** A run by id or unique id prefix, with its params, tags, metrics, curves, lineage and artifacts. */
  getRun(idOrPrefix: string): RunDetail {
    return getRun(this.db, idOrPrefix);
  }

  /** Two runs side by side: every parameter and every metric with b − a. */
  compareRuns(idA: string, idB: string): RunComparison {
    return compareRuns(this.db, idA, idB);
  }

  /** Runs left 'running' by a process that is gone are marked failed (a crash, not a live run). */
  reapCrashedRuns(): number {
    const here = host();
    const stale = (this.db.prepare(`SELECT id, pid, host FROM runs WHERE status = 'running'`).all() as { id: string; pid: number; host: string }[])
      .filter((r) => r.host === here && r.pid !== process.pid && !processAlive(r.pid));
    const stmt = this.db.prepare(`UPDATE runs SET status = 'failed', ended_at = ?, error = ? WHERE id = ? AND status = 'running'`);
    for (const r of stale) stmt.run(nowIso(), `the process (pid ${r.pid}) ended without finishing the run`, r.id);
    return stale.length;
  }

  startRun(opts: StartRunOptions): Run {
    const at = nowIso();
    const id = newRunId();
    this.db.transaction(() => {
      this.db.prepare('INSERT INTO experiments (name, created_at) VALUES (?, ?) ON CONFLICT (name) DO NOTHING').run(opts.experiment, at);
      const exp = this.db.prepare('SELECT id FROM experiments WHERE name = ?').get(opts.experiment) as { id: number };
      this.db
        .prepare(`INSERT INTO runs (id, experiment_id, name, status, started_at, git_commit, config_hash, host, pid) VALUES (?, ?, ?, 'running', ?, ?, ?, ?, ?)`)
        .run(id, exp.id, opts.name ?? null, at, opts.codeDir ? gitCommit(opts.codeDir) : null, opts.configHash ?? null, host(), process.pid);
    })();
    const run = new Run(this.db, id, this.artifactsDir);
    if (opts.params) run.logParams(opts.params);
    if (opts.tags) run.setTags(opts.tags);
    return run;
  }

  /**
   * Runs `fn` inside a run: finished when it returns, failed (with the error) when it throws, killed
   * when the process is interrupted. The run handle is passed explicitly; there is no global run.
   */
  async withRun<T>(opts: StartRunOptions, fn: (run: Run) => Promise<T>): Promise<T> {
    const run = this.startRun(opts);
    const onSignal = (): void => { run.end('killed', 'interrupted'); };
    const onExit = (): void => { run.end('failed', 'the process exited during the run'); };
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    process.once('exit', onExit);
    try {
      const out = await fn(run);
      run.end('finished');
      return out;
    } catch (e) {
      run.end((e as { code?: string }).code === 'INTERRUPTED' ? 'killed' : 'failed', e instanceof Error ? e.message : String(e));
      throw e;
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      process.off('exit', onExit);
    }
  }
}
