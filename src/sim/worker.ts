/**
 * The generator thread: generates borrowers 1..N in order (exactly what the inline path does) and posts
 * column chunks to the main thread, which appends them to DuckDB. Flow control: at most MAX_IN_FLIGHT
 * chunks may wait in the main thread's queue; the worker blocks on a shared counter until it catches up.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { BatchSink, type EmitBatch } from './batch.js';
import { BorrowerGenerator } from './borrower.js';
import { buildMerchantIndex } from './merchants.js';
import { makeCalendar } from './model.js';
import type { SimOptions } from './options.js';
import { SimCounters, SINK_NAMES, SINK_SCHEMAS, type Sinks } from './sinks.js';

export interface WorkerInput {
  opts: SimOptions;
  chunkRows: number;
  /** Int32Array view: [0] chunks consumed by the main thread, [1] abort flag. */
  control: SharedArrayBuffer;
  progressEvery: number;
}

export type WorkerMessage =
  | { type: 'batch'; table: number; rows: number; columns: ArrayBuffer[] }
  | { type: 'progress'; borrowers: number; events: number }
  | { type: 'done'; counters: Record<string, number> }
  | { type: 'error'; message: string; stack?: string };

const MAX_IN_FLIGHT = 128;

class Aborted extends Error {}

function main(): void {
  const port = parentPort;
  if (!port) throw new Error('sim worker started outside a worker thread');
  const input = workerData as WorkerInput;
  const control = new Int32Array(input.control);
  const post = (m: WorkerMessage, transfer?: ArrayBuffer[]): void => port.postMessage(m, transfer);
  let produced = 0;
  const emit: EmitBatch = (table, rows, columns) => {
    for (;;) {
      if (Atomics.load(control, 1) !== 0) throw new Aborted();
      const consumed = Atomics.load(control, 0);
      if (produced - consumed < MAX_IN_FLIGHT) break;
      Atomics.wait(control, 0, consumed, 100);
    }
    produced++;
    post({ type: 'batch', table, rows, columns }, columns);
  };
  try {
    const { opts } = input;
    const sinks = Object.fromEntries(
      SINK_NAMES.map((name, i) => [name, new BatchSink(i, SINK_SCHEMAS[name], input.chunkRows, emit)]),
    ) as unknown as Sinks & Record<string, BatchSink<never>>;
    const counters = new SimCounters();
    const gen = new BorrowerGenerator(opts, makeCalendar(opts), buildMerchantIndex(opts.borrowers), sinks, counters);
    for (let b = 1; b <= opts.borrowers; b++) {
      gen.generate(b);
      if (b % input.progressEvery === 0 || b === opts.borrowers) {
        if (Atomics.load(control, 1) !== 0) throw new Aborted();
        post({ type: 'progress', borrowers: b, events: counters.events });
      }
    }
    for (const name of SINK_NAMES) (sinks[name] as unknown as BatchSink<never>).flush();
    post({ type: 'done', counters: counters.toJSON() });
  } catch (e) {
    if (e instanceof Aborted) return;
    post({ type: 'error', message: (e as Error).message, ...((e as Error).stack ? { stack: (e as Error).stack } : {}) });
  }
}

main();
