/**
 * A synchronous thread pool for the training kernels: nthread - 1 persistent workers plus the main
 * thread pull task indices from a shared counter. Dispatch is an Atomics.notify on an epoch word and the
 * main thread waits on a done counter, so a round trip costs microseconds, not a postMessage. New shared
 * buffers reach workers through a MessagePort they drain synchronously (receiveMessageOnPort) when they
 * wake, so buffers can be added between dispatches.
 */
import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort } from 'node:worker_threads';
import { KilnError } from '../core/errors.js';
import { startModuleWorker, workerReady } from '../core/worker.js';
import type { Arena, Region } from './arena.js';
import { gatherScratchBytes, type WasmMemory, type WasmModule } from './wasm.js';
import { emptyState, runTask, setShared, setSlot, useWasm, type PoolConfig, type SharedName, type SharedState } from './tasks.js';

export const CTRL_EPOCH = 0;
export const CTRL_NEXT = 1;
export const CTRL_DONE = 2;
export const CTRL_NTASKS = 3;
export const CTRL_ERROR = 4;
export const CTRL_STOP = 5;
/** Workers that have started (each adds 1 once it listens for dispatches). */
export const CTRL_READY = 6;
export const CTRL_INTS = 8;

export type PoolMessage =
  | { type: 'shared'; name: SharedName; region: Region }
  | { type: 'slot'; id: number; region: Region }
  | { type: 'forest'; model: string }
  | { type: 'inputs'; cols: { region: Region; f64: boolean }[]; out: Region };

export interface WorkerInit {
  ctrl: SharedArrayBuffer;
  /** The kernel's memory and module, when the WebAssembly kernel is used. */
  wasm: { memory: WasmMemory; module: WasmModule } | null;
  /** This thread's histGather scratch in the kernel's memory (byte offset; -1: none). */
  scratch: number;
  config: PoolConfig;
  /** Whether the pool predicts or explains (its workers then load the model and TreeSHAP modules). */
  forest: boolean;
  messages: PoolMessage[];
  port: MessagePort;
}

const STARTUP_TIMEOUT_MS = 60_000;

/** Atomics.waitAsync (ES2024; in V8 since Node 16), typed here since the project's lib is ES2023. */
const waitAsync = (Atomics as unknown as { waitAsync(a: Int32Array, i: number, v: number): { async: boolean; value: Promise<string> | string } }).waitAsync;
/**
 * How long the caller polls the done counter before sleeping on it, and how long an idle worker polls
 * the epoch word (hist-worker.ts). A futex wake-up of a thread whose vCPU went idle costs 55-100 us on
 * a VM (scratch measurement: 1-2 us when polling); training dispatches ~20 times a tree, with gaps of
 * tens of microseconds to a millisecond between them, so sleeping after a short spin put a wake-up in
 * the critical path of most dispatches. OpenMP runtimes spin likewise (libgomp, KMP_BLOCKTIME).
 */
export const SPIN_MS = 2;

/** Polls `word` (Atomics.load) while it equals `value`, for at most SPIN_MS; returns the last value read. */
export function spinWhile(ctrl: Int32Array, word: number, value: number): number {
  let v = Atomics.load(ctrl, word);
  if (v !== value) return v;
  const until = performance.now() + SPIN_MS;
  for (;;) {
    for (let i = 0; i < 256; i++) {
      v = Atomics.load(ctrl, word);
      if (v !== value) return v;
    }
    if (performance.now() >= until) return v;
  }
}

function startWorker(workerData: WorkerInit): Worker {
  return startModuleWorker(import.meta.url, 'hist-worker', { workerData, transferList: [workerData.port] });
}

export class TaskPool {
  readonly state: SharedState;
  private readonly ctrl: Int32Array;
  private readonly workers: Worker[] = [];
  private readonly ports: MessagePort[] = [];
  private readonly replayLog: PoolMessage[] = [];
  private ready = false;

  private constructor(config: PoolConfig, private readonly wasm: WorkerInit['wasm'], private readonly scratch: (thread: number) => number) {
    this.state = emptyState(config);
    if (wasm) useWasm(this.state, wasm.module, wasm.memory, scratch(0));
    this.ctrl = new Int32Array(new SharedArrayBuffer(CTRL_INTS * 4));
  }

  /**
   * A pool of `nthread` threads (the caller's plus nthread - 1 workers); nthread 1 runs inline.
   * `lazy` (training): resolve as soon as the workers are spawned; until every one has started (a
   * worker takes ~70-140 ms to load), dispatches run on the calling thread, which loses nothing since
   * results never depend on the threads. A worker that fails to start then only leaves the work to the
   * others. Otherwise (prediction pools) resolve once all have started, or reject.
   */
  static async start(nthread: number, config: PoolConfig, arena: Arena, shared: Partial<Record<SharedName, Region>>, forest = false, lazy = false): Promise<TaskPool> {
    const wasm = arena.memory && arena.module ? { memory: arena.memory, module: arena.module } : null;
    const perThread = gatherScratchBytes(config.rowStride >>> 2);
    const scratch = wasm && !config.wide ? arena.alloc(nthread * perThread).byteOffset : -1;
    const pool = new TaskPool(config, wasm, (t) => (scratch < 0 ? -1 : scratch + t * perThread));
    for (const [name, region] of Object.entries(shared) as [SharedName, Region][]) pool.share(name, region);
    const starts: Promise<void>[] = [];
    for (let w = 0; w < nthread - 1; w++) {
      const { port1, port2 } = new MessageChannel();
      const worker = startWorker({ ctrl: pool.ctrl.buffer as SharedArrayBuffer, wasm: pool.wasm, scratch: pool.scratch(w + 1), config, forest, messages: [...pool.replayLog], port: port2 });
      pool.workers.push(worker);
      pool.ports.push(port1);
      starts.push(workerReady(worker, STARTUP_TIMEOUT_MS));
    }
    const settle = (): void => {
      for (const w of pool.workers) {
        w.removeAllListeners();
        w.unref(); // an idle pool (e.g. a Booster's prediction threads) must not keep the process alive
      }
    };
    if (lazy) {
      for (const w of pool.workers) w.unref();
      Promise.allSettled(starts).then(settle, () => undefined);
      return pool;
    }
    try {
      await Promise.all(starts);
    } catch (e) {
      await pool.close();
      throw new KilnError('RESOURCE_UNAVAILABLE', `cannot start GBDT worker threads (nthread = ${nthread}): ${(e as Error).message}; retry with nthread: 1`, { cause: e });
    }
    settle();
    pool.ready = true;
    return pool;
  }

