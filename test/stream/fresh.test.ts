/**
 * Freshness: with the Redis online store, an event published while `kiln stream consume` runs is readable
 * online (by this process, through Redis) within about a second; the offline table has it once the batch is acked.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openOnlineStore, RedisOnlineStore } from '../../src/online/index.js';
import { tempProject } from '../helpers.js';
import { REDIS_URL, redisMode } from '../online/helpers.js';

const DSL = resolve(import.meta.dirname, '../../src/features/index.js');
const BIN = resolve(import.meta.dirname, '../../bin/kiln.js');

const config = (name: string, stream: string, prefix: string): string => `import { defineConfig } from 'kiln';
import { count, entity, eventSource, sum } from ${JSON.stringify(DSL)};
const user = entity('user', { key: 'user_id' });
const txns = eventSource('transactions', { entity: user, timestamp: 'ts', columns: { amount: 'double' } });
export default defineConfig({
  name: '${name}',
  tables: { transactions: { key: 'txn_id', timestamp: 'ts', columns: { txn_id: 'bigint', user_id: 'bigint', ts: 'timestamp', amount: 'double' } } },
  features: [user, txns, count(txns, { name: 'n_all', window: 'lifetime' }), sum(txns, 'amount', { name: 'spend_all', window: 'lifetime' })],
  online: { backend: 'redis', redisUrl: ${JSON.stringify(REDIS_URL)}, keyPrefix: '${prefix}' },
  streams: { txns: { redis: { stream: '${stream}', url: ${JSON.stringify(REDIS_URL)} }, table: 'transactions' } },
});
`;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const mode = await redisMode();

describe.skipIf(mode === 'skip')('stream freshness with the Redis online store', () => {
  const name = `streamfresh${randomBytes(4).toString('hex')}`;
  const stream = `kiln-test:${name}:txns`;
  const prefix = `kiln-test:${name}:`;
  let redis: Redis;
  let ctx: Awaited<ReturnType<typeof tempProject>>;
  beforeAll(async () => {
    const { Redis } = await import('ioredis');
    redis = new Redis(REDIS_URL);
    ctx = await tempProject(config(name, stream, prefix));
  });
  afterAll(async () => {
    await redis.del(stream, `kiln:${name}:stream:txns`);
    const store = await RedisOnlineStore.connect({ url: REDIS_URL, prefix });
    await store.drop();
    await store.close();
    await redis.quit();
    ctx.cleanup();
  });

  it('an event published to the stream is served online within about a second', async () => {
    const child = spawn(process.execPath, [BIN, '--project', ctx.dir, 'stream', 'consume', 'txns', '--consumer', 'fresh'], { env: { ...process.env, KILN_FROM_SOURCE: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    child.stderr.on('data', (c: Buffer) => { err += String(c); });
    const exited = new Promise<number | null>((res) => child.on('exit', (code) => res(code)));
    try {
      // the group exists once the consumer is reading
      for (let i = 0; i < 200; i++) {
        const groups = await redis.xinfo('GROUPS', stream).catch(() => []) as unknown[];
        if (groups.length) break;
        await sleep(50);
      }
      const online = await openOnlineStore(ctx.project);
      const lat: number[] = [];
      try {
        for (let k = 0; k < 5; k++) {
          const t0 = performance.now();
          await redis.xadd(stream, '*', 'data', JSON.stringify({ txn_id: 1000 + k, user_id: 7, ts: new Date(Date.UTC(2025, 0, 1, k)).toISOString(), amount: 10 + k }));
          for (;;) {
            const [row] = await online.getOnlineFeatures([7], ['n_all'], { asOf: '2025-02-01T00:00:00Z' });
            if (row!.n_all === k + 1) break;
            if (performance.now() - t0 > 10_000) throw new Error(`event ${k} not online after 10 s; consumer said: ${err}`);
            await sleep(10);
          }
          lat.push(performance.now() - t0);
        }
      } finally {
        await online.close();
      }
      lat.sort((a, b) => a - b);
      console.log(`stream to online: ${lat.map((x) => x.toFixed(0)).join(', ')} ms`);
      expect(lat[2]!).toBeLessThan(1000);
      child.kill('SIGTERM');
      expect(await exited, err).toBe(0);
      const [row] = await ctx.project.offline.all<{ n: number; spend: number }>('SELECT count(*)::INTEGER AS n, sum(amount) AS spend FROM transactions');
      expect(row).toEqual({ n: 5, spend: 60 });
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
      ctx.project.releaseOffline();
    }
  }, 60_000);
});
