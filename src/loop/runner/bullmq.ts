import { DelayedError, type Job, Queue, Worker } from 'bullmq';
import { KilnError } from '../../core/errors.js';
import { checkLoopDef, executeNextStep } from './execute.js';
import { sleep } from './in-process.js';
import { type LoopStore, thisOwner } from './store.js';
import type { BackoffOptions, LoopDef, LoopRunner, LoopRunRecord, SubmitOptions } from './types.js';

/**
 * Runs on BullMQ: one job per step attempt, id `<run>.<step>.<attempt>` (so enqueueing twice is a no-op),
 * executed by `kiln worker` processes (LoopWorker); the state stays in the LoopStore (meta.sqlite of the
 * project every worker opens). A finished step enqueues the next; a failed attempt enqueues the retry,
 * delayed by the backoff. A worker that dies mid-step loses its job lock and BullMQ's stalled-job check
 * hands the same job to another worker, which re-runs the (idempotent) step.
 */

export interface BullMqOptions extends BackoffOptions {
  /** Redis (default 127.0.0.1:6379). */
  connection?: { host?: string; port?: number; db?: number; password?: string };
  /** BullMQ key prefix (default 'kiln-loop'); runners and workers with the same prefix share the queue. */
  prefix?: string;
}

export interface LoopWorkerOptions extends BullMqOptions {
  /** Steps run at once by this worker (default 1). */
  concurrency?: number;
  /** How long a job's lock lasts without renewal: a dead worker's step is handed on after about this (default 30000 ms). */
  lockDurationMs?: number;
  /** How often stalled jobs are looked for (default 30000 ms). */
  stalledIntervalMs?: number;
  /** Heartbeat period while a step runs: the check for a cancel (default 1000 ms). */
  heartbeatMs?: number;
  log?: (line: string) => void;
}

const QUEUE = 'steps';
export const DEFAULT_PREFIX = 'kiln-loop';
const runnerName = (prefix: string): string => `bullmq:${prefix}`;
const connectionOf = (o: BullMqOptions) => ({ host: o.connection?.host ?? '127.0.0.1', port: o.connection?.port ?? 6379, ...(o.connection?.db !== undefined ? { db: o.connection.db } : {}), ...(o.connection?.password ? { password: o.connection.password } : {}), maxRetriesPerRequest: null });

interface StepJob { runId: string; step: string }
const JOB_OPTIONS = { attempts: 5, backoff: { type: 'exponential', delay: 1000 }, removeOnComplete: { age: 7 * 24 * 3600 }, removeOnFail: { age: 7 * 24 * 3600 } } as const;

/** Enqueues the attempt of the run's next step (the running attempt when a step is running); false when there is nothing to enqueue or the job is already there. */
async function enqueueNext(queue: Queue, store: LoopStore, runId: string, delayMs = 0): Promise<boolean> {
  const st = store.runStatus(runId);
  const next = store.nextStep(runId);
  if ((st !== 'pending' && st !== 'running') || !next || next.status === 'failed') return false;
  const attempt = next.status === 'running' ? Math.max(1, next.attempts) : next.attempts + 1;
  const jobId = `${runId}.${next.name}.${attempt}`;
  const existing = await queue.getJob(jobId);
  if (existing) {
    const state = await existing.getState();
    if (state !== 'completed' && state !== 'failed') return false;
    await existing.remove();
  }
  const wait = delayMs || (next.retryAt ? Math.max(0, Date.parse(next.retryAt) - Date.now()) : 0);
  await queue.add('step', { runId, step: next.name } satisfies StepJob, { ...JOB_OPTIONS, jobId, ...(wait > 0 ? { delay: wait } : {}) });
  return true;
}

/** Submits runs to the queue and watches them in the store; steps run in LoopWorkers. */
export class BullMqRunner implements LoopRunner {
  readonly queue: Queue;
  private readonly runner: string;
  private closed = false;

  constructor(private readonly store: LoopStore, private readonly loops: Record<string, LoopDef>, private readonly opts: BullMqOptions & { pollMs?: number } = {}) {
    for (const def of Object.values(loops)) checkLoopDef(def);
    const prefix = opts.prefix ?? DEFAULT_PREFIX;
    this.runner = runnerName(prefix);
    this.queue = new Queue(QUEUE, { connection: connectionOf(opts), prefix });
  }

  async submit(loop: string, input: Record<string, unknown>, trigger: { kind: string; detail?: unknown }, opts: SubmitOptions = {}): Promise<string> {
    const def = this.loops[loop];
    if (!def) throw new KilnError('INVALID_ARGUMENT', `no loop '${loop}' in this runner (known: ${Object.keys(this.loops).join(', ') || 'none'})`);
    if (this.closed) throw new KilnError('INVALID_ARGUMENT', 'this loop runner was closed; create a new one');
    const { id, coalesced } = this.store.createRun({ loop, steps: def.steps.map((s) => s.name), input, trigger, runner: this.runner, ...(opts.coalesce ? { coalesce: true } : {}) });
    if (!coalesced) await enqueueNext(this.queue, this.store, id);
    return id;
  }

