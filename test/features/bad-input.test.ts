/** Bad input to training sets: each a KilnError that says what is wrong and what to do. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isKilnError, type KilnError } from '../../src/core/errors.js';
import { count, entity, eventSource, featureSet, sum } from '../../src/features/index.js';
import { buildTrainingSet, parseUtcTime, type TrainingSetOptions } from '../../src/features/training/index.js';
import { tempProject, write } from '../helpers.js';
import { DAY, T0, createTable } from './helpers.js';

const user = entity('user', { key: 'user_id' });
const pay = eventSource('payments', { entity: user, timestamp: 'ts', columns: { amount: 'double', kind: 'varchar' } });
const n = count(pay, { name: 'n_7d', window: '7d' });
const s = sum(pay, 'amount', { name: 'sum_7d', window: '7d' });
const defs = [user, pay, n, s, featureSet('basic', [n, s])];

async function failure(p: Promise<unknown>): Promise<KilnError> {
  try { await p; } catch (e) { if (isKilnError(e)) return e; throw e; }
  throw new Error('expected a KilnError');
}

describe('bad input', () => {
  let ctx: Awaited<ReturnType<typeof tempProject>>;
  const build = (o: Partial<TrainingSetOptions>): Promise<unknown> =>
    buildTrainingSet(ctx.project, { spine: { table: 'spine' }, features: 'basic', definitions: defs, table: 'bad_out', ...o });
  beforeAll(async () => {
    ctx = await tempProject();
    await createTable(ctx.project, 'payments', { user_id: 'BIGINT', ts: 'TIMESTAMP', amount: 'DOUBLE', kind: 'VARCHAR' }, [{ user_id: 1, ts: T0, amount: 3, kind: 'a' }]);
    await createTable(ctx.project, 'spine', { user_id: 'BIGINT', ts: 'TIMESTAMP' }, [{ user_id: 1, ts: T0 + DAY }]);
  });
  afterAll(() => ctx.cleanup());

  it('names unknown features and sets, with did-you-mean', async () => {
    const e = await failure(build({ features: ['sum_7d', 'n_7', 'basik'] }));
    expect(e.code).toBe('FEATURE_NOT_FOUND');
    expect(e.message).toContain("unknown feature or feature set 'n_7' (did you mean 'n_7d'?), 'basik' (did you mean 'basic'?)");
  });

  it('checks sources against the store: tables, columns and types, all at once', async () => {
    const wrong = eventSource('payments', { entity: user, table: 'paymnts', timestamp: 'ts', columns: { amount: 'double' } });
    const e1 = await failure(build({ definitions: [user, wrong, count(wrong, { name: 'n', window: '1d' })], features: ['n'] }));
    expect(e1.code).toBe('FEATURE_DEFINITION_INVALID');
    expect(e1.message).toContain("source 'payments': table 'paymnts' is not in the offline store; did you mean 'payments'?");
    const cols = eventSource('payments', { entity: user, timestamp: 'time', availableAt: 'amount', columns: { amount: 'double', kind: 'bigint', amnt: 'double' } });
    const e2 = await failure(build({
      definitions: [user, cols, sum(cols, 'amnt', { name: 'a', window: '1d' }), sum(cols, 'kind', { name: 'k', window: '1d' })], features: ['a', 'k'],
    }));
    expect(e2.message).toMatch(/4 problems/);
    expect(e2.message).toContain("table 'payments' has no timestamp column 'time' (columns: user_id, ts, amount, kind)");
    expect(e2.message).toContain("column 'amount' is DOUBLE; availableAt must be a TIMESTAMP or DATE column");
    expect(e2.message).toContain("table 'payments' has no declared column 'amnt'; did you mean 'amount'?");
    expect(e2.message).toContain("column 'kind' is declared bigint but the table has VARCHAR");
  });

  it('rejects a spine without the entity key or a time column', async () => {
    await createTable(ctx.project, 'no_key', { uid: 'BIGINT', ts: 'TIMESTAMP' }, [{ uid: 1, ts: T0 }]);
    const e1 = await failure(build({ spine: { table: 'no_key' } }));
    expect(e1.code).toBe('SPINE_INVALID');
    expect(e1.message).toBe("spine table 'no_key' has no entity key column 'user_id' (columns: uid, ts). Name it user_id or pass the key column (--key)");
    await createTable(ctx.project, 'no_time', { user_id: 'BIGINT', label: 'BIGINT' }, [{ user_id: 1, label: 0 }]);
    const e2 = await failure(build({ spine: { table: 'no_time' } }));
    expect(e2.message).toContain("spine table 'no_time' has no timestamp column (columns: user_id BIGINT, label BIGINT)");
    await createTable(ctx.project, 'two_times', { user_id: 'BIGINT', a: 'TIMESTAMP', b: 'TIMESTAMP' }, [{ user_id: 1, a: T0, b: T0 }]);
    expect((await failure(build({ spine: { table: 'two_times' } }))).message).toContain('has several time columns (a, b); say which one');
    expect((await failure(build({ spine: { table: 'two_times', timestamp: 'c' } }))).message).toContain("has no time column 'c'");
    await createTable(ctx.project, 'null_time', { user_id: 'BIGINT', ts: 'TIMESTAMP' }, [{ user_id: 1, ts: T0 }, { user_id: 2, ts: null }]);
    expect((await failure(build({ spine: { table: 'null_time' } }))).message).toContain('0 row(s) without user_id and 1 without ts (first: row 2)');
    await createTable(ctx.project, 'str_key', { user_id: 'VARCHAR', ts: 'TIMESTAMP' }, [{ user_id: 'u1', ts: T0 }]);
    expect((await failure(build({ spine: { table: 'str_key' } }))).message).toContain("key column 'user_id' is VARCHAR but source 'payments' keys its entity by payments.user_id (BIGINT)");
    expect((await failure(build({ spine: { table: 'spyne' } }))).code).toBe('TABLE_NOT_FOUND');
  });

  it('rejects non-UTC times in text columns and files, and reads UTC ones', async () => {
    await createTable(ctx.project, 'text_times', { user_id: 'BIGINT', ts: 'VARCHAR' }, [
      { user_id: 1, ts: '2024-01-02T00:00:00Z' }, { user_id: 1, ts: '2024-01-02T02:00:00+02:00' }, { user_id: 1, ts: '2024-01-02 00:00:00' },
    ]);
    const e1 = await failure(build({ spine: { table: 'text_times', timestamp: 'ts' } }));
    expect(e1.message).toContain("column 'ts' holds times that are not UTC (mixed time zones: 1 row(s) at +02:00 (first: row 2, '2024-01-02T02:00:00+02:00'); 2 row(s) in UTC or without offset)");
    expect(e1.message).toContain('convert them to UTC');

    // A CSV whose offsets DuckDB would silently convert (it reads them as TIMESTAMPTZ): still an error.
    const csv = write(ctx.dir, 'spine.csv', 'user_id,ts\n1,2024-01-02T00:00:00-05:00\n1,2024-01-02T00:00:00+01:00\n');
    const e2 = await failure(build({ spine: { file: csv } }));
    expect(e2.message).toMatch(/mixed time zones: 1 row\(s\) at -05:00 .*1 row\(s\) at \+01:00/);

    const ok = write(ctx.dir, 'ok.csv', 'user_id,ts,label\n1,2024-01-02T00:00:00Z,1\n1,2024-01-02T00:00:00+00:00,0\n');
    const r = await buildTrainingSet(ctx.project, { spine: { file: ok }, features: 'basic', definitions: defs, table: 'ok_out' });
    expect(r.rows).toBe(2);
    expect(await ctx.project.offline.all('SELECT user_id, ts, label, n_7d, sum_7d FROM ok_out')).toEqual([
      { user_id: 1, ts: '2024-01-02T00:00:00.000Z', label: 1, n_7d: 1, sum_7d: 3 },
      { user_id: 1, ts: '2024-01-02T00:00:00.000Z', label: 0, n_7d: 1, sum_7d: 3 },
    ]);

    // A stored TIMESTAMPTZ is an instant (its offset was applied when it was written): read as UTC.
    await ctx.project.offline.run(`CREATE TABLE tz_spine AS SELECT 1::BIGINT AS user_id, TIMESTAMPTZ '2024-01-02 02:00:00+02' AS ts`);
    await buildTrainingSet(ctx.project, { spine: { table: 'tz_spine' }, features: 'basic', definitions: defs, table: 'tz_out' });
    expect(await ctx.project.offline.all('SELECT ts, n_7d FROM tz_out')).toEqual([{ ts: '2024-01-02T00:00:00.000Z', n_7d: 1 }]);

    const junk = write(ctx.dir, 'junk.ndjson', '{"user_id": 1, "ts": "yesterday"}\n');
    expect((await failure(build({ spine: { file: junk } }))).message).toContain("1 value(s) of 'ts' are not times (first: row 1, 'yesterday')");
    expect(() => parseUtcTime('2025-01-01T00:00:00+02:00', 'as-of time')).toThrow(/has offset \+02:00; kiln works in UTC/);
    expect(parseUtcTime('2025-01-01 12:00:00', 'as-of time')).toBe('2025-01-01T12:00:00.000Z');
    expect((await failure(build({ spine: { entities: 'all', asOf: 'soon' } }))).message).toContain("as-of time 'soon' is not a time");
    expect((await failure(build({ spine: { file: junk } }))).code).toBe('SPINE_INVALID');
  });

  it('rejects bad options and clashing column names', async () => {
    const out = await failure(build({ out: 'x.csv' }));
    expect([out.code, out.message]).toEqual(['USAGE', expect.stringContaining('name the file *.parquet')]);
    const bound = await failure(build({ eventTimeBound: 'loose' as never }));
    expect([bound.code, bound.message]).toEqual(['INVALID_ARGUMENT', expect.stringContaining("eventTimeBound must be 'strict' or 'inclusive'")]);
    expect((await failure(build({ table: '__kiln_x' }))).code).toBe('NAME_INVALID');
    await createTable(ctx.project, 'clash', { user_id: 'BIGINT', ts: 'TIMESTAMP', n_7d: 'BIGINT' }, [{ user_id: 1, ts: T0, n_7d: 1 }]);
    expect((await failure(build({ spine: { table: 'clash' } }))).message).toContain("column 'n_7d' has the name of a feature column");
  });
});
