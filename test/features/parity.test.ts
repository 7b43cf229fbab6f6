/**
 * The DuckDB training set against the naive evaluator on seeded random streams: every operator, windows
 * from an hour to a century and lifetime, filters, buckets, last-k, time-since-last, attributes, derived
 * features, late rows, duplicate timestamps, rows in random order and entities without events; for both
 * event-time bounds. Values agree to rtol 1e-9.
 */
import { afterAll, beforeAll, describe, it } from 'vitest';
import {
  attribute, bucket, coalesce, count, countDistinct, derived, div, entity, eventSource, featureSet, first, last, lastK, least,
  ln1p, max, mean, min, mul, naiveEvaluate, neg, percentile, snapshotSource, sqrt, stddev, sub, sum, timeSinceLast, abs, add,
  type AnyFeatureDef, type WindowString,
} from '../../src/features/index.js';
import { buildTrainingSet } from '../../src/features/training/index.js';
import { tempProject } from '../helpers.js';
import { createTable, expectParity, randomStream, type RandomStream } from './helpers.js';

const acct = entity('acct', { key: 'k' });
const columns = { amount: 'double', qty: 'bigint', cat: 'varchar', flag: 'boolean', id: 'bigint' } as const;
const ev = eventSource('ev', { entity: acct, timestamp: 'ts', availableAt: 'av', columns });
const evTb = eventSource('ev_tb', { entity: acct, table: 'ev', timestamp: 'ts', tiebreak: 'id', columns });
const prof = snapshotSource('prof', { entity: acct, timestamp: 'valid_from', columns: { income: 'double', segment: 'varchar' } });

const WINDOWS: WindowString[] = ['1h', '1d', '7d', '36500d', 'lifetime'];
const perWindow = WINDOWS.flatMap((window): AnyFeatureDef[] => {
  const w = window.replace(/\W/g, '');
  return [
    count(ev, { name: `n_${w}`, window }),
    sum(ev, 'amount', { name: `sum_${w}`, window }),
    mean(ev, 'amount', { name: `mean_${w}`, window }),
    min(ev, 'amount', { name: `min_${w}`, window }),
    max(ev, 'qty', { name: `maxq_${w}`, window }),
    stddev(ev, 'amount', { name: `sd_${w}`, window }),
    percentile(ev, 'amount', { name: `p25_${w}`, window, p: 0.25 }),
    first(ev, 'amount', { name: `first_${w}`, window }),
    last(ev, 'cat', { name: `lastcat_${w}`, window }),
    last(evTb, 'amount', { name: `last_tb_${w}`, window }),
    first(evTb, 'qty', { name: `first_tb_${w}`, window }),
    countDistinct(ev, 'cat', { name: `dcat_${w}`, window }),
    timeSinceLast(ev, { name: `since_${w}`, window, unit: 'h' }),
  ];
});
const sum7 = sum(ev, 'amount', { name: 'sum7', window: '7d' });
const n7 = count(ev, { name: 'n7', window: '7d' });
const byCat = sum(ev, 'amount', { name: 'by_cat', window: '7d', by: { column: 'cat', values: ['a', 'b', 'c', 'zz'] } });
const filtered: AnyFeatureDef[] = [
  sum7, n7, byCat,
  count(ev, { name: 'n_ab', window: '1d', where: { cat: ['a', 'b'] } }),
  sum(ev, 'amount', { name: 'sum_big_flag', window: '7d', where: { amount: { gt: 10 }, flag: true } }),
  count(ev, { name: 'n_nocat', window: 'lifetime', where: { cat: null } }),
  sum(ev, 'qty', { name: 'q_not_a', window: '7d', where: { cat: { ne: 'a' } } }),
  count(ev, { name: 'n_not_ab', window: '7d', where: { cat: { notIn: ['a', 'b'] }, qty: { gte: 3, lt: 15 } } }),
  countDistinct(evTb, 'qty', { name: 'dq_by_cat', window: '7d', by: { column: 'cat', values: ['a', 'd'] } }),
  lastK(evTb, { name: 'last3', k: 3, fields: ['amount', 'cat'], window: '7d' }),
  lastK(ev, { name: 'last5', k: 5, fields: ['qty', 'flag'] }),
  timeSinceLast(evTb, { name: 'since_a', where: { cat: 'a' } }),
];
const income = attribute(prof, 'income', { name: 'income' });
const segment = attribute(prof, 'segment', { name: 'segment' });
const avg7 = derived('avg7', div(sum7, n7));
const derivedFeatures: AnyFeatureDef[] = [
  income, segment, avg7,
  derived('log_sum', ln1p(sum7)),
  derived('capped', least(sum7, 100, income)),
  derived('mean_or_zero', coalesce(avg7, 0)),
  derived('share_a', div(bucket(byCat, 'a'), sum7)),
  derived('mixed', add(mul(avg7, 2), neg(sub(n7, 1)), sqrt(abs(sum7)))),
  derived('per_income', div(sum7, income)),
];
const all = [...perWindow, ...filtered, ...derivedFeatures];
const defs = [acct, ev, evTb, prof, ...all, featureSet('everything', all)];

