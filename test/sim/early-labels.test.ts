import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EARLY_DPD, EARLY_WINDOW_MONTHS, SIM_TABLES, simulate } from '../../src/sim/index.js';
import type { OfflineStore } from '../../src/store/offline.js';
import { scalar, tempStore } from './helpers.js';

// A 24-month world (labels of every age) and an 8-month one with an early shock (most labels cut off by the horizon).
type Env = Awaited<ReturnType<typeof tempStore>>;
const WORLDS = [
  { name: '24 months', opts: { borrowers: 6000, months: 24, seed: 11 }, end: '2026-01-01' },
  { name: '8 months', opts: { borrowers: 4000, months: 8, seed: 5, start: '2024-03-01', shockMonth: 1 }, end: '2024-11-01' },
] as const;
const envs: Env[] = [];
beforeAll(async () => {
  for (const w of WORLDS) {
    const env = await tempStore('early');
    await simulate(env.store, w.opts, { worker: false });
    envs.push(env);
  }
});
afterAll(() => { for (const e of envs) e.cleanup(); });

const num = (store: OfflineStore, sql: string): Promise<number> => scalar<number>(store, sql).then(Number);

/**
 * The proxies recomputed from `repayments` and `loans` alone: an installment due within 3 months of
 * funding crossed d days past due (its days_past_due, as of payment or the end of the horizon, is >= d)
 * at due_date + d days; a loan is good once the third installment's due date + d days is within the horizon.
 */
function expectedSql(d: number, end: string): string {
  return `SELECT l.loan_id,
      CASE WHEN x.bad_at IS NOT NULL THEN true WHEN x.good_at <= TIMESTAMP '${end}' THEN false END AS label,
      CASE WHEN x.bad_at IS NOT NULL THEN x.bad_at WHEN x.good_at <= TIMESTAMP '${end}' THEN x.good_at END AS available_at
    FROM loans l JOIN (
      SELECT l.loan_id,
        min(r.due_date + INTERVAL ${d} DAY) FILTER (WHERE r.days_past_due >= ${d}) AS bad_at,
        CAST(CAST(any_value(l.funded_at) + INTERVAL 3 MONTH AS DATE) AS TIMESTAMP) + INTERVAL ${d} DAY AS good_at
      FROM loans l LEFT JOIN repayments r ON r.loan_id = l.loan_id AND r.due_date <= l.funded_at + INTERVAL 3 MONTH
      GROUP BY l.loan_id) x USING (loan_id)`;
}

