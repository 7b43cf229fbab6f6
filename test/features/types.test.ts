/**
 * Compile-time checks of the DSL (`npm run typecheck` type-checks this file; at run time the calls only
 * build specs). Each `@ts-expect-error` marks a mistake the compiler must catch.
 */
import { describe, expectTypeOf, it } from 'vitest';
import {
  attribute, bucket, count, countDistinct, derived, div, entity, eventSource, featureSet, first, lastK, max, mean,
  snapshotSource, sum, timeSinceLast, type InferFeatures,
} from '../../src/features/index.js';

const borrower = entity('borrower', { key: 'borrower_id' });
const txns = eventSource('transactions', {
  entity: borrower, timestamp: 'ts', tiebreak: 'txn_id',
  columns: { txn_id: 'bigint', amount: 'double', category: 'varchar', online: 'boolean', at: 'timestamp' },
});
const profile = snapshotSource('borrowers', { entity: borrower, timestamp: 'created_at', columns: { income: 'double', region: 'varchar' } });

const spend30d = sum(txns, 'amount', { name: 'spend_30d', window: '30d' });
const n30d = count(txns, { name: 'n_30d', window: '30d', where: { category: ['grocery', 'fuel'], online: true, amount: { gt: 5 } } });
const byCat = sum(txns, 'amount', { name: 'spend_by_cat', window: '7d', by: { column: 'category', values: ['grocery', 'fuel'] } });
const firstCat = first(txns, 'category', { name: 'first_cat', window: 'lifetime' });
const income = attribute(profile, 'income', { name: 'income' });
const region = attribute(profile, 'region', { name: 'region' });
const recent = lastK(txns, { name: 'recent', k: 5, fields: ['amount', 'category'] });
const ratio = derived('spend_to_income', div(spend30d, income));
const grocShare = derived('grocery_share', div(bucket(byCat, 'grocery'), spend30d));
const set = featureSet('credit', [spend30d, n30d, byCat, firstCat, income, region, recent, ratio, grocShare]);

describe('DSL types', () => {
  it('infers the row type of a feature set', () => {
    expectTypeOf<InferFeatures<typeof set>>().toEqualTypeOf<{
      spend_30d: number;
      n_30d: number;
      spend_by_cat__grocery: number;
      spend_by_cat__fuel: number;
      first_cat: string | null;
      income: number | null;
      region: string | null;
      recent: ({ readonly ts: string } & { readonly amount: number | null; readonly category: string | null })[];
      spend_to_income: number | null;
      grocery_share: number | null;
    }>();
  });

  it('rejects unknown columns, wrong column types and bad windows at compile time', () => {
    // @ts-expect-error: 'amont' is not a column of transactions
    sum(txns, 'amont', { name: 'x', window: '30d' });
    // @ts-expect-error: sum needs a numeric column; category is varchar
    mean(txns, 'category', { name: 'x', window: '30d' });
    // @ts-expect-error: max needs a numeric column
    max(txns, 'online', { name: 'x', window: '30d' });
    // @ts-expect-error: '7 days' is not a window string
    count(txns, { name: 'x', window: '7 days' });
    // @ts-expect-error: '7x' has no unit
    count(txns, { name: 'x', window: '7x' });
    // @ts-expect-error: filters take declared columns only
    count(txns, { name: 'x', window: '1d', where: { categroy: 'fuel' } });
    // @ts-expect-error: a filter value has the column's type
    count(txns, { name: 'x', window: '1d', where: { amount: 'lots' } });
    // @ts-expect-error: time is filtered by the window, not by where
    count(txns, { name: 'x', window: '1d', where: { at: '2024-01-01' } });
    // @ts-expect-error: last-k fields are declared columns
    lastK(txns, { name: 'x', k: 3, fields: ['amount', 'channel'] });
    // @ts-expect-error: attributes read snapshot sources
    attribute(txns, 'amount', { name: 'x' });
    // @ts-expect-error: windowed aggregations read event sources
    countDistinct(profile, 'region', { name: 'x', window: '30d' });
    // @ts-expect-error: the window is required for windowed aggregations
    sum(txns, 'amount', { name: 'x' });
    timeSinceLast(txns, { name: 'ok_without_window' });
  });

  it('rejects non-numeric operands and unknown buckets in derived features', () => {
    // @ts-expect-error: first_cat is a string feature
    derived('x', div(firstCat, spend30d));
    // @ts-expect-error: a bucketed feature is read one bucket at a time
    derived('x', div(byCat, spend30d));
    // @ts-expect-error: 'travel' is not one of byCat's buckets
    bucket(byCat, 'travel');
  });
});
