/**
 * `consumeStream` reading NATS JetStream (the real server): events published to a JetStream stream are in
 * both stores once each, a redelivered or twice-published event counts once, malformed messages are dead
 * letters with their reasons (terminated, so not delivered again), and a missing JetStream stream is a
 * clear STREAM_UNAVAILABLE.
 */
import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import { AckPolicy, DeliverPolicy } from 'nats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isKilnError } from '../../src/core/errors.js';
import { openOnlineStore } from '../../src/online/index.js';
import { consumeStream, readDeadLetters, streamStatus } from '../../src/stream/index.js';
import { tempProject } from '../helpers.js';
import { NATS_URL, natsMode, testJetStream, type TestJetStream } from './nats-helpers.js';

const DSL = resolve(import.meta.dirname, '../../src/features/index.js');
const T0 = Date.UTC(2024, 0, 1);
const HOUR = 3_600_000;
const USERS = 10;
const N = 300;

const config = (name: string, stream: string, subject: string): string => `import { defineConfig } from 'kiln';
import { count, entity, eventSource, featureSet, sum } from ${JSON.stringify(DSL)};
const user = entity('user', { key: 'user_id' });
const txns = eventSource('transactions', { entity: user, timestamp: 'ts', columns: { amount: 'double' } });
const nAll = count(txns, { name: 'n_all', window: 'lifetime' });
const spend = sum(txns, 'amount', { name: 'spend_all', window: 'lifetime' });
export default defineConfig({
  name: '${name}',
  tables: { transactions: { key: 'txn_id', timestamp: 'ts', columns: { txn_id: 'bigint', user_id: 'bigint', ts: 'timestamp', amount: 'double' } } },
  features: [user, txns, nAll, spend, featureSet('spend', [nAll, spend])],
  streams: {
    txns: { nats: { url: ${JSON.stringify(NATS_URL)}, stream: '${stream}', subject: '${subject}.txns', ackWaitMs: 2000 }, table: 'transactions', batch: { maxEvents: 50, maxMs: 200 } },
    wrapped: { nats: { url: ${JSON.stringify(NATS_URL)}, stream: '${stream}', subject: '${subject}.wrapped', durable: 'kiln-wrapped', field: 'event' }, table: 'transactions', online: false },
    pushy: { nats: { url: ${JSON.stringify(NATS_URL)}, stream: '${stream}', durable: 'pushy' }, table: 'transactions' },
    missing: { nats: { url: ${JSON.stringify(NATS_URL)}, stream: '${stream}_MISSING' }, table: 'transactions' },
  },
});
`;

const event = (i: number): Record<string, unknown> => ({ txn_id: 5000 + i, user_id: i % USERS, ts: new Date(T0 + i * HOUR).toISOString(), amount: ((i * 13) % 40) / 4 });

const mode = await natsMode();

