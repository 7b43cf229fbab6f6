/**
 * The worker of a served version's TreeSHAP thread (shap-thread.ts): its own booster from the model's
 * JSON; sleeps on the sequence word, explains the rows the calling thread put in the shared input, writes
 * their contributions to the shared output and bumps the done word.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { Booster, explainPlan } from '../gbdt/index.js';

interface Init { model: unknown; ctrl: SharedArrayBuffer; input: SharedArrayBuffer; output: SharedArrayBuffer; features: number }
const init = workerData as Init;
const SEQ = 0, ROWS = 1, DONE = 2, STOP = 3, FAILED = 4;
const ctrl = new Int32Array(init.ctrl);
const F = init.features;
const x = new Float64Array(init.input);
const out = new Float64Array(init.output);
const booster = Booster.fromJSON(init.model as Parameters<typeof Booster.fromJSON>[0]);
explainPlan(booster); // the leaf tables, before the first request
// The first dispatch may come before this thread waits: compare with the sequence's start (0), not a reading.
let seen = 0;
parentPort!.postMessage({ type: 'ready' });
for (;;) {
  Atomics.wait(ctrl, SEQ, seen);
  if (Atomics.load(ctrl, STOP) !== 0) break;
  seen = Atomics.load(ctrl, SEQ);
  const n = Atomics.load(ctrl, ROWS);
  try {
    for (let i = 0; i < n; i++) booster.explainRow(x.subarray(i * F, (i + 1) * F), out.subarray(i * (F + 1), (i + 1) * (F + 1)));
  } catch {
    Atomics.store(ctrl, FAILED, 1); // the calling thread explains them itself, and from then on
  }
  Atomics.store(ctrl, DONE, seen);
  Atomics.notify(ctrl, DONE);
}
