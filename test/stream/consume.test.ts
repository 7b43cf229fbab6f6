/**
 * `kiln stream consume` against the real Redis: events published with XADD are consumed by a child
 * process that is killed with SIGKILL mid-batch, then restarted under another consumer name (it claims the
 * dead consumer's pending entries with XAUTOCLAIM); both stores then hold every event exactly once, the
 * online values equal the offline training set's as of the same time, malformed entries are dead letters
 * with their reasons, a full redelivery (the group rewound) changes nothing, and SIGTERM finishes the batch
 * and exits 0.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTrainingSet } from '../../src/features/training/index.js';
import { openOnlineStore } from '../../src/online/index.js';
import { readDeadLetters, streamStatus, streamMetrics } from '../../src/stream/index.js';
import { tempProject } from '../helpers.js';
import { REDIS_URL, redisMode } from '../online/helpers.js';

const DSL = resolve(import.meta.dirname, '../../src/features/index.js');
const BIN = resolve(import.meta.dirname, '../../bin/kiln.js');
const T0 = Date.UTC(2024, 0, 1);
const HOUR = 3_600_000;
const USERS = 40;
const N = 1500;
const AT = new Date(T0 + 40 * 24 * HOUR).toISOString();

const config = (name: string, stream: string): string => `import { defineConfig } from 'kiln';
import { count, entity, eventSource, featureSet, sum, last } from ${JSON.stringify(DSL)};
const user = entity('user', { key: 'user_id' });
const txns = eventSource('transactions', { entity: user, timestamp: 'ts', columns: { amount: 'double' } });
const n7 = count(txns, { name: 'n_7d', window: '7d' });
const s30 = sum(txns, 'amount', { name: 'spend_30d', window: '30d' });
const nAll = count(txns, { name: 'n_all', window: 'lifetime' });
const lastAmount = last(txns, 'amount', { name: 'last_amount', window: 'lifetime' });
export default defineConfig({
  name: '${name}',
  tables: { transactions: { key: 'txn_id', timestamp: 'ts', columns: { txn_id: 'bigint', user_id: 'bigint', ts: 'timestamp', amount: 'double' } } },
  features: [user, txns, n7, s30, nAll, lastAmount, featureSet('spend', [n7, s30, nAll, lastAmount])],
  streams: { txns: { redis: { url: ${JSON.stringify(REDIS_URL)}, stream: '${stream}', group: 'kiln' }, table: 'transactions', batch: { maxEvents: 40, maxMs: 200 }, claimIdleMs: 400 } },
});
`;

/** Event i: a seeded-free deterministic stream (amounts in quarters, so sums are exact). */
const event = (i: number): Record<string, unknown> => ({ txn_id: 100_000 + i, user_id: i % USERS, ts: new Date(T0 + Math.floor(i * 0.6 * HOUR)).toISOString(), amount: ((i * 37) % 400) / 4 });

