import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KilnError, isKilnError } from '../../src/core/errors.js';
import { SIM_TABLES, SimOptionsSchema, parseSimOptions, simulate, tableChecksums } from '../../src/sim/index.js';
import { scalar, tempStore } from './helpers.js';

const TABLES = SIM_TABLES.map((t) => t.name);
let env: Awaited<ReturnType<typeof tempStore>>;
let before: Record<string, string>;

beforeAll(async () => {
  env = await tempStore('safety');
  await simulate(env.store, { borrowers: 2000, months: 12, seed: 3 });
  before = await tableChecksums(env.store, TABLES);
});
afterAll(() => env?.cleanup());

const stagingTables = (): Promise<number> =>
  scalar<number>(env.store, `SELECT count(*) FROM duckdb_tables() WHERE table_name LIKE '\\_\\_kiln\\_stage\\_%' ESCAPE '\\'`).then(Number);

describe('simulate: atomicity', () => {
  for (const worker of [false, true]) {
    it(`an aborted run (${worker ? 'worker thread' : 'inline'}) leaves the previous world intact and no staging tables`, async () => {
      const ac = new AbortController();
      let updates = 0;
      const progress = {
        update: (): void => { if (++updates === 2) ac.abort(); },
        finish: (): void => { throw new Error('an aborted run must not finish'); },
      };
      const err = await simulate(env.store, { borrowers: 60_000, months: 24, seed: 9 }, { progress, signal: ac.signal, worker })
        .catch((e: unknown) => e);
      expect(isKilnError(err, 'INTERRUPTED'), String(err)).toBe(true);
      expect(updates).toBeGreaterThanOrEqual(2);
      expect(await tableChecksums(env.store, TABLES)).toEqual(before);
      expect(await stagingTables()).toBe(0);
    });
  }

  it('an already-aborted signal changes nothing', async () => {
    const ac = new AbortController();
    ac.abort();
    const err = await simulate(env.store, { borrowers: 100 }, { signal: ac.signal }).catch((e: unknown) => e);
    expect(isKilnError(err, 'INTERRUPTED')).toBe(true);
    expect(await tableChecksums(env.store, TABLES)).toEqual(before);
    expect(await stagingTables()).toBe(0);
  });

  it('a completed run replaces every table at once', async () => {
    const s = await simulate(env.store, { borrowers: 500, months: 6, seed: 4, shockMonth: 2 });
    const after = await tableChecksums(env.store, TABLES);
    for (const t of TABLES) expect(after[t], t).not.toBe(before[t]);
    expect(await scalar<number>(env.store, 'SELECT count(*) FROM borrowers').then(Number)).toBe(500);
    expect(s.stats.maturedLoans).toBe(0); // 6 months: no 12-month window has closed
    expect(await scalar<number>(env.store, 'SELECT count(*) FROM loan_labels WHERE default_12m = false').then(Number)).toBe(0);
    expect(await stagingTables()).toBe(0);
    // Restore the reference world for the other tests (runs are deterministic).
    await simulate(env.store, { borrowers: 2000, months: 12, seed: 3 });
    expect(await tableChecksums(env.store, TABLES)).toEqual(before);
  });
});

describe('simulator options', () => {
  const bad: [Record<string, unknown>, string, RegExp][] = [
    [{ borrowers: 0 }, 'borrowers', />=\s*1|too small/i],
    [{ borrowers: 2.5 }, 'borrowers', /int/i],
    [{ months: 121 }, 'months', /120|too big/i],
    [{ months: 0 }, 'months', /1|too small/i],
    [{ seed: 'x' }, 'seed', /number/i],
    [{ start: '2024-01-15' }, 'start', /first of a month/],
    [{ start: '2024-13-01' }, 'start', /real calendar date/],
    [{ txnsPerMonth: -1 }, 'txnsPerMonth', /0|too small/i],
    [{ shockMonth: 24 }, 'shockMonth', /\[0, 23\]/],
    [{ shockMonth: -1 }, 'shockMonth', /0|too small/i],
    [{ borrower: 10 }, 'borrower', /unknown option \(did you mean 'borrowers'\?\)/],
  ];
  for (const [input, option, expected] of bad) {
    it(`rejects ${JSON.stringify(input)} naming '${option}'`, async () => {
      let err: unknown;
      try { parseSimOptions(input); } catch (e) { err = e; }
      expect(err).toBeInstanceOf(KilnError);
      const e = err as KilnError;
      expect(e.code).toBe('SIM_OPTION_INVALID');
      expect(e.message).toContain(option);
      expect(e.message).toMatch(expected);
      // simulate validates before touching the store.
      const viaSim = await simulate(env.store, input).catch((x: unknown) => x);
      expect(isKilnError(viaSim, 'SIM_OPTION_INVALID')).toBe(true);
    });
  }

  it('has documented defaults: 24 months from 2024-01-01, shock at month 12, seed 42', () => {
    expect(parseSimOptions({})).toEqual({ borrowers: 10_000, months: 24, seed: 42, shockMonth: 12, start: '2024-01-01', txnsPerMonth: 4, orderEpisodes: 0 });
    expect(parseSimOptions({ months: 6 }).shockMonth).toBeNull();
    expect(parseSimOptions({ months: 36 }).shockMonth).toBe(18);
    expect(parseSimOptions({ shockMonth: null }).shockMonth).toBeNull();
    expect(SimOptionsSchema.parse({}).borrowers).toBe(10_000);
  });
});
