import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { KilnError } from '../core/errors.js';
import { formatCount } from '../core/progress.js';
import { CHUNK_ROWS, type ColumnarAppender, type ColumnSchema } from '../store/index.js';
import { appendBatch } from './batch.js';
import { BorrowerGenerator } from './borrower.js';
import type { MerchantIndex } from './merchants.js';
import type { Calendar } from './model.js';
import type { SimOptions } from './options.js';
import { SimCounters, SINK_NAMES, type SinkName, type Sinks } from './sinks.js';
import type { WorkerInput, WorkerMessage } from './worker.js';

/** Borrowers generated between abort checks and progress updates. */
export const BATCH = 2000;

export interface DriveContext {
  opts: SimOptions;
  cal: Calendar;
  merchants: MerchantIndex;
  appenders: Record<SinkName, ColumnarAppender<ColumnSchema>>;
  counters: SimCounters;
  progress?: { update(done: number, note?: string): void } | undefined;
  signal?: AbortSignal | undefined;
}

export function interrupted(): KilnError {
  return new KilnError('INTERRUPTED', 'simulation interrupted; the previous tables are unchanged and the staging tables were dropped');
}

/** Generates on the calling thread, yielding to the event loop between batches of borrowers. */
export async function driveInline(ctx: DriveContext): Promise<void> {
  const { opts, counters } = ctx;
  const gen = new BorrowerGenerator(opts, ctx.cal, ctx.merchants, ctx.appenders as unknown as Sinks, counters);
  for (let b0 = 1; b0 <= opts.borrowers; b0 += BATCH) {
    if (ctx.signal?.aborted) throw interrupted();
    const b1 = Math.min(opts.borrowers, b0 + BATCH - 1);
    for (let b = b0; b <= b1; b++) gen.generate(b);
    ctx.progress?.update(b1, `${formatCount(counters.events)} events`);
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
}

/**
 * Generates in a worker thread while this thread appends to DuckDB. The worker generates borrowers in
 * the same order with the same code, so the tables are byte-identical to the inline path.
 */
export function driveWorker(ctx: DriveContext): Promise<void> {
  const control = new SharedArrayBuffer(8);
  const ctl = new Int32Array(control);
  const input: WorkerInput = { opts: ctx.opts, chunkRows: CHUNK_ROWS, control, progressEvery: BATCH };
  const worker = startWorker(input);
  const sinks = SINK_NAMES.map((n) => ctx.appenders[n]);
  return new Promise<void>((resolve, reject) => {
    let settled = false;
    const finish = (err?: unknown): void => {
      if (settled) return;
      settled = true;
      ctx.signal?.removeEventListener('abort', onAbort);
      Atomics.store(ctl, 1, 1);
      Atomics.notify(ctl, 0);
      void worker.terminate();
      if (err === undefined) resolve(); else reject(err);
    };
    const onAbort = (): void => finish(interrupted());
    if (ctx.signal?.aborted) { finish(interrupted()); return; }
    ctx.signal?.addEventListener('abort', onAbort);
    worker.on('message', (m: WorkerMessage) => {
      if (settled) return;
      try {
        switch (m.type) {
          case 'batch':
            appendBatch(sinks[m.table]!, m.rows, m.columns);
            Atomics.add(ctl, 0, 1);
            Atomics.notify(ctl, 0);
            break;
          case 'progress':
            ctx.progress?.update(m.borrowers, `${formatCount(m.events)} events`);
            break;
          case 'done':
            ctx.counters.assign(m.counters);
            finish();
            break;
          case 'error':
            finish(new KilnError('INTERNAL', `simulation worker failed: ${m.message}`, { details: m.stack }));
            break;
        }
      } catch (e) {
        finish(e);
      }
    });
    worker.on('error', (e) => finish(new KilnError('INTERNAL', `simulation worker failed: ${e.message}`, { cause: e })));
    worker.on('exit', (code) => finish(new KilnError('INTERNAL', `simulation worker exited early (code ${code})`)));
  });
}

/**
 * Starts the worker module next to this one: worker.js when built; from source (tsx, vitest) worker.ts,
 * through a bootstrap that registers tsx's loader inside the worker (Node 20 does not carry it over).
 */
function startWorker(workerData: WorkerInput): Worker {
  const fromSource = import.meta.url.endsWith('.ts');
  if (!fromSource) return new Worker(new URL('./worker.js', import.meta.url), { workerData });
  const target = new URL('./worker.ts', import.meta.url).href;
  const tsxDir = pathToFileURL(createRequire(import.meta.url).resolve('tsx/package.json'));
  const api = new URL('dist/esm/api/index.mjs', tsxDir).href;
  const code = `import(${JSON.stringify(api)})
    .then((m) => { m.register(); return import(${JSON.stringify(target)}); })
    .catch((e) => { require('node:worker_threads').parentPort.postMessage({ type: 'error', message: 'cannot start the generator worker: ' + (e && e.message) }); });`;
  return new Worker(code, { eval: true, workerData });
}
