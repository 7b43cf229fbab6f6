/**
 * Push throughput probe (embedded, or Redis with --redis 1): a live stream of card transactions over
 * 10,000 entities pushed in batches of 20,000 and of 1,000, with and without an event key (`txn_id`,
 * deduplicated), then the same stream pushed again (every event a duplicate). Events per second of wall
 * time and per CPU-second of this process (steadier on a busy machine), validation and the final flush
 * included; medians of --runs runs.
 *   npx tsx bench/online-push.ts [--events 200000] [--runs 3] [--redis 0] [--unkeyed | --keyed (only those cases)]
 */
import { randomBytes } from 'node:crypto';
import { Rng } from '../src/core/rng.js';
import { count, entity, eventSource, featureSet, sum, max } from '../src/features/index.js';
import { EmbeddedOnlineStore, OnlineFeatureStore, RedisOnlineStore, isoMicros, type OnlineStore, type OnlineFeatureStoreOptions } from '../src/online/index.js';
import { tempDir } from '../test/helpers.js';
import { arg, machine, printTable } from './util.js';

const EVENTS = arg('events', 200_000);
const RUNS = arg('runs', 3);
const REDIS = arg('redis', 0) === 1;
const borrower = entity('borrower', { key: 'borrower_id' });
const txns = eventSource('transactions', { entity: borrower, timestamp: 'ts', tiebreak: 'txn_id', columns: { txn_id: 'bigint', amount: 'double', category: 'varchar' } });
const features = [count(txns, { name: 'n_1d', window: '1d' }), sum(txns, 'amount', { name: 'spend_7d', window: '7d' }), max(txns, 'amount', { name: 'max_30d', window: '30d' })];
const defs = [borrower, txns, ...features, featureSet('probe', features)];
const now = Date.now();
const rng = new Rng(7);
const rows = Array.from({ length: EVENTS }, (_, i) => ({
  borrower_id: `b${rng.int(10_000)}`, txn_id: 1e9 + i, ts: isoMicros((now - 600_000) * 1000 + Math.floor((i / EVENTS) * 590_000_000)),
  amount: Math.round(rng.lognormal(3, 1) * 100) / 100, category: ['a', 'b', 'c'][rng.int(3)],
}));
// Key the definitions' table by txn_id the way openOnlineStore does from the config's `tables.<t>.key`
const keyed = { eventKeys: { transactions: 'txn_id' } } as OnlineFeatureStoreOptions;

type Rate = { wall: number; cpu: number };
async function pushAll(online: OnlineFeatureStore, batch: number): Promise<Rate> {
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  for (let i = 0; i < rows.length; i += batch) await online.push({ source: 'transactions' }, rows.slice(i, i + batch));
  await online.flush();
  const c = process.cpuUsage(c0);
  return { wall: rows.length / ((performance.now() - t0) / 1000), cpu: rows.length / ((c.user + c.system) / 1e6) };
}

async function once(batch: number, opts: OnlineFeatureStoreOptions, again: boolean): Promise<Rate> {
  const { dir, cleanup } = tempDir('kiln-push-probe-');
  const backend: OnlineStore = REDIS ? await RedisOnlineStore.connect({ prefix: `kiln-probe:${randomBytes(4).toString('hex')}:` }) : EmbeddedOnlineStore.open(`${dir}/online.sqlite`);
  try {
    const online = await OnlineFeatureStore.open(backend, defs, opts);
    const first = await pushAll(online, batch);
    const second = again ? await pushAll(online, batch) : first;
    return second;
  } finally {
    if (backend instanceof RedisOnlineStore) await backend.drop();
    await backend.close();
    cleanup();
  }
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const only = process.argv.includes('--unkeyed');
const keyedOnly = process.argv.includes('--keyed');
const table: (string | number)[][] = [];
const cases: [string, number, OnlineFeatureStoreOptions, boolean][] = [
  ['no event key, batches of 20,000', 20_000, {}, false],
  ['no event key, batches of 1,000', 1000, {}, false],
  ['event key txn_id, batches of 20,000', 20_000, keyed, false],
  ['event key txn_id, batches of 1,000', 1000, keyed, false],
  ['event key txn_id, batches of 20,000, all re-pushed (duplicates)', 20_000, keyed, true],
];
console.log(`push probe on ${machine()}: ${EVENTS.toLocaleString()} events over 10,000 entities, ${REDIS ? 'redis' : 'embedded'}, median of ${RUNS}`);
for (const [name, batch, opts, again] of only ? cases.slice(0, 2) : keyedOnly ? cases.slice(2, 4) : cases) {
  const r: Rate[] = [];
  for (let i = 0; i < RUNS; i++) r.push(await once(batch, opts, again));
  const wall = r.map((x) => x.wall);
  const cpu = r.map((x) => x.cpu);
  table.push([name, Math.round(median(wall)).toLocaleString(), Math.round(median(cpu)).toLocaleString(), cpu.map((x) => Math.round(x).toLocaleString()).join(' ')]);
}
printTable(['case', 'events/s wall (median)', 'events per CPU-s (median)', 'CPU runs'], table);
