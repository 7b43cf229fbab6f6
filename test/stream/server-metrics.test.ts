/** `kiln serve`'s /metrics carries the project's stream gauges (length, lag, pending), read from the real Redis. */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { REDIS_URL, redisMode } from '../online/helpers.js';
import { tempProject } from '../helpers.js';

const mode = await redisMode();

describe.skipIf(mode === 'skip')('stream gauges on the server', () => {
  const stream = `metricstest${randomBytes(4).toString('hex')}`;
  const redis = new Redis(REDIS_URL, { lazyConnect: true });
  afterAll(async () => { await redis.del(stream).catch(() => 0); redis.disconnect(); });

  it('shows the length and the lag of a declared stream', async () => {
    await redis.connect();
    for (let i = 0; i < 3; i++) await redis.xadd(stream, '*', 'data', JSON.stringify({ txn_id: i, ts: '2026-01-01T00:00:00Z', amount: 1 }));
    const ctx = await tempProject(`export default { name: 'm',
  tables: { txns: { key: 'txn_id', timestamp: 'ts', columns: { txn_id: 'bigint', ts: 'timestamp', amount: 'double' } } },
  streams: { txns: { redis: { stream: '${stream}', url: '${REDIS_URL}', start: '0' }, table: 'txns' } },
};\n`);
    const { testServer } = await import('../serve/http-helpers.js');
    const server = await testServer({ routes: [], online: null, project: ctx.project });
    try {
      await server.app.ready();
      const text = (await server.app.inject({ method: 'GET', url: '/metrics' })).body;
      expect(text).toContain('kiln_stream_length{stream="txns"} 3');
      expect(text).toContain('kiln_stream_lag{stream="txns"} 3');
    } finally {
      await server.close();
      ctx.cleanup();
    }
  });
});
