/**
 * Serving throughput with 1 and 2 `kiln serve` replicas sharing the PostgreSQL registry and decision log
 * and the Redis online store (issue 20): predict by entity id (features read from Redis, reasons on,
 * durable decision records in PostgreSQL), saturated by the load generator (bench/serve-load.ts,
 * autocannon) in processes of their own: one generator on one replica, then one on each of two replicas
 * at once, the same connections in all. On one machine the replicas and the generators share its cores,
 * so this shows where a machine stops, not how replicas on machines of their own add up.
 */
import { type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { PgSyncDb } from '../../src/store/index.js';
import { buildServeWorld, cli } from '../../test/serve/serve-process.js';
import { arg, loadRun, loadRunAsync, printTable, startProcess, type LoadResult } from '../util.js';

const URL = process.env.KILN_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const REDIS = process.env.KILN_REDIS_URL ?? 'redis://127.0.0.1:6379';
const BIN = join(import.meta.dirname, '..', '..', 'bin', 'kiln.js');

export async function benchReplicas(): Promise<void> {
  const seconds = arg('seconds', 8);
  const connections = arg('connections', 8);
  const schema = `kiln_bench_replicas_${process.pid}`;
  const prefix = `kiln:bench-replicas-${process.pid}:`;
  const children: ChildProcess[] = [];
  const world = await buildServeWorld(`metadata: { url: ${JSON.stringify(URL)}, schema: '${schema}' }, online: { backend: 'redis', redisUrl: ${JSON.stringify(REDIS)}, keyPrefix: '${prefix}' }, `);
  try {
    await cli(world, 'models', 'alias', 'set', 'credit@2', 'champion', '--reason', 'bench');
    const bodies = join(world.dir, 'bodies.json');
    writeFileSync(bodies, JSON.stringify(world.entities.map((e) => ({ entityId: e, reasons: true }))));
    const serve = (): Promise<{ url: string; stop: () => Promise<void> }> => startProcess([BIN, 'serve', '--project', world.dir, '--models', 'credit@champion'], 'kiln serve', '/readyz', children);
    const a = await serve();
    const b = await serve();
    const predict = (u: string): string => `${u}/v1/models/credit/predict`;
    const rows: (string | number)[][] = [];
    const row = (what: string, rs: LoadResult[]): void => {
      const rps = rs.reduce((s, r) => s + r.rps, 0);
      rows.push([what, rs.reduce((s, r) => s + r.requests, 0), Math.round(rps), (rows.length ? rps / (rows[0]![2] as number) : 1).toFixed(2), Math.max(...rs.map((r) => r.p50)).toFixed(2), Math.max(...rs.map((r) => r.p99)).toFixed(2), rs.reduce((s, r) => s + r.errors + r.non2xx, 0)]);
    };
    console.log(`load average before: ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
    loadRun(predict(a.url), { rate: 0, seconds: 3, connections, bodies });
    loadRun(predict(b.url), { rate: 0, seconds: 3, connections, bodies });
    row(`1 replica, ${connections} connections`, [loadRun(predict(a.url), { rate: 0, seconds, connections, bodies })]);
    const half = Math.max(1, connections / 2);
    row(`2 replicas, ${half} connections each`, await Promise.all([a, b].map((s) => loadRunAsync(predict(s.url), { rate: 0, seconds, connections: half, bodies }))));
    row(`2 replicas, ${connections} connections each`, await Promise.all([a, b].map((s) => loadRunAsync(predict(s.url), { rate: 0, seconds, connections, bodies }))));
    printTable(['serving (saturated, predict by id, durable log)', 'requests', 'req/s', 'vs 1 replica', 'p50 ms (worst)', 'p99 ms (worst)', 'failed'], rows);
    await a.stop();
    await b.stop();
  } finally {
    for (const c of children) c.kill('SIGKILL');
    world.cleanup();
    const db = new PgSyncDb(URL, 'public');
    try { db.exec(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`); } finally { db.close(); }
    const r = new Redis(REDIS);
    let cursor = '0';
    do { const [next, keys] = await r.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000); cursor = next; if (keys.length) await r.del(...keys); } while (cursor !== '0');
    r.disconnect();
  }
}
