/**
 * `kiln stream consume` reading NATS JetStream, as a child process: SIGKILLed mid-batch (its messages stay
 * unacked), restarted; the durable consumer delivers the killed batch again after the ack wait, and both
 * stores end with every event exactly once, the online values equal to the offline training set's. Then
 * `kiln stream status --json` shows the lag of events published since, the /metrics gauges the same, and
 * SIGTERM finishes the batch in hand and exits 0.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTrainingSet } from '../../src/features/training/index.js';
import { openOnlineStore } from '../../src/online/index.js';
import { readDeadLetters, streamMetrics } from '../../src/stream/index.js';
import { tempProject } from '../helpers.js';
import { NATS_URL, natsMode, testJetStream, type TestJetStream } from './nats-helpers.js';

const DSL = resolve(import.meta.dirname, '../../src/features/index.js');
const BIN = resolve(import.meta.dirname, '../../bin/kiln.js');
const T0 = Date.UTC(2024, 0, 1);
const HOUR = 3_600_000;
const USERS = 40;
const N = 1500;
const AT = new Date(T0 + 40 * 24 * HOUR).toISOString();
const ACK_WAIT_MS = 3000;

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
  streams: { txns: { nats: { url: ${JSON.stringify(NATS_URL)}, stream: '${stream}', durable: 'kiln', ackWaitMs: ${ACK_WAIT_MS} }, table: 'transactions', batch: { maxEvents: 40, maxMs: 200 } } },
});
`;

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

const mode = await natsMode();

describe.skipIf(mode === 'skip')('kiln stream consume (NATS JetStream)', () => {
  const name = `natskill${randomBytes(4).toString('hex')}`;
  let jet: TestJetStream;
  let ctx: Awaited<ReturnType<typeof tempProject>>;

  beforeAll(async () => {
    jet = await testJetStream();
    ctx = await tempProject(config(name, jet.stream));
    ctx.project.close();
  });
  afterAll(async () => {
    await jet?.cleanup(name);
    ctx?.cleanup();
  });

  it('survives SIGKILL mid-batch: the killed batch is delivered again, both stores hold every event once, online equals offline', async () => {
    const events: unknown[] = Array.from({ length: N }, (_, i) => event(i));
    events.splice(300, 0, '{"txn_id": 1, "user_id": 3, "ts": "2024-01-02T00:00:00Z", "amount": "abc"}');
    events.splice(600, 0, 'not json');
    events.splice(1000, 0, event(10)); // the same event published twice
    await jet.publish(events);
    const total = N + 3;

    const first = runKiln(ctx.dir, ['stream', 'consume', 'txns']);
    // SIGKILL while a batch is delivered and not acked, after some batches were acked
    let killedAt: Awaited<ReturnType<TestJetStream['consumer']>> | null = null;
    for (let i = 0; i < 3000 && killedAt === null; i++) {
      const c = await jet.consumer().catch(() => null);
      if (c && c.num_ack_pending > 0 && c.delivered.stream_seq >= 200) { first.child.kill('SIGKILL'); killedAt = c; }
      else await sleep(5);
    }
    expect(killedAt, first.err()).not.toBeNull();
    await first.exited;
    const after = await jet.consumer();
    expect(after.num_ack_pending).toBeGreaterThan(0); // the killed batch stayed unacked
    expect(after.num_pending).toBeGreaterThan(0);

    // the restarted consumer reads the rest, and the killed batch once its ack wait has passed
    const second = runKiln(ctx.dir, ['stream', 'consume', 'txns', '--idle-exit', String(ACK_WAIT_MS + 2000), '--json']);
    expect(await second.exited, second.err()).toBe(0);
    const totals = JSON.parse(second.out()) as Record<string, number>;
    expect(totals.stopped).toBe('idle');
    // the restarted consumer processed the killed batch (delivered again) and every message never delivered
    expect(totals.entries).toBe(after.num_ack_pending + after.num_pending);
    const done = await jet.consumer();
    expect({ pending: done.num_pending, ackPending: done.num_ack_pending, last: done.delivered.stream_seq }).toEqual({ pending: 0, ackPending: 0, last: total });

    const project = await ctx.reopen();
    const [offline] = await project.offline.all<{ n: number; keys: number; min: number; max: number }>('SELECT count(*) AS n, count(DISTINCT txn_id) AS keys, min(txn_id) AS min, max(txn_id) AS max FROM transactions');
    expect(offline).toEqual({ n: N, keys: N, min: 100_000, max: 100_000 + N - 1 });
    const dead = await readDeadLetters(project, 'txns');
    expect(dead.rows.map((d) => d.reason).sort()).toEqual([expect.stringMatching(/^column 'amount' \(double\): "abc" is not a number/), expect.stringMatching(/^the message data is not JSON/)]);

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
      project.close();
    }
  }, 180_000);

  it('kiln stream status --json and the gauges show the lag; SIGTERM finishes the batch in hand and exits 0', async () => {
    await jet.publish(Array.from({ length: 7 }, (_, i) => event(N + i)));
    const cli = runKiln(ctx.dir, ['stream', 'status', 'txns', '--json']);
    expect(await cli.exited, cli.err()).toBe(0);
    const [st] = JSON.parse(cli.out()) as Record<string, unknown>[];
    expect(st).toMatchObject({
      name: 'txns', source: 'nats', stream: jet.stream, group: 'kiln', table: 'transactions', exists: true,
      length: N + 3 + 7, lag: 7, pending: 0, lastDeliveredId: String(N + 3), deadLetters: 2,
      lastEventTime: new Date(T0 + Math.floor((N - 1) * 0.6 * HOUR)).toISOString(),
    });
    const text = runKiln(ctx.dir, ['stream', 'status']);
    expect(await text.exited, text.err()).toBe(0);
    expect(text.out()).toMatch(new RegExp(`^txns {2}\\(nats stream '${jet.stream}', durable consumer 'kiln', table 'transactions'\\)\n {2}length ${N + 10} {2}lag 7 {2}pending 0 {2}waiting pulls 0\n`));

    const project = await ctx.reopen();
    const metrics = streamMetrics(project);
    try {
      const m = await metrics.registry.metrics();
      expect(m).toContain('kiln_stream_lag{stream="txns"} 7');
      expect(m).toContain('kiln_stream_pending{stream="txns"} 0');
      expect(m).toContain(`kiln_stream_length{stream="txns"} ${N + 10}`);
      expect(m).toContain('kiln_stream_dead_letters{stream="txns"} 2');
    } finally {
      await metrics.close();
      project.close();
    }

    // SIGTERM while events arrive: the batch in hand is finished and acked, exit 0
    const live = runKiln(ctx.dir, ['stream', 'consume', 'txns']);
    for (let i = 0; i < 8 && !/consuming/.test(live.err()); i++) await sleep(500);
    const more = Array.from({ length: 200 }, (_, i) => event(N + 7 + i));
    for (let i = 0; i < more.length; i += 20) { await jet.publish(more.slice(i, i + 20)); await sleep(30); }
    live.child.kill('SIGTERM');
    expect(await live.exited, live.err()).toBe(0);
    expect(live.out()).toMatch(/stopped \(signal\)/);
    const c = await jet.consumer();
    expect(c.num_ack_pending).toBe(0);
    const p2 = await ctx.reopen();
    try {
      const [row] = await p2.offline.all<{ n: number; keys: number }>('SELECT count(*)::INTEGER AS n, count(DISTINCT txn_id)::INTEGER AS keys FROM transactions');
      expect(row!.n).toBe(row!.keys);
      expect(row!.n + c.num_pending).toBe(N + 7 + more.length);
    } finally {
      p2.close();
    }
  }, 120_000);
});
