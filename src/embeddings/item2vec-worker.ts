/**
 * An item2vec worker thread: posts ready, then runs trainRange on each job it is sent (its arrays are
 * views of the caller's SharedArrayBuffers, and its vectors the caller's shared arrays or shared
 * WebAssembly.Memory, so updates land in the shared vectors) and answers with the number of pairs it
 * trained, or the error that stopped it. See item2vec.ts.
 */
import { parentPort } from 'node:worker_threads';
import { trainRange, type KernelJob } from './item2vec-kernel.js';
import { openPairKernel, type VectorsRef } from './item2vec-wasm.js';

parentPort!.on('message', (m: { job: KernelJob; vectors: VectorsRef }) => {
  try {
    const pairs = trainRange(m.job, openPairKernel(m.vectors, m.job.thread));
    parentPort!.postMessage({ type: 'done', pairs });
  } catch (e) {
    parentPort!.postMessage({ type: 'error', message: String((e as Error)?.stack ?? e) });
  }
});
parentPort!.postMessage({ type: 'ready' });
