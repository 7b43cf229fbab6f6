import { KilnError } from '../core/errors.js';
import { BackfillQueue, BACKFILL_PREFIX, type BackfillStatus, type RedisOptions } from '../backfill/index.js';
import { halvingRungs, TuneQueue, type TuneStatus } from '../tune/index.js';
import { JobQueue, type QueuedJobStatus } from './queue.js';

/**
 * The jobs on one queue prefix, backfills and searches together (`kiln jobs`, the UI's Jobs screen): a
 * list newest first, the status of one by its id (bf-... a backfill, tn-... a search), and cancel.
 * Everything is read from the queues' own records (BackfillQueue, TuneQueue); nothing is kept here.
 */

export type JobKind = 'backfill' | 'search' | 'job';

export interface JobSummary {
  id: string;
  kind: JobKind;
  state: 'running' | 'done' | 'failed' | 'cancelled';
  /** Partitions committed, or trials recorded. */
  done: number;
  /** Partitions, or trials planned over every rung (a halving search's later rungs count before they are enqueued). */
  total: number;
  /** Starts beyond the first, over all partitions or trials. */
  retries: number;
  createdAt: string;
  /** One line on what it computes. */
  what: string;
  cancelled: string | null;
}

export type JobStatus = { kind: 'backfill'; status: BackfillStatus } | { kind: 'search'; status: TuneStatus } | { kind: 'job'; status: QueuedJobStatus };

export interface CancelResult {
  kind: JobKind;
  /** Queued partitions or trials dropped. */
  removed: number;
  /** Running ones: they end without committing. */
  running: number;
}

/** The kind of a job by its id's prefix; USAGE for an id that is neither. */
export function jobKind(id: string): JobKind {
  if (id.startsWith('bf-')) return 'backfill';
  if (id.startsWith('tn-')) return 'search';
  if (id.startsWith('ej-')) return 'job';
  throw new KilnError('USAGE', `'${id}' is not a job id: backfill ids start with bf-, search ids with tn-, embedding-training jobs with ej-; 'kiln jobs list' lists them`, { path: ['id'] });
}

/** The Redis connection of a URL like redis://:password@host:6379/0, and the key prefix. */
export function redisOptions(url: string, prefix?: string): RedisOptions & { prefix: string } {
  let u: URL;
  try { u = new URL(url); } catch { throw new KilnError('USAGE', `--redis-url ${url}: expected a URL like redis://127.0.0.1:6379`, { path: ['redis-url'] }); }
  return {
    connection: { host: u.hostname, port: Number(u.port || 6379), ...(u.password ? { password: decodeURIComponent(u.password) } : {}), ...(u.pathname.length > 1 ? { db: Number(u.pathname.slice(1)) } : {}) },
    prefix: prefix ?? BACKFILL_PREFIX,
  };
}

/** Trials a search plans over all its rungs. */
export function plannedTrials(s: TuneStatus['spec']): number {
  return s.search === 'random' ? s.trials : halvingRungs(s.trials, s.eta, s.minRounds, s.maxRounds).reduce((n, r) => n + r.configs, 0);
}

export function backfillSummary(s: BackfillStatus): JobSummary {
  const what = s.spec.kind === 'score' ? `scores of ${s.spec.model}` : `features ${Array.isArray(s.spec.features) ? s.spec.features.join(',') : s.spec.features}`;
  return {
    id: s.id, kind: 'backfill', state: s.state, done: s.done, total: s.total, retries: s.retries, createdAt: s.spec.createdAt,
    what: `${what} on ${s.spec.spine.table}, ${s.total} partition${s.total === 1 ? '' : 's'}`, cancelled: s.cancelled,
  };
}

export function searchSummary(s: TuneStatus): JobSummary {
  return {
    id: s.id, kind: 'search', state: s.state, done: s.trialsDone, total: Math.max(plannedTrials(s.spec), s.jobs.length), retries: s.jobs.reduce((n, j) => n + Math.max(0, j.attempts - 1), 0),
    createdAt: s.spec.createdAt, what: `${s.spec.search} search of ${s.spec.model}, ${s.spec.trials} configuration${s.spec.trials === 1 ? '' : 's'}`, cancelled: s.cancelled,
  };
}