  /** Whether every worker has started (checked in shared memory: the event loop need not run). */
  private allReady(): boolean {
    if (!this.ready && Atomics.load(this.ctrl, CTRL_READY) === this.workers.length) this.ready = true;
    return this.ready;
  }

  get threads(): number {
    return this.workers.length + 1;
  }

  /** Installs a shared array for every thread (visible to workers from the next dispatch). */
  share(name: SharedName, region: Region): void {
    setShared(this.state, name, region);
    this.send({ type: 'shared', name, region });
  }

  shareSlot(id: number, region: Region): void {
    setSlot(this.state, id, region);
    this.send({ type: 'slot', id, region });
  }

  /** Sends any other message to every worker (the caller applies it to its own state). */
  send(m: PoolMessage): void {
    this.replayLog.push(m);
    for (const p of this.ports) p.postMessage(m);
  }

  /**
   * Runs tasks 0..ntasks-1 on the calling thread alone: for short memory-bound passes that two threads
   * make slower (the margin update, whose rows of different leaves share cache lines: 2.4x slower on two
   * threads).
   */
  runLocal(ntasks: number): void {
    for (let t = 0; t < ntasks; t++) runTask(this.state, t);
  }

  /** Runs tasks 0..ntasks-1 of the task table on all threads and returns when every one is done. */
  run(ntasks: number): void {
    if (ntasks <= 0) return;
    const { ctrl, state } = this;
    if (this.workers.length === 0 || ntasks === 1 || !this.allReady()) {
      for (let t = 0; t < ntasks; t++) runTask(state, t);
      return;
    }
    this.dispatch(ntasks);
    let failure: unknown;
    try {
      for (let t = Atomics.add(ctrl, CTRL_NEXT, 1); t < ntasks; t = Atomics.add(ctrl, CTRL_NEXT, 1)) runTask(state, t);
    } catch (e) {
      failure = e;
      Atomics.store(ctrl, CTRL_NEXT, ntasks);
    }
    const need = this.workers.length;
    for (let d = Atomics.load(ctrl, CTRL_DONE); d < need; d = Atomics.load(ctrl, CTRL_DONE)) {
      if (spinWhile(ctrl, CTRL_DONE, d) === d) Atomics.wait(ctrl, CTRL_DONE, d, 1000);
    }
    if (failure !== undefined) throw failure;
    this.throwWorkerError();
  }

  /**
   * Runs tasks 0..ntasks-1 on the workers alone and resolves when every one is done, leaving the calling
   * thread free meanwhile (batch scoring reads its next rows from DuckDB while the workers score).
   * Needs at least one worker; one dispatch at a time (run or runOnWorkers) per pool.
   */
  async runOnWorkers(ntasks: number): Promise<void> {
    const { ctrl } = this;
    const need = this.workers.length;
    if (need === 0 || !this.allReady()) throw new KilnError('INTERNAL', 'runOnWorkers needs a pool whose worker threads have started (nthread >= 2, not lazy)');
    this.dispatch(ntasks);
    // A pending waitAsync does not keep the process alive, and idle workers are unref'd: ref them meanwhile.
    for (const w of this.workers) w.ref();
    try {
      for (let d = Atomics.load(ctrl, CTRL_DONE); d < need; d = Atomics.load(ctrl, CTRL_DONE)) {
        const w = waitAsync(ctrl, CTRL_DONE, d);
        if (w.async) await w.value;
      }
    } finally {
      for (const w of this.workers) w.unref();
    }
    this.throwWorkerError();
  }

  /** Publishes tasks 0..ntasks-1 and wakes the workers. */
  private dispatch(ntasks: number): void {
    const { ctrl } = this;
    Atomics.store(ctrl, CTRL_NEXT, 0);
    Atomics.store(ctrl, CTRL_DONE, 0);
    Atomics.store(ctrl, CTRL_NTASKS, ntasks);
    Atomics.add(ctrl, CTRL_EPOCH, 1);
    Atomics.notify(ctrl, CTRL_EPOCH);
  }

  private throwWorkerError(): void {
    if (Atomics.load(this.ctrl, CTRL_ERROR) !== 0) {
      const msgs = this.ports.map((p) => receiveMessageOnPort(p)?.message as { message?: string } | undefined).filter((m) => m !== undefined);
      throw new KilnError('INTERNAL', `a GBDT worker thread failed: ${msgs.map((m) => m.message).join('; ') || 'no message'}`);
    }
  }

  /** Stops the workers (idempotent). */
  async close(): Promise<void> {
    if (this.workers.length === 0) return;
    Atomics.store(this.ctrl, CTRL_STOP, 1);
    Atomics.add(this.ctrl, CTRL_EPOCH, 1);
    Atomics.notify(this.ctrl, CTRL_EPOCH);
    const ws = this.workers.splice(0);
    await Promise.all(ws.map((w) => w.terminate()));
    for (const p of this.ports.splice(0)) p.close();
  }
}