function runKiln(dir: string, args: string[]): { child: ReturnType<typeof spawn>; exited: Promise<number | null>; out: () => string; err: () => string } {
  const child = spawn(process.execPath, [BIN, '--project', dir, ...args], { env: { ...process.env, KILN_FROM_SOURCE: '1', NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.on('data', (c: Buffer) => { out += String(c); });
  child.stderr!.on('data', (c: Buffer) => { err += String(c); });
  const exited = new Promise<number | null>((res) => child.on('exit', (code) => res(code)));
  return { child, exited, out: () => out, err: () => err };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function group(redis: Redis, stream: string): Promise<Record<string, unknown>> {
  const groups = await redis.xinfo('GROUPS', stream) as unknown[][];
  const flat = groups[0] ?? [];
  const m: Record<string, unknown> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) m[String(flat[i])] = flat[i + 1];
  return m;
}

const mode = await redisMode();

describe.skipIf(mode === 'skip')('kiln stream consume (Redis Streams)', () => {
  const name = `streamtest${randomBytes(4).toString('hex')}`;
  const stream = `kiln-test:${name}:txns`;
  let redis: Redis;
  let ctx: Awaited<ReturnType<typeof tempProject>>;

  beforeAll(async () => {
    const { Redis } = await import('ioredis');
    redis = new Redis(REDIS_URL);
    ctx = await tempProject(config(name, stream));
    ctx.project.close();
  });
  afterAll(async () => {
    await redis.del(stream, `kiln:${name}:stream:txns`);
    await redis.quit();
    ctx.cleanup();
  });

  it('survives SIGKILL mid-batch: both stores hold every event once, online equals offline, malformed entries are dead letters', async () => {
    const p = redis.pipeline();
    for (let i = 0; i < N; i++) {
      p.xadd(stream, '*', 'data', JSON.stringify(event(i)));
      if (i === 300) p.xadd(stream, '*', 'data', '{"txn_id": 1, "user_id": 3, "ts": "2024-01-02T00:00:00Z", "amount": "abc"}');
      if (i === 600) p.xadd(stream, '*', 'data', 'not json');
      if (i === 900) p.xadd(stream, '*', 'payload', '{}');
      if (i === 1000) p.xadd(stream, '*', 'data', JSON.stringify(event(10))); // the same event published twice
    }
    await p.exec();
    const total = N + 4;

    const first = runKiln(ctx.dir, ['stream', 'consume', 'txns', '--consumer', 'c1']);
    // SIGKILL while a batch is delivered and not acked, after some batches were acked
    let killedAt: Record<string, unknown> | null = null;
    for (let i = 0; i < 3000 && killedAt === null; i++) {
      const g = await group(redis, stream).catch(() => null);
      if (g && Number(g.pending) > 0 && Number(g['entries-read']) >= 200) { first.child.kill('SIGKILL'); killedAt = g; }
      else await sleep(5);
    }
    expect(killedAt, first.err()).not.toBeNull();
    await first.exited;
    const after = await group(redis, stream);
    expect(Number(after.pending)).toBeGreaterThan(0); // the killed batch stayed pending
    expect(Number(after['entries-read'])).toBeLessThan(total);

    // another consumer claims c1's pending entries once idle, and reads the rest
    const second = runKiln(ctx.dir, ['stream', 'consume', 'txns', '--consumer', 'c2', '--idle-exit', '2500', '--json']);
    expect(await second.exited, second.err()).toBe(0);
    const totals = JSON.parse(second.out()) as Record<string, number>;
    expect(totals.stopped).toBe('idle');
    // c2 processed c1's pending entries (claimed) and every entry never delivered, nothing else
    expect(totals.entries).toBe(Number(after.pending) + total - Number(after['entries-read']));
    const done = await group(redis, stream);
    expect(done).toMatchObject({ pending: 0, lag: 0, 'entries-read': total });

    const project = await ctx.reopen();
    const [offline] = await project.offline.all<{ n: number; keys: number; min: number; max: number }>('SELECT count(*) AS n, count(DISTINCT txn_id) AS keys, min(txn_id) AS min, max(txn_id) AS max FROM transactions');
    expect(offline).toEqual({ n: N, keys: N, min: 100_000, max: 100_000 + N - 1 });

    const dead = await readDeadLetters(project, 'txns');
    expect(dead.count).toBe(3);
    const reasons = dead.rows.map((d) => d.reason).sort();
    expect(reasons[0]).toMatch(/^column 'amount' \(double\): "abc" is not a number/);
    expect(reasons[1]).toMatch(/^field 'data' is not JSON/);
    expect(reasons[2]).toMatch(/^the entry has no field 'data' \(fields: payload\)/);

    await buildTrainingSet(project, { spine: { entities: 'all', asOf: AT }, features: 'spend', table: 'ts_out' });
    const train = await project.offline.all<Record<string, unknown>>('SELECT * FROM ts_out ORDER BY user_id');
    project.releaseOffline();
    expect(train).toHaveLength(USERS);
    const online = await openOnlineStore(project);
    try {
      const rows = await online.getOnlineFeatures(train.map((r) => Number(r.user_id)), 'spend', { asOf: AT });
      for (const [i, row] of rows.entries()) {
        const off = train[i]!;
        for (const f of ['n_7d', 'spend_30d', 'n_all', 'last_amount']) expect([row.user_id, f, Number(row[f])]).toEqual([row.user_id, f, Number(off[f])]);
      }
      expect(rows.reduce((a, r) => a + Number(r.n_all), 0)).toBe(N);
    } finally {
      await online.close();
    }

    project.releaseOffline();
    const cli = runKiln(ctx.dir, ['stream', 'status', 'txns']);
    expect(await cli.exited, cli.err()).toBe(0);
    expect(cli.out()).toMatch(new RegExp(`^txns {2}\\(redis stream '${stream}', group 'kiln', table 'transactions'\\)\n {2}length ${total} {2}lag 0 {2}pending 0 {2}consumers 2\n {2}last event 2024-02-07T11:24:00.000Z {2}last batch \\S+ {2}dead letters 3\n( {4}\\d+-\\d+ {2}\\S+ {2}.+\n){3}$`));
    const [status] = await streamStatus(project, 'txns');
    expect(status).toMatchObject({ lag: 0, pending: 0, length: total, deadLetters: 3, lastEventTime: new Date(T0 + Math.floor((N - 1) * 0.6 * HOUR)).toISOString() });
    const metrics = streamMetrics(project);
    try {
      const text = await metrics.registry.metrics();
      expect(text).toMatch(/kiln_stream_lag\{stream="txns"\} 0/);
      expect(text).toMatch(/kiln_stream_pending\{stream="txns"\} 0/);
      expect(text).toMatch(new RegExp(`kiln_stream_length\\{stream="txns"\\} ${total}`));
    } finally {
      await metrics.close();
      project.close();
    }
  }, 180_000);

  it('redelivers every entry (the group rewound) without changing either store; SIGTERM finishes the batch and exits 0', async () => {
    const project = await ctx.reopen();
    const online = await openOnlineStore(project);
    const before = await online.getOnlineFeatures(Array.from({ length: USERS }, (_, i) => i), 'spend', { asOf: AT });
    await online.close();
    project.close();
    await redis.xgroup('SETID', stream, 'kiln', '0');
    const again = runKiln(ctx.dir, ['stream', 'consume', 'txns', '--consumer', 'c3', '--idle-exit', '1500', '--json']);
    expect(await again.exited, again.err()).toBe(0);
    const t = JSON.parse(again.out()) as Record<string, number>;
    expect(t).toMatchObject({ onlineWritten: 0, appended: 0, duplicates: N + 1 });

    // SIGTERM while events arrive: the batch in hand is finished and acked, exit 0
    const live = runKiln(ctx.dir, ['stream', 'consume', 'txns', '--consumer', 'c4']);
    const more = Array.from({ length: 200 }, (_, i) => event(N + i));
    for (let i = 0; i < 4 && !/consuming/.test(live.err()); i++) await sleep(1000);
    for (let i = 0; i < more.length; i += 20) {
      const p = redis.pipeline();
      for (const e of more.slice(i, i + 20)) p.xadd(stream, '*', 'data', JSON.stringify(e));
      await p.exec();
      await sleep(30);
    }
    live.child.kill('SIGTERM');
    expect(await live.exited, live.err()).toBe(0);
    expect(live.out()).toMatch(/stopped \(signal\)/);
    const g = await group(redis, stream);
    expect(Number(g.pending)).toBe(0);
    // what SIGTERM left is only entries never delivered: after the group's last delivered id
    const left = (await redis.xrange(stream, `(${String(g['last-delivered-id'])}`, '+')).length;

    const p2 = await ctx.reopen();
    try {
      const [row] = await p2.offline.all<{ n: number; keys: number }>('SELECT count(*) AS n, count(DISTINCT txn_id) AS keys FROM transactions');
      expect(row!.n).toBe(row!.keys);
      expect(Number(row!.n)).toBeGreaterThan(N);
      expect(Number(row!.n) + left).toBe(N + more.length);
      const o = await openOnlineStore(p2);
      const now = await o.getOnlineFeatures(Array.from({ length: USERS }, (_, i) => i), 'n_all', { asOf: '2030-01-01T00:00:00Z' });
      await o.close();
      expect(now.reduce((a, r) => a + Number(r.n_all), 0)).toBe(Number(row!.n));
      expect(before.reduce((a, r) => a + Number(r.n_all), 0)).toBe(N);
    } finally {
      p2.close();
    }
  }, 120_000);
});
