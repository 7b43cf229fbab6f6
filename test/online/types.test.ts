/**
 * An online read gives every value in the offline training set's type: times (first/last/attribute of a
 * timestamp or date column, last-k's `ts` and time fields) as ISO 8601 text in UTC, booleans as booleans,
 * on both backends; the values equal the training set's at the same time.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { attribute, entity, eventSource, featureSet, first, last, lastK, snapshotSource } from '../../src/features/index.js';
import { buildTrainingSet } from '../../src/features/training/index.js';
import { OnlineFeatureStore, isoMicros } from '../../src/online/index.js';
import { tempProject } from '../helpers.js';
import { DAY, HOUR, T0, embeddedBackend, expectSameTypes, redisBackend, redisMode, type BackendFactory } from './helpers.js';

const acct = entity('acct', { key: 'k' });
const ev = eventSource('ev', { entity: acct, timestamp: 'ts', columns: { paid: 'timestamp', due: 'date', ok: 'boolean', id: 'bigint' } });
const prof = snapshotSource('prof', { entity: acct, timestamp: 'valid_from', columns: { opened: 'timestamp', born: 'date', vip: 'boolean' } });
const FEATURES = [
  first(ev, 'paid', { name: 'first_paid', window: '30d' }), last(ev, 'paid', { name: 'last_paid', window: 'lifetime' }),
  last(ev, 'due', { name: 'last_due', window: '30d' }), first(ev, 'ok', { name: 'first_ok', window: '30d' }),
  lastK(ev, { name: 'last2', k: 2, fields: ['paid', 'due', 'ok'], window: '30d' }),
  attribute(prof, 'opened', { name: 'opened' }), attribute(prof, 'born', { name: 'born' }), attribute(prof, 'vip', { name: 'vip' }),
];
const DEFS = [acct, ev, prof, ...FEATURES, featureSet('typed', FEATURES)];
// whole milliseconds: the offline store's text keeps milliseconds (online keeps µs: isoMicros)
const EVENTS = [1, 2, 3].map((i) => ({ k: 1, ts: T0 + i * HOUR, paid: T0 + i * HOUR + 123_000, due: T0 + i * DAY, ok: i % 2 === 0, id: i }));
const PROFILE = { k: 1, valid_from: T0, opened: T0 - 5 * DAY + 7000, born: T0 - 400 * DAY, vip: true };
const AT = T0 + 5 * DAY;

/** Offline rows with the Dates `all()` leaves inside lists as ISO text, as at the top level. */
const asText = (v: unknown): unknown => (v instanceof Date ? v.toISOString() : Array.isArray(v) ? v.map(asText)
  : v !== null && typeof v === 'object' ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, asText(x)])) : v);

function suite(name: string, backend: BackendFactory, skip: () => Promise<boolean>): void {
  describe(`online values in the training set's types: ${name}`, () => {
    let ctx: Awaited<ReturnType<typeof tempProject>>;
    let offline: Record<string, unknown>;
    let skipped = false;
    beforeAll(async () => {
      skipped = await skip();
      if (skipped) return;
      ctx = await tempProject();
      const ts = (us: number): string => `make_timestamp(${us}::BIGINT)`;
      const date = (us: number): string => `CAST(make_timestamp(${us}::BIGINT) AS DATE)`;
      await ctx.project.offline.run('CREATE TABLE ev (k BIGINT, ts TIMESTAMP, paid TIMESTAMP, due DATE, ok BOOLEAN, id BIGINT)');
      await ctx.project.offline.run(`INSERT INTO ev VALUES ${EVENTS.map((e) => `(1, ${ts(e.ts)}, ${ts(e.paid)}, ${date(e.due)}, ${e.ok}, ${e.id})`).join(', ')}`);
      await ctx.project.offline.run('CREATE TABLE prof (k BIGINT, valid_from TIMESTAMP, opened TIMESTAMP, born DATE, vip BOOLEAN)');
      await ctx.project.offline.run(`INSERT INTO prof VALUES (1, ${ts(PROFILE.valid_from)}, ${ts(PROFILE.opened)}, ${date(PROFILE.born)}, true)`);
      await ctx.project.offline.run(`CREATE TABLE spine AS SELECT 1::BIGINT AS k, ${ts(AT)} AS t`);
      await buildTrainingSet(ctx.project, { spine: { table: 'spine', timestamp: 't' }, features: 'typed', definitions: DEFS, table: 'out' });
      const [row] = await ctx.project.offline.all('SELECT * FROM out');
      const { t: _t, ...rest } = row!;
      offline = asText(rest) as Record<string, unknown>;
    });
    afterAll(() => { if (!skipped) ctx.cleanup(); });

    it('pushed and read: times as ISO text, booleans as booleans, equal to the training set', async (t) => {
      if (skipped) { t.skip(); return; }
      const h = await backend();
      try {
        const online = await OnlineFeatureStore.open(h.store, DEFS);
        await online.push({ source: 'ev' }, EVENTS.map((e) => ({ ...e, ts: isoMicros(e.ts), paid: isoMicros(e.paid), due: isoMicros(e.due) })));
        await online.push({ source: 'prof' }, [{ ...PROFILE, valid_from: isoMicros(PROFILE.valid_from), opened: isoMicros(PROFILE.opened), born: isoMicros(PROFILE.born) }]);
        for (const cacheSeries of [10, 0]) { // cached partials and merged tiles alike
          const reader = cacheSeries ? online : await OnlineFeatureStore.open(h.store, DEFS, { cacheSeries });
          const [row] = await reader.getOnlineFeatures([1], 'typed', { asOf: isoMicros(AT) });
          expect(row!.last_paid).toBe('2024-01-01T03:00:00.123Z');
          expect(row!.last_due).toBe('2024-01-04T00:00:00.000Z');
          expect(row!.vip).toBe(true);
          expect((row!.last2 as Record<string, unknown>[])[0]).toEqual({ ts: '2024-01-01T02:00:00.000Z', paid: '2024-01-01T02:00:00.123Z', due: '2024-01-03T00:00:00.000Z', ok: true });
          expectSameTypes([offline], [row!], () => 'k=1');
          expect(row).toEqual(offline);
        }
        // the cached state kept its µs: a second read converts again, the same
        expect((await online.getOnlineFeatures([1], 'typed', { asOf: isoMicros(AT) }))[0]!.first_paid).toBe('2024-01-01T01:00:00.123Z');
        // an entity without events: nulls and an empty list, as offline
        expect((await online.getOnlineFeatures([2], 'typed', { asOf: isoMicros(AT) }))[0]).toMatchObject({ last_paid: null, last2: [], opened: null });
      } finally {
        await h.cleanup();
      }
    });
  });
}

suite('sqlite', embeddedBackend, async () => false);
suite('redis', redisBackend, async () => (await redisMode()) === 'skip');
