/**
 * An item2vec worker thread: posts ready, then runs trainRange on each job it is sent (its arrays are
 * views of the caller's SharedArrayBuffers, so updates land in the shared vectors) and answers with the
 * number of pairs it trained, or the error that stopped it. See item2vec.ts.
 */
import { parentPort } from 'node:worker_threads';
import { trainRange, type KernelJob } from './item2vec-kernel.js';

parentPort!.on('message', (job: KernelJob) => {
  try {
    const pairs = trainRange(job);
    parentPort!.postMessage({ type: 'done', pairs });
  } catch (e) {
    parentPort!.postMessage({ type: 'error', message: String((e as Error)?.stack ?? e) });
  }
});
parentPort!.postMessage({ type: 'ready' });