describe('training sets match the naive evaluator', () => {
  let ctx: Awaited<ReturnType<typeof tempProject>>;
  let data: RandomStream;
  beforeAll(async () => {
    ctx = await tempProject();
    data = randomStream(7);
    await createTable(ctx.project, 'ev', { k: 'BIGINT', ts: 'TIMESTAMP', av: 'TIMESTAMP', id: 'BIGINT', amount: 'DOUBLE', qty: 'BIGINT', cat: 'VARCHAR', flag: 'BOOLEAN' }, data.events as never);
    await createTable(ctx.project, 'prof', { k: 'BIGINT', valid_from: 'TIMESTAMP', income: 'DOUBLE', segment: 'VARCHAR' }, data.profiles as never);
    await createTable(ctx.project, 'spine', { k: 'BIGINT', t: 'TIMESTAMP', label: 'BIGINT' }, data.spine as never);
  });
  afterAll(() => ctx.cleanup());

  for (const [bound, engine] of [['strict', 'sql'], ['inclusive', 'sql'], ['strict', 'bands'], ['inclusive', 'bands']] as const) {
    it(`agrees on every operator and window (${bound}, engine ${engine})`, async () => {
      const s = await buildTrainingSet(ctx.project, { spine: { table: 'spine', timestamp: 't' }, features: 'everything', definitions: defs, eventTimeBound: bound, table: 'out', engine });
      const actual = await ctx.project.offline.all('SELECT * FROM out');
      const expected = naiveEvaluate(defs, { ev: data.events as never, ev_tb: data.events as never, prof: data.profiles as never },
        data.spine.map((p) => ({ key: p.k, time: p.t })), { features: 'everything', eventTimeBound: bound });
      expectParity(actual, expected, (i) => `k=${data.spine[i]!.k} t=${new Date(data.spine[i]!.t / 1000).toISOString()}`);
      if (s.rows !== data.spine.length) throw new Error(`rows ${s.rows}`);
    });
  }

  it.each(['sql', 'bands'] as const)('agrees on a second seed with denser entities (engine %s)', async (engine) => {
    const d = randomStream(11, { entities: 8, events: 800, spine: 120 });
    await createTable(ctx.project, 'ev', { k: 'BIGINT', ts: 'TIMESTAMP', av: 'TIMESTAMP', id: 'BIGINT', amount: 'DOUBLE', qty: 'BIGINT', cat: 'VARCHAR', flag: 'BOOLEAN' }, d.events as never);
    await createTable(ctx.project, 'prof', { k: 'BIGINT', valid_from: 'TIMESTAMP', income: 'DOUBLE', segment: 'VARCHAR' }, d.profiles as never);
    await createTable(ctx.project, 'spine2', { k: 'BIGINT', t: 'TIMESTAMP', label: 'BIGINT' }, d.spine as never);
    await buildTrainingSet(ctx.project, { spine: { table: 'spine2', timestamp: 't' }, features: 'everything', definitions: defs, table: 'out2', engine });
    const actual = await ctx.project.offline.all('SELECT * FROM out2');
    const expected = naiveEvaluate(defs, { ev: d.events as never, ev_tb: d.events as never, prof: d.profiles as never },
      d.spine.map((p) => ({ key: p.k, time: p.t })), { features: 'everything' });
    expectParity(actual, expected, (i) => `k=${d.spine[i]!.k}`);
  });
});
