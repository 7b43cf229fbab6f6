// A plain-JavaScript worker for test/core/worker.test.ts: answers 'ready' with the execArgv it was given.
import { parentPort } from 'node:worker_threads';
parentPort.postMessage({ type: 'ready', execArgv: process.execArgv });
