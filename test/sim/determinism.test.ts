import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isKilnError } from '../../src/core/errors.js';
import { SIM_TABLES, simulate, tableChecksum, tableChecksums } from '../../src/sim/index.js';
import { tempStore } from './helpers.js';

const TABLES = SIM_TABLES.map((t) => t.name);
const envs: Awaited<ReturnType<typeof tempStore>>[] = [];
const open = async (): Promise<Awaited<ReturnType<typeof tempStore>>['store']> => {
  const env = await tempStore('det');
  envs.push(env);
  return env.store;
};
afterAll(() => { for (const e of envs) e.cleanup(); });

describe('simulate: determinism', () => {
  const opts = { borrowers: 3000, months: 18, seed: 7 };
  let first: Record<string, string>;

  beforeAll(async () => {
    const store = await open();
    await simulate(store, opts, { worker: false });
    first = await tableChecksums(store, TABLES);
  });

  it('gives byte-identical tables for the same options, inline or in the worker thread', async () => {
    const a = await open();
    await simulate(a, opts, { worker: false });
    expect(await tableChecksums(a, TABLES)).toEqual(first);
    const b = await open();
    await simulate(b, opts, { worker: true });
    expect(await tableChecksums(b, TABLES)).toEqual(first);
  });

  it('gives different tables for a different seed', async () => {
    const store = await open();
    await simulate(store, { ...opts, seed: 8 });
    const other = await tableChecksums(store, TABLES);
    for (const t of TABLES) expect(other[t], t).not.toBe(first[t]);
  });

  it('the first borrowers do not depend on how many borrowers there are (per-borrower streams)', async () => {
    // Both worlds have 200 merchants (the merchant count grows only above 10,000 borrowers).
    const small = await open();
    await simulate(small, { ...opts, borrowers: 1500 });
    const big = await open();
    await simulate(big, opts);
    for (const t of ['transactions', 'applications', 'repayments', 'early_labels']) {
      await small.run(`CREATE TABLE head AS SELECT * FROM ${t} ORDER BY ALL`);
      await big.run(`CREATE TABLE head AS SELECT * FROM ${t} WHERE borrower_id <= 1500 ORDER BY ALL`);
      expect(await tableChecksum(big, 'head'), t).toBe(await tableChecksum(small, 'head'));
      await small.run('DROP TABLE head');
      await big.run('DROP TABLE head');
    }
  });
});

describe('tableChecksum', () => {
  it('changes when a value, a pairing of values or the row order changes, not when the table is copied in order', async () => {
    const store = await open();
    await store.run(`CREATE TABLE t AS SELECT range AS id, range * 1.5 AS v, CASE WHEN range % 7 = 0 THEN NULL ELSE 'x' END AS s FROM range(1000)`);
    const base = await tableChecksum(store, 't');
    await store.run(`CREATE TABLE t_copy AS SELECT * FROM t ORDER BY id`);
    await store.run(`CREATE TABLE t_rev AS SELECT * FROM t ORDER BY id DESC`);
    await store.run(`CREATE TABLE t_edit AS SELECT id, CASE WHEN id = 500 THEN v + 0.01 ELSE v END AS v, s FROM t ORDER BY id`);
    await store.run(`CREATE TABLE t_null AS SELECT id, v, CASE WHEN id = 0 THEN 'x' ELSE s END AS s FROM t ORDER BY id`);
    // Same multiset of values in every column, but two rows exchange their v.
    await store.run(`CREATE TABLE t_swap AS SELECT id, CASE id WHEN 3 THEN 6.0 WHEN 4 THEN 4.5 ELSE v END AS v, s FROM t ORDER BY id`);
    const rename = async (t: string): Promise<string> => {
      await store.run(`DROP TABLE IF EXISTS t`);
      await store.run(`ALTER TABLE ${t} RENAME TO t`);
      return tableChecksum(store, 't');
    };
    expect(await rename('t_copy')).toBe(base);
    expect(await rename('t_rev')).not.toBe(base);
    expect(await rename('t_edit')).not.toBe(base);
    expect(await rename('t_null')).not.toBe(base);
    expect(await rename('t_swap')).not.toBe(base);
  });

  it('names a missing table', async () => {
    const store = await open();
    const err = await tableChecksum(store, 'nope').catch((e: unknown) => e);
    expect(isKilnError(err, 'TABLE_NOT_FOUND')).toBe(true);
  });
});