  async runToEnd(id: string, opts: { timeoutMs?: number } = {}): Promise<LoopRunRecord> {
    const deadline = Date.now() + (opts.timeoutMs ?? Number.POSITIVE_INFINITY);
    for (;;) {
      const run = this.store.getRun(id);
      if (run.status !== 'pending' && run.status !== 'running') return run;
      if (Date.now() > deadline) throw new KilnError('STORE_BUSY', `loop run '${id}' is still ${run.status} after ${opts.timeoutMs} ms; is a 'kiln worker' running on this queue?`);
      await sleep(this.opts.pollMs ?? 50);
    }
  }

  /** Re-enqueues the next step of every pending or running run of this queue that has no live job (e.g. the submitter died before enqueueing). */
  async resume(): Promise<string[]> {
    const runs = this.store.listRuns({ limit: 10_000 }).filter((r) => r.runner === this.runner && (r.status === 'pending' || r.status === 'running'));
    const resumed: string[] = [];
    for (const r of runs) if (await enqueueNext(this.queue, this.store, r.id)) resumed.push(r.id);
    return resumed;
  }

  async cancel(id: string, reason = 'cancelled'): Promise<boolean> {
    return this.store.cancelRun(id, reason);
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.queue.close();
  }
}

/** A BullMQ worker executing loop steps; `close` lets the current steps finish first. */
export class LoopWorker {
  readonly worker: Worker<StepJob>;
  private readonly queue: Queue;

  constructor(private readonly store: LoopStore, private readonly loops: Record<string, LoopDef>, private readonly opts: LoopWorkerOptions = {}) {
    for (const def of Object.values(loops)) checkLoopDef(def);
    const prefix = opts.prefix ?? DEFAULT_PREFIX;
    this.queue = new Queue(QUEUE, { connection: connectionOf(opts), prefix });
    this.worker = new Worker<StepJob>(QUEUE, (job, token) => this.process(job, token), {
      connection: connectionOf(opts), prefix, concurrency: opts.concurrency ?? 1,
      lockDuration: opts.lockDurationMs ?? 30_000, stalledInterval: opts.stalledIntervalMs ?? 30_000,
      // Crashes are counted by the store (a step's attempts) and end the run there; BullMQ keeps handing the job on.
      maxStalledCount: 1000,
    });
    this.worker.on('failed', (job, err) => {
      if (job && job.attemptsMade >= (job.opts.attempts ?? 1)) this.store.failRun(job.data.runId, `the worker could not run step '${job.data.step}': ${err.message}`);
    });
    this.worker.on('error', (err) => opts.log?.(`worker error: ${err.message}`));
  }

  /** Resolves when the worker is connected and taking jobs. */
  async ready(): Promise<void> {
    await this.worker.waitUntilReady();
  }

  private async process(job: Job<StepJob>, token?: string): Promise<void> {
    const { runId, step } = job.data;
    const run = this.store.findRun(runId);
    if (!run || (run.status !== 'pending' && run.status !== 'running')) return;
    const loop = this.loops[run.loop];
    if (!loop) throw new Error(`this worker does not know loop '${run.loop}' (it knows ${Object.keys(this.loops).join(', ') || 'none'}); start it with the module that defines it (--loops-module)`);
    const next = this.store.nextStep(runId);
    if (!next || next.name !== step) { await enqueueNext(this.queue, this.store, runId); return; }
    const r = await executeNextStep(this.store, loop, runId, thisOwner(), {
      ...this.opts, heartbeatMs: this.opts.heartbeatMs ?? 1000, heartbeat: () => this.store.runStatus(runId) === 'running',
      ...(this.opts.log ? { log: this.opts.log } : {}),
    });
    if (r.kind === 'next') await enqueueNext(this.queue, this.store, runId);
    else if (r.kind === 'wait') {
      if (this.store.nextStep(runId)?.attempts === next.attempts && token) {
        // The backoff of an earlier attempt has not run out yet (clocks apart): wait in the delayed set.
        await job.moveToDelayed(Date.now() + r.delayMs, token);
        throw new DelayedError();
      }
      await enqueueNext(this.queue, this.store, runId, r.delayMs);
    }
  }

  /** Stops taking jobs; the steps running now finish first (SIGTERM in `kiln worker`). */
  async close(): Promise<void> {
    await this.worker.close();
    await this.queue.close();
  }
}
