/**
 * A GBDT pool worker: sleeps on the epoch word, and on each dispatch pulls task indices from the shared
 * counter until none are left, then bumps the done counter. See pool.ts.
 */
import { parentPort, receiveMessageOnPort, workerData } from 'node:worker_threads';
import { CTRL_DONE, CTRL_EPOCH, CTRL_ERROR, CTRL_READY, CTRL_NEXT, CTRL_NTASKS, CTRL_STOP, spinWhile, type PoolMessage, type WorkerInit } from './pool.js';
import { emptyState, runTask, setInputs, setShared, setSlot, useWasm, type SharedState } from './tasks.js';

/** Model parsing and TreeSHAP, loaded only by prediction pools (zod and the booster add ~100 ms to a start). */
type ForestModules = [typeof import('./model-json.js'), typeof import('./booster.js'), typeof import('./shap-threads.js')];
let forestModules: ForestModules | null = null;

function apply(state: SharedState, m: PoolMessage): void {
  if (m.type === 'shared') setShared(state, m.name, m.region);
  else if (m.type === 'slot') setSlot(state, m.id, m.region);
  else if (m.type === 'forest') {
    if (!forestModules) throw new Error('internal: a forest sent to a pool started without forest support');
    const [{ forestFromModel }, { Booster }, { makeExplainer }] = forestModules;
    state.forest = forestFromModel(m.model);
    // Explain needs the trees with covers: a booster of this thread's own, made on its first explain block.
    let booster: InstanceType<typeof Booster> | null = null;
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
  Atomics.add(ctrl, CTRL_READY, 1);
  parentPort!.postMessage({ type: 'ready' });
  for (;;) {
    if (spinWhile(ctrl, CTRL_EPOCH, epoch) === epoch) Atomics.wait(ctrl, CTRL_EPOCH, epoch);
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

const boot = workerData as WorkerInit;
if (boot.forest) {
  Promise.all([import('./model-json.js'), import('./booster.js'), import('./shap-threads.js')]).then((mods) => {
    forestModules = mods;
    main();
  }, (e: unknown) => parentPort!.postMessage({ type: 'error', message: String((e as Error)?.stack ?? e) }));
} else main();