describe('early_labels', () => {
  it('is listed after loan_labels with its key and availability column', () => {
    const names = SIM_TABLES.map((t) => t.name);
    expect(names.indexOf('early_labels')).toBe(names.indexOf('loan_labels') + 1);
    expect(SIM_TABLES.find((t) => t.name === 'early_labels')).toMatchObject({ keyColumn: 'loan_id', timestampColumn: 'dpd60_3m_available_at', event: false });
    expect(EARLY_WINDOW_MONTHS).toBe(3);
    expect(EARLY_DPD).toEqual({ dpd60_3m: 60, dpd30_3m: 30 });
  });

  for (const [w, world] of WORLDS.entries()) {
    it(`matches both proxies recomputed in SQL from repayments, row by row (${world.name})`, async () => {
      const s = envs[w]!.store;
      const loans = await num(s, 'SELECT count(*) FROM loans');
      expect(loans).toBeGreaterThan(300);
      expect(await num(s, 'SELECT count(*) FROM early_labels')).toBe(loans);
      expect(await num(s, `SELECT count(*) FROM early_labels e JOIN loans l USING (loan_id)
        WHERE e.borrower_id <> l.borrower_id OR e.funded_at <> l.funded_at`)).toBe(0);
      // The window holds installments 1..3 exactly (terms are at least 12 months).
      expect(await num(s, `SELECT count(*) FROM repayments r JOIN loans l USING (loan_id)
        WHERE (r.due_date <= l.funded_at + INTERVAL 3 MONTH) <> (r.installment <= 3)`)).toBe(0);
      for (const [col, d] of [['dpd60_3m', 60], ['dpd30_3m', 30]] as const) {
        const diff = await num(s, `SELECT count(*) FROM early_labels e FULL JOIN (${expectedSql(d, world.end)}) x USING (loan_id)
          WHERE e.${col} IS DISTINCT FROM x.label OR e.${col}_available_at IS DISTINCT FROM x.available_at`);
        expect(diff, col).toBe(0);
        // Both outcomes and the unknown case occur, so the comparison above is not vacuous.
        expect(await num(s, `SELECT count(*) FROM early_labels WHERE ${col}`), `${col} bad`).toBeGreaterThan(5);
        expect(await num(s, `SELECT count(*) FROM early_labels WHERE NOT ${col}`), `${col} good`).toBeGreaterThan(100);
        expect(await num(s, `SELECT count(*) FROM early_labels WHERE ${col} IS NULL`), `${col} unknown`).toBeGreaterThan(20);
      }
    });

    it(`is observable only within the horizon and after funding; the 30-day label is never later (${world.name})`, async () => {
      const s = envs[w]!.store;
      const bad = await num(s, `SELECT count(*) FROM early_labels WHERE
        (dpd60_3m IS NULL) <> (dpd60_3m_available_at IS NULL) OR (dpd30_3m IS NULL) <> (dpd30_3m_available_at IS NULL)
        OR dpd60_3m_available_at > TIMESTAMP '${world.end}' OR dpd30_3m_available_at > TIMESTAMP '${world.end}'
        OR dpd60_3m_available_at < funded_at + INTERVAL 60 DAY OR dpd30_3m_available_at < funded_at + INTERVAL 30 DAY
        OR dpd60_3m_available_at > funded_at + INTERVAL 3 MONTH + INTERVAL 60 DAY
        OR (dpd60_3m_available_at IS NOT NULL AND dpd30_3m_available_at IS NULL)
        OR dpd30_3m_available_at > dpd60_3m_available_at
        OR (dpd60_3m AND NOT dpd30_3m)`);
      expect(bad).toBe(0);
      // Loans funded less than about 3 months + 30 days before the end are labelled only if already bad
      // (the third installment is due on the day of month of funding, at midnight: at most a day earlier).
      expect(await num(s, `SELECT count(*) FROM early_labels
        WHERE funded_at + INTERVAL 3 MONTH + INTERVAL 29 DAY >= TIMESTAMP '${world.end}' AND NOT dpd30_3m`)).toBe(0);
    });
  }

  it('flags every 12-month default that was 60+ days past due in the first 3 months, and every early delinquency', async () => {
    const s = envs[0]!.store;
    const missed = await num(s, `SELECT count(*) FROM loan_labels l JOIN early_labels e USING (loan_id)
      WHERE l.default_12m AND NOT coalesce(e.dpd60_3m, false)
        AND EXISTS (SELECT 1 FROM repayments r WHERE r.loan_id = l.loan_id AND r.installment <= 3 AND r.days_past_due >= 60)`);
    expect(missed).toBe(0);
    // Ground truth: a borrower delinquent before the third installment's due date misses it, so once
    // 60 days have passed (within the horizon) the loan is a dpd60_3m bad, and a dpd30_3m bad 30 days earlier.
    const early = `FROM early_labels e JOIN borrower_latents b USING (borrower_id)
      WHERE b.delinquent_at < CAST(CAST(e.funded_at + INTERVAL 3 MONTH AS DATE) AS TIMESTAMP)
        AND b.delinquent_at > e.funded_at
        AND CAST(CAST(e.funded_at + INTERVAL 3 MONTH AS DATE) AS TIMESTAMP) + INTERVAL 60 DAY <= TIMESTAMP '2026-01-01'`;
    expect(await num(s, `SELECT count(*) ${early}`)).toBeGreaterThan(10);
    expect(await num(s, `SELECT count(*) ${early} AND NOT (e.dpd60_3m AND e.dpd30_3m)`)).toBe(0);
  });

  it('matures months sooner than default_12m and agrees with it on the matured cohort', async () => {
    const s = envs[0]!.store;
    const matured = `FROM early_labels e JOIN loan_labels l USING (loan_id) WHERE l.funded_at + INTERVAL 12 MONTH <= TIMESTAMP '2026-01-01'`;
    const months = (c: string): string => `median(date_diff('second', l.funded_at, ${c}) / 86400.0 / 30.4375)`;
    const delay60 = await num(s, `SELECT ${months('e.dpd60_3m_available_at')} ${matured}`);
    const delay30 = await num(s, `SELECT ${months('e.dpd30_3m_available_at')} ${matured}`);
    const delay12 = await num(s, `SELECT ${months('l.label_available_at')} ${matured}`);
    expect(delay60).toBeGreaterThan(3);
    expect(delay60).toBeLessThan(5.5);
    expect(delay30).toBeLessThan(delay60);
    expect(delay12).toBeGreaterThan(11);
    expect(delay12).toBeLessThan(12.5);

    expect(await num(s, `SELECT count(*) ${matured} AND (e.dpd60_3m IS NULL OR e.dpd30_3m IS NULL OR l.default_12m IS NULL)`)).toBe(0);
    const row = (await s.all<Record<string, number>>(`SELECT
        avg(l.default_12m::INT) FILTER (WHERE e.dpd60_3m) AS precision60,
        avg(l.default_12m::INT) FILTER (WHERE NOT e.dpd60_3m) AS miss60,
        avg(e.dpd60_3m::INT) FILTER (WHERE l.default_12m) AS recall60,
        corr(e.dpd60_3m::INT, l.default_12m::INT) AS phi60,
        corr(e.dpd30_3m::INT, l.default_12m::INT) AS phi30,
        count(*) FILTER (WHERE l.default_12m) AS defaults
      ${matured}`))[0]!;
    expect(Number(row.defaults)).toBeGreaterThan(40);
    expect(row.precision60).toBeGreaterThan(0.9); // a 60-day miss this early almost always becomes a default
    expect(row.miss60).toBeLessThan(0.1);
    expect(row.recall60).toBeGreaterThan(0.2); // defaults that start after month 3 are invisible to the proxy
    expect(row.recall60).toBeLessThan(0.8);
    expect(row.phi60).toBeGreaterThan(0.4);
    expect(row.phi30).toBeGreaterThan(0.4);
  });
});
