/**
 * Give Me Some Credit (../shared/data/give-me-some-credit/cs-training.csv; label SeriousDlqin2yrs, 'NA'
 * is missing), as float32 columns for the GBDT benchmarks; a message instead when the file is absent.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { OfflineStore, quoteLiteral } from '../src/store/index.js';

export const CREDIT = resolve(import.meta.dirname, '../../shared/data/give-me-some-credit/cs-training.csv');

export interface CreditData { name: string; cols: Float32Array[]; label: Float32Array }

export async function loadCredit(): Promise<CreditData | string> {
  if (!existsSync(CREDIT)) return `skipped: ${CREDIT} is absent`;
  const store = await OfflineStore.open(':memory:');
  try {
    const r = await store.con.runAndReadAll(`SELECT * EXCLUDE (column00) FROM read_csv(${quoteLiteral(CREDIT)}, nullstr=['NA', ''])`);
    const names = r.columnNames();
    const raw = r.getColumnsJS() as unknown[][];
    const toF32 = (c: unknown[]): Float32Array => Float32Array.from(c, (v) => (v === null ? NaN : Number(v)));
    const y = names.indexOf('SeriousDlqin2yrs');
    return { name: `give-me-some-credit ${raw[0]!.length} x ${names.length - 1}`, cols: raw.filter((_, j) => j !== y).map(toF32), label: toF32(raw[y]!) };
  } finally {
    store.close();
  }
}