describe.skipIf(mode === 'skip')('consumeStream from NATS JetStream', () => {
  const name = `natsin${randomBytes(4).toString('hex')}`;
  let jet: TestJetStream;
  let ctx: Awaited<ReturnType<typeof tempProject>>;

  beforeAll(async () => {
    jet = await testJetStream();
    ctx = await tempProject(config(name, jet.stream, jet.subject));
  });
  afterAll(async () => {
    await jet?.cleanup(name);
    ctx?.cleanup();
  });

  it('stores every event once in both stores; malformed messages are dead letters with their reasons, not delivered again', async () => {
    const events: unknown[] = Array.from({ length: N }, (_, i) => event(i));
    events.splice(100, 0, '{"txn_id": 1, "user_id": 3, "ts": "2024-01-02T00:00:00Z", "amount": "abc"}');
    events.splice(200, 0, 'not json');
    events.splice(250, 0, event(7)); // the same event published twice
    events.splice(260, 0, { user_id: 1, ts: '2024-01-02T00:00:00Z', amount: 1 });
    await jet.publish(events);

    const status0 = (await streamStatus(ctx.project, 'txns'))[0]!;
    expect(status0).toMatchObject({ source: 'nats', stream: jet.stream, group: 'kiln', exists: false, lag: N + 4, pending: 0, length: N + 4 });

    const t = await consumeStream(ctx.project, 'txns', { idleExitMs: 800 });
    expect(t).toMatchObject({ stopped: 'idle', entries: N + 4, appended: N, onlineWritten: N, deadLetters: 3, duplicates: 1 });
    const [off] = await ctx.project.offline.all<{ n: number; keys: number; spend: number }>('SELECT count(*)::INTEGER AS n, count(DISTINCT txn_id)::INTEGER AS keys, sum(amount) AS spend FROM transactions');
    expect(off).toMatchObject({ n: N, keys: N });

    const dead = await readDeadLetters(ctx.project, 'txns');
    expect(dead.count).toBe(3);
    const reasons = dead.rows.map((d) => d.reason).sort();
    expect(reasons[0]).toMatch(/^column 'amount' \(double\): "abc" is not a number/);
    expect(reasons[1]).toMatch(/^missing event key 'txn_id' \(tables\.transactions\.key\)/);
    expect(reasons[2]).toMatch(/^the message data is not JSON/);
    expect(JSON.parse(dead.rows.find((d) => /not JSON/.test(d.reason))!.payload)).toEqual({ subject: `${jet.subject}.txns`, data: 'not json' });

    const online = await openOnlineStore(ctx.project);
    try {
      const rows = await online.getOnlineFeatures(Array.from({ length: USERS }, (_, i) => i), 'spend', { asOf: '2030-01-01T00:00:00Z' });
      expect(rows.reduce((a, r) => a + Number(r.n_all), 0)).toBe(N);
      expect(rows.reduce((a, r) => a + Number(r.spend_all), 0)).toBeCloseTo(off!.spend, 9);
    } finally {
      await online.close();
    }
    // every message acked or terminated: nothing pending, nothing to deliver again
    const c = await jet.consumer();
    expect({ pending: c.num_pending, ackPending: c.num_ack_pending }).toEqual({ pending: 0, ackPending: 0 });
    // events counts each event processed (the one published twice came in a later batch: counted, stored once)
    const [st] = await streamStatus(ctx.project, 'txns');
    expect(st).toMatchObject({ exists: true, lag: 0, pending: 0, length: N + 4, deadLetters: 3, events: N + 1, lastEventTime: new Date(T0 + (N - 1) * HOUR).toISOString() });

    // events published again (a producer's retry) change nothing
    await jet.publish(events.slice(0, 50));
    const again = await consumeStream(ctx.project, 'txns', { idleExitMs: 500 });
    expect(again).toMatchObject({ entries: 50, appended: 0, onlineWritten: 0, duplicates: 50, deadLetters: 0 });
    const [off2] = await ctx.project.offline.all<{ n: number }>('SELECT count(*)::INTEGER AS n FROM transactions');
    expect(off2!.n).toBe(N);
    ctx.project.releaseOffline();
  }, 60_000);

  it('reads the event from a field of the message data (nats.field), and refuses a missing JetStream stream clearly', async () => {
    // a durable made earlier with another ack wait and no filter is brought to the config
    await jet.jsm.consumers.add(jet.stream, { durable_name: 'kiln-wrapped', ack_policy: AckPolicy.Explicit, ack_wait: 5_000_000_000, deliver_policy: DeliverPolicy.New });
    await jet.publish([{ event: event(N + 1) }, { event: JSON.stringify(event(N + 2)) }, { other: 1 }, 7], 'wrapped');
    await jet.publish([event(N + 3)]); // on the txns subject: not this stream's
    const t = await consumeStream(ctx.project, 'wrapped', { idleExitMs: 500 });
    expect(t).toMatchObject({ entries: 4, appended: 2, deadLetters: 2 });
    expect((await jet.consumer('kiln-wrapped')).config).toMatchObject({ ack_wait: 30_000_000_000, filter_subject: `${jet.subject}.wrapped` });
    // a push consumer under the durable's name is refused, naming the field
    await jet.jsm.consumers.add(jet.stream, { durable_name: 'pushy', ack_policy: AckPolicy.Explicit, deliver_subject: `${jet.subject}-deliver` });
    let e0: unknown = null;
    try { await consumeStream(ctx.project, 'pushy', { idleExitMs: 100 }); } catch (x) { e0 = x; }
    expect(isKilnError(e0, 'CONFIG_INVALID') && e0.message).toMatch(/streams\.pushy\.nats\.durable: consumer 'pushy' .* is a push consumer; kiln needs a pull consumer with explicit ack/);
    const dead = await readDeadLetters(ctx.project, 'wrapped');
    expect(dead.rows.map((d) => d.reason).sort()).toEqual([
      expect.stringMatching(/^the message data has no field 'event' \(fields: other\); .*streams\.wrapped\.nats\.field/),
      expect.stringMatching(/^the message data has no field 'event' \(it is not a JSON object\)/),
    ]);
    let e: unknown = null;
    try { await consumeStream(ctx.project, 'missing', { idleExitMs: 100 }); } catch (x) { e = x; }
    expect(isKilnError(e, 'STREAM_UNAVAILABLE') && e.message).toMatch(new RegExp(`JetStream stream '${jet.stream}_MISSING' does not exist at nats://.*streams\\.missing\\.nats\\.stream`));
    const [st] = await streamStatus(ctx.project, 'missing');
    expect(st).toMatchObject({ source: 'nats', exists: false, length: 0, lag: 0 });
    ctx.project.releaseOffline();
  }, 30_000);
});