export function singleSummary(s: QueuedJobStatus): JobSummary {
  const state = s.result ? 'done' : s.cancelled !== null && s.state !== 'active' ? 'cancelled' : s.state === 'failed' ? 'failed' : 'running';
  return {
    id: s.id, kind: 'job', state, done: s.result ? s.result.versions.length : s.progress?.done ?? 0, total: s.spec.cuts.length, retries: Math.max(0, s.attempts - 1),
    createdAt: s.spec.createdAt, what: `embedding space ${s.spec.space}, ${s.spec.cuts.length} version${s.spec.cuts.length === 1 ? '' : 's'}`, cancelled: s.cancelled,
  };
}

export const summaryOf = (j: JobStatus): JobSummary => (j.kind === 'backfill' ? backfillSummary(j.status) : j.kind === 'search' ? searchSummary(j.status) : singleSummary(j.status));

/** Whether cancelling would change anything: something may still run. */
export const cancellable = (j: JobSummary): boolean => j.state === 'running' || (j.kind === 'backfill' && j.state === 'failed');

/** Both queues under one prefix. */
export class JobQueues {
  private constructor(readonly backfills: BackfillQueue, readonly searches: TuneQueue, readonly single: JobQueue, readonly prefix: string) {}

  /** Connects to both (ONLINE_UNAVAILABLE, naming Redis, when it does not answer). */
  static async connect(opts: RedisOptions = {}): Promise<JobQueues> {
    const backfills = await BackfillQueue.connect(opts);
    let searches: TuneQueue;
    let single: JobQueue;
    try {
      searches = await TuneQueue.connect(opts);
    } catch (e) {
      await backfills.close();
      throw e;
    }
    try {
      single = await JobQueue.connect(opts);
    } catch (e) {
      await Promise.all([backfills.close(), searches.close()]);
      throw e;
    }
    return new JobQueues(backfills, searches, single, opts.prefix ?? BACKFILL_PREFIX);
  }

  /** The newest `limit` jobs of both kinds, newest first. */
  async list(limit = 20): Promise<JobSummary[]> {
    const [bf, tn, ej] = await Promise.all([this.backfills.list(limit), this.searches.list(limit), this.single.list(limit)]);
    const out: JobSummary[] = [];
    for (const id of ej) out.push(singleSummary(await this.single.status(id)));
    for (const id of bf) out.push(backfillSummary(await this.backfills.status(id)));
    for (const id of tn) out.push(searchSummary(await this.searches.status(id)));
    return out.sort((a, b) => b.createdAt.localeCompare(a.createdAt) || b.id.localeCompare(a.id)).slice(0, limit);
  }

  /** BACKFILL_NOT_FOUND / TUNE_NOT_FOUND for an id not on this queue. */
  async status(id: string): Promise<JobStatus> {
    const kind = jobKind(id);
    if (kind === 'job') return { kind, status: await this.single.status(id) };
    return kind === 'backfill' ? { kind: 'backfill', status: await this.backfills.status(id) } : { kind: 'search', status: await this.searches.status(id) };
  }

  /** Stops a job: queued partitions or trials are dropped, running ones end without committing. */
  async cancel(id: string, reason: string): Promise<CancelResult> {
    if (jobKind(id) === 'backfill') return { kind: 'backfill', ...(await this.backfills.cancel(id, reason)) };
    if (jobKind(id) === 'job') return { kind: 'job', ...(await this.single.cancel(id, reason)) };
    const before = await this.searches.status(id);
    await this.searches.cancel(id, reason);
    const after = await this.searches.status(id);
    const queued = (s: TuneStatus): number => s.jobs.filter((j) => ['waiting', 'delayed', 'prioritized', 'waiting-children'].includes(j.state)).length;
    return { kind: 'search', removed: Math.max(0, queued(before) - queued(after)), running: after.jobs.filter((j) => j.state === 'active').length };
  }

  async close(): Promise<void> {
    await Promise.all([this.backfills.close(), this.searches.close(), this.single.close()]);
  }
}
