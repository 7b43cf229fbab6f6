import { type Job, Queue, UnrecoverableError, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { KilnError } from '../core/errors.js';
import { BACKFILL_PREFIX, connectionOf, probeRedis, type RedisOptions } from '../backfill/index.js';
import type { Project } from '../store/index.js';
import { runTrial } from './trial.js';
import type { TrialJob, TrialResult, TuneSpec } from './types.js';

/**
 * The trials of searches on BullMQ (queue `trials`, under the same key prefix as backfills, so one
 * `kiln worker` takes both). A job is one configuration at one rung, its id `<tune>.<rung>.<trial>`
 * (enqueueing twice is a no-op); its result is recorded once (HSETNX): a trial re-run after its worker
 * died, or after a lost lock, cannot record twice. Retries with exponential backoff, 3 attempts.
 */
const QUEUE = 'trials';
export const TRIAL_ATTEMPTS = 3;
const JOB_OPTIONS = { attempts: TRIAL_ATTEMPTS, backoff: { type: 'exponential', delay: 1000 }, removeOnComplete: { age: 7 * 24 * 3600 }, removeOnFail: { age: 7 * 24 * 3600 } } as const;

const keys = (prefix: string) => ({
  spec: (id: string): string => `${prefix}:tune:${id}:spec`,
  results: (id: string): string => `${prefix}:tune:${id}:results`,
  commits: (id: string): string => `${prefix}:tune:${id}:commits`,
  cancelled: (id: string): string => `${prefix}:tune:${id}:cancelled`,
  index: (): string => `${prefix}:tune:index`,
});

export class TuneQueue {
  readonly queue: Queue<TrialJob>;
  private readonly k: ReturnType<typeof keys>;

  private constructor(opts: RedisOptions, readonly redis: Redis) {
    const prefix = opts.prefix ?? BACKFILL_PREFIX;
    this.queue = new Queue<TrialJob>(QUEUE, { connection: connectionOf(opts), prefix });
    this.k = keys(prefix);
  }

  static async connect(opts: RedisOptions = {}): Promise<TuneQueue> {
    const probe = await probeRedis(opts, 'searches queue their trials there');
    const q = new TuneQueue(opts, probe);
    await q.queue.waitUntilReady();
    return q;
  }

  async start(spec: TuneSpec): Promise<void> {
    await this.redis.multi().set(this.k.spec(spec.id), JSON.stringify(spec)).zadd(this.k.index(), Date.parse(spec.createdAt), spec.id).exec();
  }

  async enqueue(jobs: TrialJob[]): Promise<void> {
    await this.queue.addBulk(jobs.map((data) => ({ name: 'trial', data, opts: { ...JOB_OPTIONS, jobId: `${data.tune}.${data.rung}.${data.trial}` } })));
  }

  async results(id: string): Promise<TrialResult[]> {
    return Object.values(await this.redis.hgetall(this.k.results(id))).map((t) => JSON.parse(t) as TrialResult);
  }

  /** Every commit ever recorded, in order (a duplicate commit would show here twice). */
  async commits(id: string): Promise<{ key: string; worker: string; attempt: number }[]> {
    return (await this.redis.lrange(this.k.commits(id), 0, -1)).map((t) => JSON.parse(t) as { key: string; worker: string; attempt: number });
  }

  /** The jobs of a rung that failed for good (after their attempts), with the reason. */
  async failed(id: string, rung: number, trials: number[]): Promise<{ trial: number; reason: string }[]> {
    const out: { trial: number; reason: string }[] = [];
    for (const t of trials) {
      const job = await this.queue.getJob(`${id}.${rung}.${t}`);
      if (job && (await job.getState()) === 'failed') out.push({ trial: t, reason: job.failedReason ?? 'failed' });
    }
    return out;
  }

  async spec(id: string): Promise<TuneSpec> {
    const text = await this.redis.get(this.k.spec(id));
    if (text === null) {
      const known = await this.redis.zrevrange(this.k.index(), 0, 4);
      throw new KilnError('TUNE_NOT_FOUND', `no search '${id}' on this queue${known.length ? ` (latest: ${known.join(', ')})` : ''}; 'kiln jobs list' lists them`, { path: ['id'] });
    }
    return JSON.parse(text) as TuneSpec;
  }

  /** The newest searches first. */
  async list(limit = 20): Promise<string[]> {
    return this.redis.zrevrange(this.k.index(), 0, limit - 1);
  }

  /**
   * A search as the queue sees it: its spec, the trials recorded, and every job enqueued so far with its
   * state (waiting, active with its rounds done, delayed for a retry, failed with the reason, completed).
   */
  async status(id: string): Promise<TuneStatus> {
    const spec = await this.spec(id);
    const [results, cancelled] = await Promise.all([this.results(id), this.redis.get(this.k.cancelled(id))]);
    const recorded = new Map(results.map((r) => [`${r.rung}.${r.trial}`, r]));
    const jobs: TuneStatus['jobs'] = [];
    for (const job of await this.queue.getJobs(['waiting', 'active', 'delayed', 'prioritized', 'failed', 'completed'])) {
      if (job.data.tune !== id) continue;
      const key = `${job.data.rung}.${job.data.trial}`;
      const state = recorded.has(key) ? 'done' : await job.getState();
      const progress = job.progress as { rounds?: number } | number | undefined;
      jobs.push({
        rung: job.data.rung, trial: job.data.trial, state: String(state), attempts: job.attemptsStarted ?? 0, rounds: job.data.rounds, params: job.data.params,
        ...(progress && typeof progress === 'object' && progress.rounds !== undefined ? { roundsDone: progress.rounds } : {}),
        ...(job.failedReason ? { reason: job.failedReason } : {}),
        ...(recorded.get(key) ? { validAuc: recorded.get(key)!.validAuc, runId: recorded.get(key)!.runId } : {}),
      });
    }
    jobs.sort((a, b) => a.rung - b.rung || a.trial - b.trial);
    const active = jobs.some((j) => j.state !== 'done' && j.state !== 'failed');
    const best = [...results].sort((a, b) => b.rung - a.rung || b.validAuc - a.validAuc)[0] ?? null;
    return { id, spec, cancelled, jobs, trialsDone: results.length, best, state: cancelled !== null ? 'cancelled' : active ? 'running' : jobs.some((j) => j.state === 'failed') ? 'failed' : 'done' };
  }

  /** Why the search was cancelled (`kiln jobs cancel`, the UI), or null. */
  async cancelled(id: string): Promise<string | null> {
    return this.redis.get(this.k.cancelled(id));
  }

  async cancel(id: string, reason: string): Promise<void> {
    await this.redis.set(this.k.cancelled(id), reason, 'NX');
    for (const job of await this.queue.getJobs(['waiting', 'delayed', 'prioritized'])) {
      if (job.data.tune === id) await job.remove().catch(() => undefined);
    }
  }

  async close(): Promise<void> {
    await this.queue.close();
    await this.redis.quit().catch(() => undefined);
  }
}

export interface TuneStatus {
  id: string;
  spec: TuneSpec;
  /** running while a job is waiting, active or delayed; done once all have finished (the scheduler may still be registering the best). */
  state: 'running' | 'done' | 'failed' | 'cancelled';
  cancelled: string | null;
  trialsDone: number;
  best: TrialResult | null;
  jobs: { rung: number; trial: number; state: string; attempts: number; rounds: number; roundsDone?: number; params: Record<string, unknown>; reason?: string; validAuc?: number; runId?: string }[];
}

export interface TrialWorkerOptions extends RedisOptions {
  concurrency?: number;
  lockDurationMs?: number;
  stalledIntervalMs?: number;
  log?: (line: string) => void;
}

/** Runs trials from the queue in this process (`kiln worker`). */
export class TrialWorker {
  readonly worker: Worker<TrialJob>;
  private readonly redis: Redis;
  private readonly k: ReturnType<typeof keys>;

  constructor(private readonly project: Project, private readonly opts: TrialWorkerOptions = {}) {
    const prefix = opts.prefix ?? BACKFILL_PREFIX;
    this.k = keys(prefix);
    this.redis = new Redis(connectionOf(opts));
    this.worker = new Worker<TrialJob>(QUEUE, (job) => this.process(job), {
      connection: connectionOf(opts), prefix, concurrency: opts.concurrency ?? 1,
      lockDuration: opts.lockDurationMs ?? 30_000, stalledInterval: opts.stalledIntervalMs ?? 30_000, maxStalledCount: TRIAL_ATTEMPTS,
    });
    this.worker.on('failed', (job, err) => { if (job) opts.log?.(`tune ${job.data.tune} trial ${job.data.rung}.${job.data.trial}: attempt ${job.attemptsStarted} failed: ${err.message}`); });
    this.worker.on('error', (err) => opts.log?.(`trial worker error: ${err.message}`));
  }

  async ready(): Promise<void> {
    await this.worker.waitUntilReady();
  }

  private async process(job: Job<TrialJob>): Promise<TrialResult> {
    const { tune: id, rung, trial } = job.data;
    const key = `${rung}.${trial}`;
    const log = this.opts.log ?? (() => undefined);
    const cancelled = await this.redis.get(this.k.cancelled(id));
    if (cancelled !== null) throw new UnrecoverableError(`search ${id} was cancelled: ${cancelled}`);
    const had = await this.redis.hget(this.k.results(id), key);
    if (had !== null) return JSON.parse(had) as TrialResult;
    const specText = await this.redis.get(this.k.spec(id));
    if (specText === null) throw new UnrecoverableError(`search ${id} is not recorded on this queue`);
    const spec = JSON.parse(specText) as TuneSpec;
    const attempt = job.attemptsStarted || 1;
    log(`tune ${id} trial ${key}: started (attempt ${attempt}, ${job.data.rounds} rounds, ${JSON.stringify(job.data.params)})`);
    const result = await runTrial(this.project, spec, job.data, attempt, (done) => { void job.updateProgress({ rounds: done }).catch(() => undefined); });
    // Recorded once: a second run of the same trial (a lost lock) keeps the first result.
    const first = await this.redis.hsetnx(this.k.results(id), key, JSON.stringify(result));
    if (first === 1) await this.redis.rpush(this.k.commits(id), JSON.stringify({ key, worker: result.worker, attempt }));
    log(`tune ${id} trial ${key}: ${first === 1 ? 'committed' : 'already committed by another attempt'}: valid AUC ${result.validAuc.toFixed(4)} (run ${result.runId})`);
    return first === 1 ? result : JSON.parse((await this.redis.hget(this.k.results(id), key))!) as TrialResult;
  }

  async close(): Promise<void> {
    await this.worker.close();
    await this.redis.quit().catch(() => undefined);
  }
}
