import { type Job, Queue, UnrecoverableError, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { KilnError } from '../core/errors.js';
import type { Project } from '../store/index.js';
import { recordPartitionedMaterialization, runPartition, workerName, writeManifest } from './work.js';
import type { BackfillManifest, BackfillSpec, PartitionJob, PartRecord } from './types.js';

/**
 * Backfills on BullMQ: one job per partition, id `<backfill>.<partition>`, run by `kiln worker`. A failed
 * attempt is retried with exponential backoff; a worker that dies loses its job lock and BullMQ's stalled
 * check hands the job to another worker. What a backfill is and what it committed live in Redis beside
 * the queue (`<prefix>:bf:<id>:spec|parts|commits|cancelled`); a part is recorded once (HSETNX).
 */

/** HSETNX the part's record; when it was new, RPUSH its commit entry (atomic: one script). */
const COMMIT_PART = "if redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2]) == 1 then redis.call('RPUSH', KEYS[2], ARGV[3]) return 1 end return 0";

export interface RedisOptions {
  connection?: { host?: string; port?: number; db?: number; password?: string };
  /** BullMQ key prefix (default 'kiln-backfill'); the scheduler and the workers must use the same. */
  prefix?: string;
}

export interface BackfillWorkerOptions extends RedisOptions {
  /** Partitions computed at once by this worker (default 1). */
  concurrency?: number;
  /** How long a job's lock lasts without renewal: a dead worker's partition moves on after about this (default 30000 ms). */
  lockDurationMs?: number;
  /** How often jobs of dead workers are looked for (default 30000 ms). */
  stalledIntervalMs?: number;
  /** DuckDB threads per partition (default all cores). */
  threads?: number;
  log?: (line: string) => void;
}

export const BACKFILL_PREFIX = 'kiln-backfill';
const QUEUE = 'partitions';
export const BACKFILL_ATTEMPTS = 5;
const JOB_OPTIONS = { attempts: BACKFILL_ATTEMPTS, backoff: { type: 'exponential', delay: 1000 }, removeOnComplete: { age: 30 * 24 * 3600 }, removeOnFail: { age: 30 * 24 * 3600 } } as const;

/**
 * A connection to the queues' Redis that has answered a PING, or ONLINE_UNAVAILABLE naming the address
 * and `why` (what kiln keeps there), after a few seconds at most.
 */
export async function probeRedis(opts: RedisOptions, why: string): Promise<Redis> {
  const c = connectionOf(opts);
  const probe = new Redis({ ...c, lazyConnect: true, maxRetriesPerRequest: 1, connectTimeout: 3000, retryStrategy: () => null });
  let cause: Error | undefined;
  probe.on('error', (e: Error) => { cause ??= e; });
  try {
    await probe.connect();
    await probe.ping();
  } catch (e) {
    probe.disconnect();
    throw new KilnError('ONLINE_UNAVAILABLE', `Redis at ${c.host}:${c.port} does not answer (${(cause ?? (e as Error)).message}); ${why}: start Redis or pass --redis-url`, { path: ['redis-url'], cause: e });
  }
  return probe;
}

export const connectionOf = (o: RedisOptions) => ({ host: o.connection?.host ?? '127.0.0.1', port: o.connection?.port ?? 6379, ...(o.connection?.db !== undefined ? { db: o.connection.db } : {}), ...(o.connection?.password ? { password: o.connection.password } : {}), maxRetriesPerRequest: null });

class Keys {
  constructor(private readonly prefix: string) {}
  index = (): string => `${this.prefix}:bf:index`;
  spec = (id: string): string => `${this.prefix}:bf:${id}:spec`;
  parts = (id: string): string => `${this.prefix}:bf:${id}:parts`;
  commits = (id: string): string => `${this.prefix}:bf:${id}:commits`;
  cancelled = (id: string): string => `${this.prefix}:bf:${id}:cancelled`;
  done = (id: string): string => `${this.prefix}:bf:${id}:done`;
}

export type PartState = 'done' | 'active' | 'waiting' | 'delayed' | 'failed' | 'cancelled' | 'missing';

export interface PartStatus {
  partition: number;
  state: PartState;
  /** Times the job was started (a retry or a hand-over after a dead worker each add one). */
  attempts: number;
  /** Times its worker died (or stalled) holding it. */
  stalls: number;
  plannedRows: number;
  rows?: number;
  worker?: string;
  /** What the running attempt is doing (copying, computing, committing). */
  stage?: string;
  /** The last failure's reason. */
  reason?: string;
}

export interface BackfillStatus {
  id: string;
  spec: BackfillSpec;
  state: 'running' | 'done' | 'cancelled' | 'failed';
  total: number;
  done: number;
  rows: number;
  /** Starts beyond the first, over all parts. */
  retries: number;
  /** Commit records: one per part when every part committed exactly once. */
  commits: { partition: number; worker: string; attempt: number }[];
  cancelled: string | null;
  manifest: string | null;
  parts: PartStatus[];
}

/** The scheduler's handle: enqueue, watch, cancel. */
export class BackfillQueue {
  readonly queue: Queue<PartitionJob>;
  readonly redis: Redis;
  private readonly keys: Keys;

  private constructor(opts: RedisOptions, redis: Redis) {
    const prefix = opts.prefix ?? BACKFILL_PREFIX;
    this.queue = new Queue<PartitionJob>(QUEUE, { connection: connectionOf(opts), prefix });
    this.redis = redis;
    this.keys = new Keys(prefix);
  }

  /** Connects to Redis (ONLINE_UNAVAILABLE, naming it, when it does not answer in a few seconds). */
  static async connect(opts: RedisOptions = {}): Promise<BackfillQueue> {
    const probe = await probeRedis(opts, 'backfills queue their partitions there');
    const queue = new BackfillQueue(opts, probe);
    await queue.queue.waitUntilReady();
    return queue;
  }

  /** Records the backfill and enqueues one job per partition (enqueueing again is a no-op). */
  async enqueue(spec: BackfillSpec): Promise<void> {
    await this.redis.multi().set(this.keys.spec(spec.id), JSON.stringify(spec)).zadd(this.keys.index(), Date.parse(spec.createdAt), spec.id).exec();
    await this.queue.addBulk(Array.from({ length: spec.partitions }, (_, p) => ({
      name: 'partition', data: { backfill: spec.id, partition: p }, opts: { ...JOB_OPTIONS, jobId: `${spec.id}.${p}` },
    })));
  }

  async spec(id: string): Promise<BackfillSpec> {
    const text = await this.redis.get(this.keys.spec(id));
    if (text === null) {
      const known = await this.redis.zrevrange(this.keys.index(), 0, 4);
      throw new KilnError('BACKFILL_NOT_FOUND', `no backfill '${id}' on this queue${known.length ? ` (latest: ${known.join(', ')})` : ''}; 'kiln backfill list' lists them`, { path: ['id'] });
    }
    return JSON.parse(text) as BackfillSpec;
  }

  /** The newest backfills first. */
  async list(limit = 20): Promise<string[]> {
    return this.redis.zrevrange(this.keys.index(), 0, limit - 1);
  }

  async status(id: string): Promise<BackfillStatus> {
    const spec = await this.spec(id);
    const [partsRaw, commitsRaw, cancelled] = await Promise.all([
      this.redis.hgetall(this.keys.parts(id)), this.redis.lrange(this.keys.commits(id), 0, -1), this.redis.get(this.keys.cancelled(id)),
    ]);
    const records = new Map(Object.values(partsRaw).map((t) => JSON.parse(t) as PartRecord).map((r) => [r.partition, r]));
    const parts: PartStatus[] = [];
    for (let p = 0; p < spec.partitions; p++) {
      const job = await this.queue.getJob(`${id}.${p}`);
      const rec = records.get(p);
      const jobState = job ? await job.getState() : 'missing';
      let state: PartState = rec ? 'done' : jobState === 'completed' ? 'missing' : jobState === 'active' ? 'active' : jobState === 'failed' ? 'failed' : jobState === 'delayed' ? 'delayed' : jobState === 'missing' || jobState === 'unknown' ? 'missing' : 'waiting';
      if (!rec && cancelled !== null && state !== 'active') state = 'cancelled';
      const progress = job?.progress as { stage?: string } | number | undefined;
      parts.push({
        partition: p, state, attempts: job?.attemptsStarted ?? (rec ? rec.attempt : 0), stalls: job?.stalledCounter ?? 0, plannedRows: spec.plannedRows[p] ?? 0,
        ...(rec ? { rows: rec.rows, worker: rec.worker } : {}),
        ...(state === 'active' && progress && typeof progress === 'object' && progress.stage ? { stage: progress.stage } : {}),
        ...(job?.failedReason ? { reason: job.failedReason } : {}),
      });
    }
    const done = parts.filter((p) => p.state === 'done').length;
    const manifestFile = join(spec.dir, '_manifest.json');
    return {
      id, spec, total: spec.partitions, done, rows: [...records.values()].reduce((s, r) => s + r.rows, 0),
      retries: parts.reduce((s, p) => s + Math.max(0, p.attempts - 1), 0),
      commits: commitsRaw.map((t) => JSON.parse(t) as { partition: number; worker: string; attempt: number }),
      cancelled, manifest: existsSync(manifestFile) ? manifestFile : null,
      state: done === spec.partitions ? 'done' : cancelled !== null ? 'cancelled' : parts.some((p) => p.state === 'failed') ? 'failed' : 'running',
      parts,
    };
  }

  /** Stops a backfill: waiting and delayed partitions are dropped, running ones finish without committing. */
  async cancel(id: string, reason = 'cancelled'): Promise<{ removed: number; running: number }> {
    const spec = await this.spec(id);
    await this.redis.set(this.keys.cancelled(id), reason, 'NX');
    let removed = 0;
    let running = 0;
    for (let p = 0; p < spec.partitions; p++) {
      const job = await this.queue.getJob(`${id}.${p}`);
      if (!job) continue;
      const state = await job.getState();
      if (state === 'active') running++;
      else if (state === 'waiting' || state === 'delayed' || state === 'prioritized' || state === 'waiting-children') {
        try { await job.remove(); removed++; } catch { running++; }
      }
    }
    // The snapshot is only read by partitions; with none running it can go now (a running one keeps its open copy).
    if (running === 0) rmSync(spec.snapshot, { force: true });
    return { removed, running };
  }

  async close(): Promise<void> {
    await this.queue.close();
    await this.redis.quit().catch(() => undefined);
  }
}

/** Runs backfill partitions from the queue in this process (`kiln worker`). */
export class BackfillWorker {
  readonly worker: Worker<PartitionJob>;
  private readonly redis: Redis;
  private readonly keys: Keys;

  constructor(private readonly project: Project, private readonly opts: BackfillWorkerOptions = {}) {
    const prefix = opts.prefix ?? BACKFILL_PREFIX;
    this.keys = new Keys(prefix);
    this.redis = new Redis(connectionOf(opts));
    this.worker = new Worker<PartitionJob>(QUEUE, (job) => this.process(job), {
      connection: connectionOf(opts), prefix, concurrency: opts.concurrency ?? 1,
      lockDuration: opts.lockDurationMs ?? 30_000, stalledInterval: opts.stalledIntervalMs ?? 30_000, maxStalledCount: BACKFILL_ATTEMPTS,
    });
    this.worker.on('failed', (job, err) => {
      if (job) opts.log?.(`backfill ${job.data.backfill} partition ${job.data.partition}: attempt ${job.attemptsStarted} failed: ${err.message}`);
    });
    this.worker.on('error', (err) => opts.log?.(`backfill worker error: ${err.message}`));
  }

  async ready(): Promise<void> {
    await this.worker.waitUntilReady();
  }

  private async process(job: Job<PartitionJob>): Promise<PartRecord | null> {
    const { backfill: id, partition } = job.data;
    const log = this.opts.log ?? (() => undefined);
    const cancelled = await this.redis.get(this.keys.cancelled(id));
    if (cancelled !== null) throw new UnrecoverableError(`backfill ${id} was cancelled: ${cancelled}`);
    const specText = await this.redis.get(this.keys.spec(id));
    if (specText === null) throw new UnrecoverableError(`backfill ${id} is not recorded on this queue`);
    const spec = JSON.parse(specText) as BackfillSpec;
    const had = await this.redis.hget(this.keys.parts(id), String(partition));
    if (had !== null && existsSync((JSON.parse(had) as PartRecord).file)) {
      log(`backfill ${id} partition ${partition}/${spec.partitions}: already committed`);
      return JSON.parse(had) as PartRecord;
    }
    const attempt = job.attemptsStarted || 1;
    log(`backfill ${id} partition ${partition}/${spec.partitions}: started (attempt ${attempt}, ${spec.plannedRows[partition] ?? 0} spine rows)`);
    let record: PartRecord;
    try {
      record = await runPartition(this.project, spec, partition, {
        attempt, cancelled: async () => (await this.redis.exists(this.keys.cancelled(id))) > 0,
        progress: (stage) => { void job.updateProgress({ stage }).catch(() => undefined); },
        ...(this.opts.threads ? { threads: this.opts.threads } : {}),
      });
    } catch (e) {
      if (e instanceof KilnError && e.code === 'INTERRUPTED') throw new UnrecoverableError(e.message);
      throw e;
    }
    // The record and its commit entry in one step: status() read between two commands saw every part
    // done and a commit missing.
    await this.redis.eval(COMMIT_PART, 2, this.keys.parts(id), this.keys.commits(id), String(partition), JSON.stringify(record), JSON.stringify({ partition, worker: record.worker, attempt }));
    log(`backfill ${id} partition ${partition}/${spec.partitions}: committed ${record.rows} rows in ${record.seconds.toFixed(2)} s`);
    await this.finishIfComplete(spec);
    return record;
  }

  /** The manifest, once every part is in; then the snapshot is removed. */
  private async finishIfComplete(spec: BackfillSpec): Promise<BackfillManifest | null> {
    const raw = await this.redis.hgetall(this.keys.parts(spec.id));
    if (Object.keys(raw).length < spec.partitions) return null;
    const manifest = writeManifest(spec, Object.values(raw).map((t) => JSON.parse(t) as PartRecord));
    if (!manifest) return null;
    if (await this.redis.set(this.keys.done(spec.id), manifest.completedAt, 'NX')) {
      if (spec.kind === 'materialize') await recordPartitionedMaterialization(spec, manifest.parts);
      rmSync(spec.snapshot, { force: true });
      this.opts.log?.(`backfill ${spec.id}: all ${spec.partitions} parts in (${manifest.rows} rows); manifest ${join(spec.dir, '_manifest.json')}`);
    }
    return manifest;
  }

  async close(): Promise<void> {
    await this.worker.close();
    this.redis.disconnect();
  }
}

/** backfill.json of a backfill folder. */
export function readSpecFile(dir: string): BackfillSpec {
  return JSON.parse(readFileSync(join(dir, 'backfill.json'), 'utf8')) as BackfillSpec;
}
