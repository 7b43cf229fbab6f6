import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { type Job, Queue, UnrecoverableError, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { BACKFILL_PREFIX, connectionOf, probeRedis, type RedisOptions } from '../backfill/index.js';
import { KilnError } from '../core/errors.js';
import { trainSpace } from '../embeddings/index.js';
import type { Project } from '../store/index.js';

/**
 * Single heavy jobs on the queue (`jobs`, same key prefix as backfills and trials, so one `kiln worker`
 * takes them all): today, training embedding spaces (their versions, vectors and HNSW indexes). A job's
 * id is its BullMQ job id (enqueueing twice is a no-op); 3 attempts with backoff; its result is
 * recorded once (HSETNX). A version registered by an attempt that died before recording it carries the
 * job in its lineage, so the retry finds it instead of training another.
 */
export interface EmbeddingTrainJob {
  id: string;
  kind: 'embeddings-train';
  space: string;
  /** One version per cut, in order (undefined: train on everything). */
  cuts: (string | null)[];
  reason?: string;
  alias?: { name: string; reason: string };
  project: string;
  createdAt: string;
}

export type JobSpec = EmbeddingTrainJob;

export interface JobResult {
  id: string;
  versions: number[];
  worker: string;
  attempt: number;
  seconds: number;
  finishedAt: string;
}

export interface QueuedJobStatus {
  id: string;
  spec: JobSpec;
  state: string;
  attempts: number;
  cancelled: string | null;
  progress: { done?: number; total?: number } | null;
  reason: string | null;
  result: JobResult | null;
}

const QUEUE = 'jobs';
export const JOB_ATTEMPTS = 3;
const OPTIONS = { attempts: JOB_ATTEMPTS, backoff: { type: 'exponential', delay: 1000 }, removeOnComplete: { age: 30 * 24 * 3600 }, removeOnFail: { age: 30 * 24 * 3600 } } as const;
const keys = (prefix: string) => ({
  results: (): string => `${prefix}:jobs:results`,
  cancelled: (id: string): string => `${prefix}:jobs:${id}:cancelled`,
  commits: (id: string): string => `${prefix}:jobs:${id}:commits`,
  index: (): string => `${prefix}:jobs:index`,
});

export function newJobId(kind: 'embeddings-train', now = new Date()): string {
  return `${kind === 'embeddings-train' ? 'ej' : 'jb'}-${now.toISOString().replace(/[-:]/g, '').replace(/\..*$/, '')}-${randomBytes(3).toString('hex')}`;
}

export class JobQueue {
  readonly queue: Queue<JobSpec>;
  private readonly k: ReturnType<typeof keys>;

  private constructor(opts: RedisOptions, readonly redis: Redis) {
    const prefix = opts.prefix ?? BACKFILL_PREFIX;
    this.queue = new Queue<JobSpec>(QUEUE, { connection: connectionOf(opts), prefix });
    this.k = keys(prefix);
  }

  static async connect(opts: RedisOptions = {}): Promise<JobQueue> {
    const probe = await probeRedis(opts, 'jobs are queued there');
    const q = new JobQueue(opts, probe);
    await q.queue.waitUntilReady();
    return q;
  }

  async enqueue(spec: JobSpec): Promise<void> {
    await this.redis.zadd(this.k.index(), Date.parse(spec.createdAt), spec.id);
    await this.queue.add(spec.kind, spec, { ...OPTIONS, jobId: spec.id });
  }

  async list(limit = 20): Promise<string[]> {
    return this.redis.zrevrange(this.k.index(), 0, limit - 1);
  }

  async status(id: string): Promise<QueuedJobStatus> {
    const job = await this.queue.getJob(id);
    const raw = await this.redis.hget(this.k.results(), id);
    if (!job && raw === null) throw new KilnError('INVALID_ARGUMENT', `no job '${id}' on this queue`, { path: ['id'] });
    const result = raw === null ? null : JSON.parse(raw) as JobResult;
    const cancelled = await this.redis.get(this.k.cancelled(id));
    const progress = job?.progress && typeof job.progress === 'object' ? job.progress as { done?: number; total?: number } : null;
    return { id, spec: job!.data, state: result ? 'done' : String(await job!.getState()), attempts: job?.attemptsStarted ?? 0, cancelled, progress, reason: job?.failedReason ?? null, result };
  }

  /** Stops a job: dropped when queued; a running one finishes the version in hand and stops there (not recorded). */
  async cancel(id: string, reason: string): Promise<{ removed: number; running: number }> {
    await this.status(id);
    await this.redis.set(this.k.cancelled(id), reason, 'NX');
    const job = await this.queue.getJob(id);
    const state = job ? await job.getState() : 'missing';
    if (job && ['waiting', 'delayed', 'prioritized'].includes(state)) {
      try { await job.remove(); return { removed: 1, running: 0 }; } catch { return { removed: 0, running: 1 }; }
    }
    return { removed: 0, running: state === 'active' ? 1 : 0 };
  }

  async commits(id: string): Promise<{ worker: string; attempt: number }[]> {
    return (await this.redis.lrange(this.k.commits(id), 0, -1)).map((t) => JSON.parse(t) as { worker: string; attempt: number });
  }

  /** Resolves with the result once the job is done; throws when it failed for good. */
  async wait(id: string, onChange?: (s: QueuedJobStatus) => void, pollMs = 500): Promise<JobResult> {
    let last = '';
    for (;;) {
      const s = await this.status(id);
      const line = `${s.state}:${s.attempts}:${JSON.stringify(s.progress)}`;
      if (line !== last) { last = line; onChange?.(s); }
      if (s.result) return s.result;
      if (s.state === 'failed') throw new KilnError('INVALID_ARGUMENT', `job ${id} failed after ${s.attempts} attempt(s): ${s.reason ?? 'unknown reason'}`);
      await new Promise((r) => setTimeout(r, pollMs));
    }
  }

  async close(): Promise<void> {
    await this.queue.close();
    await this.redis.quit().catch(() => undefined);
  }
}

export interface JobWorkerOptions extends RedisOptions {
  lockDurationMs?: number;
  stalledIntervalMs?: number;
  log?: (line: string) => void;
}

/** Runs queued jobs in this process (`kiln worker`), one at a time. */
export class JobWorker {
  readonly worker: Worker<JobSpec>;
  private readonly redis: Redis;
  private readonly k: ReturnType<typeof keys>;

  constructor(private readonly project: Project, private readonly opts: JobWorkerOptions = {}) {
    const prefix = opts.prefix ?? BACKFILL_PREFIX;
    this.k = keys(prefix);
    this.redis = new Redis(connectionOf(opts));
    this.worker = new Worker<JobSpec>(QUEUE, (job) => this.process(job), {
      connection: connectionOf(opts), prefix, concurrency: 1, lockDuration: opts.lockDurationMs ?? 30_000, stalledInterval: opts.stalledIntervalMs ?? 30_000, maxStalledCount: JOB_ATTEMPTS,
    });
    this.worker.on('failed', (job, err) => { if (job) opts.log?.(`job ${job.data.id}: attempt ${job.attemptsStarted} failed: ${err.message}`); });
    this.worker.on('error', (err) => opts.log?.(`job worker error: ${err.message}`));
  }

  async ready(): Promise<void> {
    await this.worker.waitUntilReady();
  }

  private async process(job: Job<JobSpec>): Promise<JobResult> {
    const spec = job.data;
    const had = await this.redis.hget(this.k.results(), spec.id);
    if (had !== null) return JSON.parse(had) as JobResult;
    const cancelled = await this.redis.get(this.k.cancelled(spec.id));
    if (cancelled !== null) throw new UnrecoverableError(`job ${spec.id} was cancelled: ${cancelled}`);
    const attempt = job.attemptsStarted || 1;
    const started = performance.now();
    const log = this.opts.log ?? (() => undefined);
    if (spec.kind !== 'embeddings-train') throw new UnrecoverableError(`job ${String((spec as { id: string }).id)}: unknown kind '${String((spec as { kind: string }).kind)}'`);
    log(`job ${spec.id}: started (attempt ${attempt}): train embedding space ${spec.space}, ${spec.cuts.length} version(s)`);
    const versions: number[] = [];
    for (let i = 0; i < spec.cuts.length; i++) {
      const tag = `${spec.id}#${i}`;
      // A version this job registered before its worker died: found by its lineage, not trained again.
      const done = this.project.embeddings.has(spec.space) ? this.project.embeddings.versions(spec.space).find((v) => v.lineage.job === tag) : undefined;
      if (done) { versions.push(done.version); continue; }
      if (i > 0 && (await this.redis.exists(this.k.cancelled(spec.id)))) throw new UnrecoverableError(`job ${spec.id} was cancelled after ${i} of ${spec.cuts.length} versions`);
      const cut = spec.cuts[i];
      const r = await trainSpace(this.project, spec.space, { ...(cut ? { until: cut } : {}), quiet: true, job: tag, ...(spec.reason ? { reason: spec.reason } : {}) });
      versions.push(r.version.version);
      await job.updateProgress({ done: i + 1, total: spec.cuts.length }).catch(() => undefined);
    }
    if (spec.alias) this.project.embeddings.setAlias(spec.space, spec.alias.name, versions[versions.length - 1]!, { reason: spec.alias.reason });
    const result: JobResult = { id: spec.id, versions, worker: `${hostname()}:${process.pid}`, attempt, seconds: (performance.now() - started) / 1000, finishedAt: new Date().toISOString() };
    const first = await this.redis.hsetnx(this.k.results(), spec.id, JSON.stringify(result));
    if (first === 1) await this.redis.rpush(this.k.commits(spec.id), JSON.stringify({ worker: result.worker, attempt }));
    log(`job ${spec.id}: ${first === 1 ? 'committed' : 'already committed'}: versions ${versions.join(', ')}`);
    return first === 1 ? result : JSON.parse((await this.redis.hget(this.k.results(), spec.id))!) as JobResult;
  }

  async close(): Promise<void> {
    await this.worker.close();
    await this.redis.quit().catch(() => undefined);
  }
}
