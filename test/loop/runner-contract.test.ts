/** The loop-runner contract against both runners: in process (SQLite), and BullMQ workers on the real Redis at 127.0.0.1:6379. */
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { BullMqRunner, InProcessRunner, LoopStore, LoopWorker, type LoopDef, type LoopRunner } from '../../src/loop/index.js';
import { MetaStore } from '../../src/store/index.js';
import { tempDir } from '../helpers.js';
import { dropSchema, META_BACKENDS, TEST_DATABASE_URL, testSchema, type MetaBackend } from '../meta-backends.js';
import { redisMode } from '../online/helpers.js';
import { describeLoopRunner } from './runner-contract.js';
import { redisConnection } from './redis.js';

const BACKOFF = { backoffBaseMs: 20, backoffMaxMs: 1000 };

function openStore(backend: MetaBackend = 'sqlite'): { store: LoopStore; close: () => void } {
  const { dir, cleanup } = tempDir('kiln-loop-');
  const schema = testSchema();
  const meta = MetaStore.open(join(dir, 'meta.sqlite'), backend === 'postgres' ? { url: TEST_DATABASE_URL, schema } : undefined);
  return { store: new LoopStore(meta.db), close: () => { meta.close(); cleanup(); if (backend === 'postgres') dropSchema(schema); } };
}

for (const backend of META_BACKENDS) {
describeLoopRunner(`in process (${backend})`, async (loops: Record<string, LoopDef>) => {
  const { store, close } = openStore(backend);
  const opened: LoopRunner[] = [new InProcessRunner(store, loops, { ...BACKOFF, heartbeatMs: 50 })];
  return {
    runner: opened[0]!, store, runnerName: 'in-process',
    another: async () => { const r = new InProcessRunner(store, loops, { ...BACKOFF, heartbeatMs: 50 }); opened.push(r); return r; },
    cleanup: async () => { for (const r of opened) await r.close(); close(); },
  };
});
}

describeLoopRunner(`BullMQ on Redis, loop state on ${META_BACKENDS.at(-1)}`, async (loops: Record<string, LoopDef>) => {
  const { store, close } = openStore(META_BACKENDS.at(-1));
  const prefix = `kiln-loop-test-${randomBytes(4).toString('hex')}`;
  const common = { ...BACKOFF, prefix, connection: redisConnection() };
  const runners: BullMqRunner[] = [new BullMqRunner(store, loops, common)];
  const worker = new LoopWorker(store, loops, { ...common, heartbeatMs: 50, lockDurationMs: 5000, stalledIntervalMs: 5000 });
  await worker.ready();
  return {
    runner: runners[0]!, store, runnerName: `bullmq:${prefix}`,
    another: async () => { const r = new BullMqRunner(store, loops, common); runners.push(r); return r; },
    cleanup: async () => {
      await worker.close();
      await runners[0]!.queue.obliterate({ force: true });
      for (const r of runners) await r.close();
      close();
    },
  };
}, { skip: async () => (await redisMode()) === 'skip' });
