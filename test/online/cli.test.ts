/** `kiln online materialize|push|get` on a project whose config declares features. */
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isKilnError } from '../../src/core/errors.js';
import { tempProject, write } from '../helpers.js';
import { createTable } from '../features/helpers.js';
import { iso, runOnline } from './cli-runner.js';
import { DAY, HOUR, T0 } from './helpers.js';

const DSL = resolve(import.meta.dirname, '../../src/features/index.js');
const CONFIG = `import { defineConfig } from 'kiln';
import { count, derived, div, entity, eventSource, featureSet, sum } from ${JSON.stringify(DSL)};
const user = entity('user', { key: 'user_id' });
const pay = eventSource('payments', { entity: user, timestamp: 'ts', columns: { amount: 'double' } });
const n = count(pay, { name: 'n_7d', window: '7d' });
const s = sum(pay, 'amount', { name: 'sum_7d', window: '7d' });
export default defineConfig({ name: 'cli-online', features: [user, pay, n, s, derived('avg_7d', div(s, n)), featureSet('basic', [n, s])] });
`;


async function kiln(dir: string, ...args: string[]): Promise<string> {
  return (await runOnline(dir, args)).stdout;
}

describe('kiln online', () => {
  let ctx: Awaited<ReturnType<typeof tempProject>>;
  beforeAll(async () => {
    ctx = await tempProject(CONFIG);
    await createTable(ctx.project, 'payments', { user_id: 'BIGINT', ts: 'TIMESTAMP', amount: 'DOUBLE' },
      [{ user_id: 1, ts: T0, amount: 4 }, { user_id: 1, ts: T0 + DAY, amount: 6 }, { user_id: 2, ts: T0 + 3 * DAY, amount: 1 }]);
    ctx.project.close();
  });
  afterAll(() => ctx.cleanup());

  it('materialises from the offline store, pushes NDJSON, and reads fresh values', async () => {
    const m = JSON.parse(await kiln(ctx.dir, 'materialize', '--as-of', iso(T0 + 2 * DAY), '--json')) as { backend: string; events: number; features: string[] };
    expect(m).toMatchObject({ backend: 'embedded', events: 2, features: ['n_7d', 'sum_7d', 'avg_7d'] });
    expect(JSON.parse(await kiln(ctx.dir, 'get', '1', '--as-of', iso(T0 + 2 * DAY), '--json'))).toEqual({ user_id: '1', n_7d: 2, sum_7d: 10, avg_7d: 5, known: true, sources: ['payments'] });

    const file = write(ctx.dir, 'events.ndjson', [
      JSON.stringify({ user_id: 1, ts: iso(T0 + 2 * DAY + HOUR), amount: 30 }),
      '',
      JSON.stringify({ user_id: 3, ts: (T0 + 2 * DAY) / 1000, amount: 2 }),
    ].join('\n'));
    const pushed = JSON.parse(await kiln(ctx.dir, 'push', file, '--source', 'payments', '--json')) as { rows: number; events: number };
    expect(pushed).toMatchObject({ rows: 2, events: 2 });
    const rows = JSON.parse(await kiln(ctx.dir, 'get', '1', '3', '--features', 'basic', '--as-of', iso(T0 + 3 * DAY), '--json')) as unknown[];
    expect(rows).toEqual([{ user_id: '1', n_7d: 3, sum_7d: 40, known: true, sources: ['payments'] }, { user_id: '3', n_7d: 1, sum_7d: 2, known: true, sources: ['payments'] }]);
    const table = await kiln(ctx.dir, 'get', '1', '--features', 'sum_7d', '--as-of', iso(T0 + 3 * DAY));
    expect(table).toMatch(/^feature\s+value\nuser_id\s+1\nsum_7d\s+40\n$/);
    // the table rounds fractions for reading (12 significant digits); --json keeps the exact double
    const tenths = write(ctx.dir, 'tenths.ndjson', [0.1, 0.2].map((amount, i) => JSON.stringify({ user_id: 5, ts: (T0 + 2 * DAY + i) / 1000, amount })).join('\n'));
    await kiln(ctx.dir, 'push', tenths, '--source', 'payments', '--json');
    expect(await kiln(ctx.dir, 'get', '5', '--features', 'sum_7d', '--as-of', iso(T0 + 3 * DAY))).toMatch(/sum_7d\s+0\.3\n$/);
    expect(JSON.parse(await kiln(ctx.dir, 'get', '5', '--features', 'sum_7d', '--as-of', iso(T0 + 3 * DAY), '--json'))).toEqual({ user_id: '5', sum_7d: 0.1 + 0.2, known: true, sources: ['payments'] });
  });

  it('reports entities the store never saw as unknown, and fails unless --allow-unknown', async () => {
    const e = await kiln(ctx.dir, 'get', '1', '404', '--as-of', iso(T0 + 3 * DAY), '--json').catch((x: unknown) => x);
    expect(isKilnError(e, 'ENTITY_UNKNOWN') && e.message).toMatch(/^entity unknown to the online store: 404\. .*--allow-unknown/);
    const rows = JSON.parse(await kiln(ctx.dir, 'get', '1', '404', '--as-of', iso(T0 + 3 * DAY), '--json', '--allow-unknown')) as Record<string, unknown>[];
    expect(rows.map((r) => [r.user_id, r.known, r.sources])).toEqual([['1', true, ['payments']], ['404', false, []]]);
    expect(rows[1]).toMatchObject({ n_7d: 0, known: false });
    const text = await kiln(ctx.dir, 'get', '404', '405', '--as-of', iso(T0 + 3 * DAY), '--allow-unknown');
    expect(text).toMatch(/^entity 404: UNKNOWN to the online store \(no source has stored an event or a materialised value for it\)/);
    expect(text).toMatch(/\nentity 405: UNKNOWN/);
    const two = await kiln(ctx.dir, 'get', '404', '405').catch((x: unknown) => x);
    expect(isKilnError(two, 'ENTITY_UNKNOWN') && two.message).toMatch(/^2 entities unknown to the online store: 404, 405\./);
  });

  it('names the line of a bad record, and wants a target', async () => {
    const file = write(ctx.dir, 'bad.ndjson', `${JSON.stringify({ user_id: 1, ts: '2024-01-01T00:00:00+01:00', amount: 1 })}\n{oops\n`);
    const e1 = await kiln(ctx.dir, 'push', file, '--source', 'payments').catch((e: unknown) => e);
    expect(isKilnError(e1, 'EVENTS_INVALID') && e1.message).toMatch(/line 2: not JSON/);
    const good = write(ctx.dir, 'offset.ndjson', `${JSON.stringify({ user_id: 1, ts: '2024-01-01T00:00:00+01:00', amount: 1 })}\n`);
    const e2 = await kiln(ctx.dir, 'push', good, '--source', 'payments').catch((e: unknown) => e);
    expect(isKilnError(e2) && e2.message).toMatch(/line 1: column 'ts': '2024-01-01T00:00:00\+01:00' has offset \+01:00/);
    const e3 = await kiln(ctx.dir, 'push', good).catch((e: unknown) => e);
    expect(isKilnError(e3, 'USAGE') && e3.message).toMatch(/--source NAME or --table NAME/);
    const e4 = await kiln(ctx.dir, 'push', good, '--source', 'payments', '--batch', '0').catch((e: unknown) => e);
    expect(isKilnError(e4, 'USAGE') && e4.message).toBe('--batch must be a positive integer; got 0');
    const e5 = await kiln(ctx.dir, 'push', `${ctx.dir}/none.ndjson`, '--source', 'payments').catch((e: unknown) => e);
    expect(isKilnError(e5, 'FILE_NOT_FOUND') && e5.message).toMatch(/event file .*none\.ndjson does not exist/);
  });
});
