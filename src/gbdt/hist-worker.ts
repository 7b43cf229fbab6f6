/**
 * A GBDT pool worker: sleeps on the epoch word, and on each dispatch pulls task indices from the shared
 * counter until none are left, then bumps the done counter. See pool.ts.
 */
import { parentPort, receiveMessageOnPort, workerData } from 'node:worker_threads';
import { CTRL_DONE, CTRL_EPOCH, CTRL_ERROR, CTRL_NEXT, CTRL_NTASKS, CTRL_STOP, type PoolMessage, type WorkerInit } from './pool.js';
import { forestFromModel } from './model-json.js';
import { Booster } from './booster.js';
import { makeExplainer } from './shap-threads.js';
import { emptyState, runTask, setInputs, setShared, setSlot, useWasm, type SharedState } from './tasks.js';

function apply(state: SharedState, m: PoolMessage): void {
  if (m.type === 'shared') setShared(state, m.name, m.region);
  else if (m.type === 'slot') setSlot(state, m.id, m.region);
  else if (m.type === 'forest') {
    state.forest = forestFromModel(m.model);
    // Explain needs the trees with covers: a booster of this thread's own, made on its first explain block.
    let booster: Booster | null = null;
    state.explain = makeExplainer(state, () => (booster ??= Booster.fromJSON(m.model)));
  }
  else setInputs(state, m.cols, m.out);
}

function main(): void {
  const init = workerData as WorkerInit;
  const ctrl = new Int32Array(init.ctrl);
  const state = emptyState(init.config);
  if (init.wasm) useWasm(state, init.wasm.module, init.wasm.memory, init.scratch);
  for (const m of init.messages) apply(state, m);
  let epoch = Atomics.load(ctrl, CTRL_EPOCH);
  parentPort!.postMessage({ type: 'ready' });
  for (;;) {
    Atomics.wait(ctrl, CTRL_EPOCH, epoch);
    epoch = Atomics.load(ctrl, CTRL_EPOCH);
    for (let m = receiveMessageOnPort(init.port); m; m = receiveMessageOnPort(init.port)) apply(state, m.message as PoolMessage);
    if (Atomics.load(ctrl, CTRL_STOP) !== 0) break;
    const n = Atomics.load(ctrl, CTRL_NTASKS);
    try {
      for (let t = Atomics.add(ctrl, CTRL_NEXT, 1); t < n; t = Atomics.add(ctrl, CTRL_NEXT, 1)) runTask(state, t);
    } catch (e) {
      Atomics.store(ctrl, CTRL_NEXT, n);
      Atomics.store(ctrl, CTRL_ERROR, 1);
      init.port.postMessage({ type: 'error', message: String((e as Error)?.stack ?? e) });
    }
    Atomics.add(ctrl, CTRL_DONE, 1);
    Atomics.notify(ctrl, CTRL_DONE);
  }
}

main();
