/**
 * TreeSHAP off the event loop: a served GBDT version's reasons are computed on a worker thread of its
 * own while the event loop parses, reads and writes other requests. Requests queue; each dispatch takes
 * every row queued (up to CAPACITY), so under load one wake-up serves several requests. The worker's
 * booster is built from the same model JSON, and `explainRow` is deterministic: the contributions are
 * the ones the calling thread would compute (tested). Any failure (the worker cannot start, dies, or
 * throws) falls back to the calling thread for good; a retired version's thread stops once its queue is empty.
 */
import type { Worker } from 'node:worker_threads';
import { startModuleWorker, workerReady } from '../core/worker.js';
import type { Booster } from '../gbdt/index.js';

const SEQ = 0, ROWS = 1, DONE = 2, STOP = 3, FAILED = 4;
/** Atomics.waitAsync (ES2024; in V8 since Node 16), typed here since the project's lib is ES2023. */
const waitAsync = (Atomics as unknown as { waitAsync(a: Int32Array, i: number, v: number, timeout: number): { async: boolean; value: Promise<string> | string } }).waitAsync;
/** A dispatch not answered within this is taken for a lost worker (never a request left waiting). */
const DISPATCH_TIMEOUT_MS = 2000;
/** Rows per dispatch at most (a request's rows beyond it go in the next). */
const CAPACITY = 256;

interface Job { readonly x: Float64Array; readonly n: number; readonly resolve: (c: Float64Array) => void }

export class ShapThread {
  private readonly ctrl: Int32Array;
  private readonly input: Float64Array;
  private readonly output: Float64Array;
  private readonly queue: Job[] = [];
  /** The jobs of the dispatch in flight (busy while non-null). */
  private inflight: Job[] | null = null;
  private closing = false;
  private failed = false;
  /** Until the worker has loaded, rows are explained on the calling thread. */
  private starting = true;
  /** Whether the worker started (false: it could not; everything runs on the calling thread). */
  ready: Promise<boolean> = Promise.resolve(false);

  private constructor(private readonly booster: Booster, private readonly worker: Worker, input: SharedArrayBuffer, output: SharedArrayBuffer, ctrl: SharedArrayBuffer) {
    this.input = new Float64Array(input);
    this.output = new Float64Array(output);
    this.ctrl = new Int32Array(ctrl);
  }

  /**
   * Starts the thread for `booster` (its JSON goes to the worker) without waiting for it: until the
   * worker has loaded (a few hundred ms, more on a busy machine), and for good if it cannot start within
   * `timeoutMs`, rows are explained on the calling thread, so a version goes live (or is swapped in) at
   * once. Null for a model the thread does not explain (several outputs).
   */
  static open(booster: Booster, timeoutMs = 60_000): ShapThread | null {
    const F = booster.numFeatures;
    if (booster.numOutputs !== 1) return null;
    const ctrl = new SharedArrayBuffer(8 * 4);
    const input = new SharedArrayBuffer(CAPACITY * F * 8);
    const output = new SharedArrayBuffer(CAPACITY * (F + 1) * 8);
    let worker: Worker;
    try {
      worker = startModuleWorker(import.meta.url, 'shap-thread-worker', { workerData: { model: booster.toJSON(), ctrl, input, output, features: F } });
    } catch {
      return null;
    }
    worker.unref();
    const t = new ShapThread(booster, worker, input, output, ctrl);
    t.ready = workerReady(worker, timeoutMs).then(() => {
      t.starting = false;
      worker.on('error', () => t.lost());
      worker.on('exit', () => t.lost());
      if (t.closing && !t.inflight && !t.queue.length) t.stop();
      return true;
    }, () => {
      t.starting = false;
      t.failed = true;
      void worker.terminate();
      return false;
    });
    return t;
  }

  /** open(), then waits until the thread answers: null when it cannot start (then explain on the calling thread). */
  static async start(booster: Booster, timeoutMs = 60_000): Promise<ShapThread | null> {
    const t = ShapThread.open(booster, timeoutMs);
    return t && (await t.ready) ? t : null;
  }

  /** TreeSHAP contributions (n x (F + 1), bias last) of n rows given row-major (n x F). */
  explain(x: Float64Array, n: number): Promise<Float64Array> {
    if (this.failed || this.closing || this.starting || n > CAPACITY) return Promise.resolve(this.local(x, n));
    return new Promise((resolve) => {
      this.queue.push({ x, n, resolve });
      this.pump();
    });
  }

  /** The worker is gone: what it was doing and everything queued is explained here, and from now on. */
  private lost(): void {
    this.failed = true;
    const jobs = this.inflight;
    this.inflight = null;
    if (jobs) for (const j of jobs) j.resolve(this.local(j.x, j.n));
    this.pump();
  }

  private local(x: Float64Array, n: number): Float64Array {
    const F = this.booster.numFeatures;
    const out = new Float64Array(n * (F + 1));
    for (let i = 0; i < n; i++) this.booster.explainRow(x.subarray(i * F, (i + 1) * F), out.subarray(i * (F + 1), (i + 1) * (F + 1)));
    return out;
  }

  private pump(): void {
    if (this.inflight || !this.queue.length) return;
    if (this.failed) { for (const j of this.queue.splice(0)) j.resolve(this.local(j.x, j.n)); return; }
    const F = this.booster.numFeatures;
    const jobs: Job[] = [];
    let rows = 0;
    while (this.queue.length && rows + this.queue[0]!.n <= CAPACITY) {
      const j = this.queue.shift()!;
      this.input.set(j.x.subarray(0, j.n * F), rows * F);
      rows += j.n;
      jobs.push(j);
    }
    this.inflight = jobs;
    const done = Atomics.load(this.ctrl, DONE);
    Atomics.store(this.ctrl, ROWS, rows);
    Atomics.add(this.ctrl, SEQ, 1);
    Atomics.notify(this.ctrl, SEQ);
    const settle = (): void => {
      if (this.inflight !== jobs) return; // answered already (the worker was lost)
      this.inflight = null;
      if (Atomics.load(this.ctrl, FAILED) !== 0) this.failed = true;
      let at = 0;
      for (const j of jobs) {
        j.resolve(this.failed ? this.local(j.x, j.n) : this.output.slice(at * (F + 1), (at + j.n) * (F + 1)));
        at += j.n;
      }
      if (this.closing && !this.queue.length) this.stop();
      else this.pump();
    };
    const w = waitAsync(this.ctrl, DONE, done, DISPATCH_TIMEOUT_MS);
    const after = (how: string): void => { if (how === 'timed-out') { this.stop(); this.lost(); } else settle(); };
    if (w.async) void (w.value as Promise<string>).then(after); else after(w.value as string);
  }

  /** No new work: the thread stops once what is queued is done (later calls explain on the calling thread). */
  close(): void {
    this.closing = true;
    if (!this.starting && !this.inflight && !this.queue.length) this.stop();
    else if (this.starting) void this.worker.terminate();
  }

  private stop(): void {
    Atomics.store(this.ctrl, STOP, 1);
    Atomics.add(this.ctrl, SEQ, 1);
    Atomics.notify(this.ctrl, SEQ);
    void this.worker.terminate();
  }
}
