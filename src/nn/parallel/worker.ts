/**
 * A data-parallel worker: sleeps on the epoch word; on each dispatch pulls shard (or chunk) indices from
 * the shared counter and runs them, then bumps the done counter. See pool.ts.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { NetSpec } from '../net.js';
import type { TrainData } from './data.js';
import { C, recordError, ShardRunner, type SharedBuffers } from './shard.js';

interface Init { spec: NetSpec; data: TrainData; shared: SharedBuffers; wasm: boolean }

function main(): void {
  const init = workerData as Init;
  const ctrl = init.shared.ctrl;
  let runner: ShardRunner;
  try {
    runner = new ShardRunner(init.spec, init.data, init.shared, init.wasm);
  } catch (e) {
    parentPort!.postMessage({ type: 'error', message: String((e as Error)?.stack ?? e) });
    return;
  }
  let epoch = Atomics.load(ctrl, C.EPOCH);
  parentPort!.postMessage({ type: 'ready' });
  for (;;) {
    Atomics.wait(ctrl, C.EPOCH, epoch);
    epoch = Atomics.load(ctrl, C.EPOCH);
    if (Atomics.load(ctrl, C.STOP) !== 0) break;
    const n = Atomics.load(ctrl, C.NTASKS);
    try {
      for (let t = Atomics.add(ctrl, C.NEXT, 1); t < n; t = Atomics.add(ctrl, C.NEXT, 1)) runner.run(t);
    } catch (e) {
      Atomics.store(ctrl, C.NEXT, n);
      recordError(init.shared, e);
    }
    Atomics.add(ctrl, C.DONE, 1);
    Atomics.notify(ctrl, C.DONE);
  }
}

main();
