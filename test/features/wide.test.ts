/**
 * The wide case: hundreds of columns over nested windows, buckets, filters and late rows, computed by
 * the band kernel (which engine 'auto' picks at this width), against the naive evaluator to rtol 1e-9,
 * for both event-time bounds; and the same table from DuckDB SQL alone.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  bucket, count, countDistinct, derived, div, entity, eventSource, featureSet, max, mean, min, naiveEvaluate, stddev, sum,
  timeSinceLast, type AnyFeatureDef, type WindowString,
} from '../../src/features/index.js';
import { buildTrainingSet } from '../../src/features/training/index.js';
import { AUTO_MIN_COLUMNS } from '../../src/features/training/bands/index.js';
import { tempProject } from '../helpers.js';
import { createTable, expectParity, randomStream } from './helpers.js';

const acct = entity('acct', { key: 'k' });
const ev = eventSource('ev', { entity: acct, timestamp: 'ts', availableAt: 'av', columns: { amount: 'double', qty: 'bigint', cat: 'varchar', flag: 'boolean', id: 'bigint' } });
const WINDOWS: WindowString[] = ['1h', '6h', '1d', '3d', '7d', '14d', '30d', '36500d', 'lifetime'];
const byCat = { column: 'cat', values: ['a', 'b', 'c', 'd'] } as const;
const features: AnyFeatureDef[] = WINDOWS.flatMap((window) => {
  const w = window.replace(/\W/g, '');
  return [undefined, byCat].flatMap((by): AnyFeatureDef[] => {
    const o = (name: string) => ({ name: `${name}${by ? '_cat' : ''}_${w}`, window, ...(by ? { by } : {}) });
    return [
      count(ev, o('n')), sum(ev, 'amount', o('sum')), mean(ev, 'amount', o('mean')), min(ev, 'amount', o('min')),
      max(ev, 'qty', o('maxq')), stddev(ev, 'amount', o('sd')), countDistinct(ev, 'id', o('ids')),
      count(ev, { ...o('n_flag'), name: `n_flag${by ? '_cat' : ''}_${w}`, where: { flag: true } }),
      sum(ev, 'qty', { ...o('q_big'), name: `q_big${by ? '_cat' : ''}_${w}`, where: { amount: { gt: 10 } } }),
    ];
  });
});
const n7 = features.find((f) => f.name === 'n_7d')!;
const nCat7 = features.find((f) => f.name === 'n_cat_7d')! as Parameters<typeof bucket>[0];
const extra: AnyFeatureDef[] = [
  timeSinceLast(ev, { name: 'since_cat', by: byCat, unit: 'h' }),
  derived('share_a_7d', div(bucket(nCat7, 'a'), n7 as never)),
];
const all = [...features, ...extra];
/** For the comparison with SQL alone (slow at full width): three windows, still past the 'auto' threshold. */
const some = all.filter((f) => /_(1h|1d|lifetime)$/.test(f.name) || f.type === 'derived' || f.name === 'n_7d' || f.name === 'n_cat_7d' || f.name === 'since_cat');
const defs = [acct, ev, ...all, featureSet('wide', all), featureSet('some', some)];

describe('a wide training set (band kernel)', () => {
  let ctx: Awaited<ReturnType<typeof tempProject>>;
  const data = randomStream(23, { entities: 14, events: 2500, spine: 160 });
  beforeAll(async () => {
    ctx = await tempProject();
    await createTable(ctx.project, 'ev', { k: 'BIGINT', ts: 'TIMESTAMP', av: 'TIMESTAMP', id: 'BIGINT', amount: 'DOUBLE', qty: 'BIGINT', cat: 'VARCHAR', flag: 'BOOLEAN' }, data.events as never);
    await createTable(ctx.project, 'spine', { k: 'BIGINT', t: 'TIMESTAMP', label: 'BIGINT' }, data.spine as never);
  });
  afterAll(() => ctx.cleanup());

  for (const bound of ['strict', 'inclusive'] as const) {
    it(`agrees with the naive evaluator on every column (${bound})`, async () => {
      const s = await buildTrainingSet(ctx.project, { spine: { table: 'spine', timestamp: 't' }, features: 'wide', definitions: defs, eventTimeBound: bound, table: 'wide_out' });
      expect(s.columns.length).toBeGreaterThan(AUTO_MIN_COLUMNS + 3);
      const actual = await ctx.project.offline.all('SELECT * FROM wide_out');
      const expected = naiveEvaluate(defs, { ev: data.events as never }, data.spine.map((p) => ({ key: p.k, time: p.t })), { features: 'wide', eventTimeBound: bound });
      expectParity(actual, expected, (i) => `k=${data.spine[i]!.k} t=${new Date(data.spine[i]!.t / 1000).toISOString()}`);
    });
  }

  it('gives the same table, with the same column types, as DuckDB SQL alone', async () => {
    await buildTrainingSet(ctx.project, { spine: { table: 'spine', timestamp: 't' }, features: 'some', definitions: defs, table: 'by_bands', engine: 'bands' });
    await buildTrainingSet(ctx.project, { spine: { table: 'spine', timestamp: 't' }, features: 'some', definitions: defs, table: 'by_sql', engine: 'sql' });
    const types = async (t: string): Promise<string[]> => (await ctx.project.offline.all<{ column_type: string }>(`DESCRIBE ${t}`)).map((c) => c.column_type);
    expect(await types('by_bands')).toEqual(await types('by_sql'));
    expectParity(await ctx.project.offline.all('SELECT * FROM by_bands'), await ctx.project.offline.all('SELECT * FROM by_sql'), (i) => `row ${i}`);
  });
});
