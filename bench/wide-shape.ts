/**
 * The wide shape of issue 15, shared by the wide benchmarks (training sets, online store, GBDT): over a
 * transactions source (amount, category, channel, merchant_id), for each of 18 windows from 1 to 730
 * days, count, sum, mean, max, min and stddev of `amount` overall, by the 11 merchant categories and by
 * the 4 channels, and distinct merchants overall and by channel: 101 columns a window, 1,818 in all,
 * from 360 declared features.
 */
import {
  count, countDistinct, entity, eventSource, featureSet, max, mean, min, stddev, sum, type AnyFeatureDef,
} from '../src/features/index.js';

export const WIDE_WINDOWS = ['1d', '3d', '7d', '14d', '21d', '30d', '45d', '60d', '90d', '120d', '150d', '180d', '270d', '365d', '450d', '540d', '630d', '730d'] as const;
export const WIDE_CATEGORIES = ['grocery', 'fuel', 'restaurants', 'travel', 'electronics', 'online_retail', 'utilities', 'pharmacy', 'entertainment', 'gambling', 'cash_advance'] as const;
export const WIDE_CHANNELS = ['pos', 'contactless', 'online', 'atm'] as const;

export const wideBorrower = entity('borrower', { key: 'borrower_id' });
export const wideTransactions = eventSource('transactions', {
  entity: wideBorrower, timestamp: 'ts',
  columns: { amount: 'double', merchant_id: 'bigint', category: 'varchar', channel: 'varchar' },
});

/** The 360 features (1,818 columns) over `windows`; `sets` adds the feature set `wide`. */
export function wideFeatures(windows: readonly string[] = WIDE_WINDOWS): AnyFeatureDef[] {
  const t = wideTransactions;
  const out: AnyFeatureDef[] = [];
  for (const w of windows) {
    const window = w as '1d';
    const byCat = { column: 'category', values: WIDE_CATEGORIES } as const;
    const byChan = { column: 'channel', values: WIDE_CHANNELS } as const;
    for (const [suffix, by] of [['', undefined], ['_by_category', byCat], ['_by_channel', byChan]] as const) {
      const o = (name: string) => ({ name: `${name}${suffix}_${w}`, window, ...(by ? { by } : {}) });
      out.push(count(t, o('txn_count')), sum(t, 'amount', o('spend')), mean(t, 'amount', o('mean_amount')),
        max(t, 'amount', o('max_amount')), min(t, 'amount', o('min_amount')), stddev(t, 'amount', o('sd_amount')));
      if (by !== byCat) out.push(countDistinct(t, 'merchant_id', o('merchants')));
    }
  }
  return out;
}

/** Definitions for a config or `buildTrainingSet({ definitions })`: entity, source, features and the set `wide`. */
export function wideDefinitions(windows: readonly string[] = WIDE_WINDOWS): unknown[] {
  const feats = wideFeatures(windows);
  return [wideBorrower, wideTransactions, ...feats, featureSet('wide', feats)];
}

/** Output columns of the wide set: 101 a window. */
export const wideColumnCount = (windows: readonly string[] = WIDE_WINDOWS): number => windows.length * (6 + 6 * WIDE_CATEGORIES.length + 7 * WIDE_CHANNELS.length + 1);
