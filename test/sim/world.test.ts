import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { simulate, type SimSummary } from '../../src/sim/index.js';
import type { OfflineStore } from '../../src/store/offline.js';
import { loanFeatures } from './features.js';
import { scalar, tempStore } from './helpers.js';
import { crossValidatedAuc } from './logit.js';

// One world with the default 24 months and its shock at month 12, and the same world without the
// shock (same seed: identical up to the shock, a counterfactual after it).
const BORROWERS = 20_000;
let shocked: Awaited<ReturnType<typeof tempStore>>;
let calm: Awaited<ReturnType<typeof tempStore>>;
let summary: SimSummary;

beforeAll(async () => {
  shocked = await tempStore('world');
  calm = await tempStore('calm');
  summary = await simulate(shocked.store, { borrowers: BORROWERS, seed: 42 });
  await simulate(calm.store, { borrowers: BORROWERS, seed: 42, shockMonth: null });
});
afterAll(() => { shocked?.cleanup(); calm?.cleanup(); });

const num = (store: OfflineStore, sql: string): Promise<number> => scalar<number>(store, sql).then(Number);

describe('simulate: summary and realism', () => {
  it('reports every table with its rows, key and timestamp columns', async () => {
    expect(summary.options).toMatchObject({ borrowers: BORROWERS, months: 24, seed: 42, shockMonth: 12, start: '2024-01-01' });
    const byName = Object.fromEntries(summary.tables.map((t) => [t.name, t]));
    expect(Object.keys(byName).sort()).toEqual(
      ['applications', 'borrower_latents', 'borrowers', 'early_labels', 'loan_labels', 'loans', 'merchants', 'repayments', 'transactions'],
    );
    for (const t of summary.tables) {
      expect(await num(shocked.store, `SELECT count(*) FROM ${t.name}`), t.name).toBe(t.rows);
      expect(t.description.length).toBeGreaterThan(10);
    }
    expect(byName.transactions).toMatchObject({ timestampColumn: 'ts', keyColumn: 'txn_id' });
    for (const t of summary.tables.filter((x) => x.keyColumn)) {
      expect(await num(shocked.store, `SELECT count(*) - count(DISTINCT ${t.keyColumn}) FROM ${t.name}`), `${t.name}.${t.keyColumn} is unique`).toBe(0);
    }
    expect(byName.borrowers!.rows).toBe(BORROWERS);
    expect(summary.totalEvents).toBe(byName.transactions!.rows + byName.applications!.rows + byName.repayments!.rows);
    expect(byName.transactions!.rows / BORROWERS).toBeGreaterThan(40); // ~4 a month over the active months
    expect(summary.eventsPerSecond).toBeGreaterThan(0);
  });

  it('has a plausible approval rate and 12-month default rate', async () => {
    const { approvalRate, defaultRate12m, maturedLoans } = summary.stats;
    expect(approvalRate).toBeGreaterThan(0.4);
    expect(approvalRate).toBeLessThan(0.7);
    expect(defaultRate12m).toBeGreaterThan(0.03);
    expect(defaultRate12m).toBeLessThan(0.15);
    expect(maturedLoans).toBeGreaterThan(1000);
    const sqlRate = await num(shocked.store, `SELECT avg(default_12m::INT) FROM loan_labels WHERE funded_at + INTERVAL 12 MONTH <= TIMESTAMP '2026-01-01'`);
    expect(sqlRate).toBeCloseTo(defaultRate12m, 10);
  });

  it('keeps every event inside the horizon and after signup', async () => {
    const s = shocked.store;
    expect(await num(s, `SELECT count(*) FROM transactions t JOIN borrowers b USING (borrower_id) WHERE t.ts < b.created_at OR t.ts < TIMESTAMP '2024-01-01' OR t.ts >= TIMESTAMP '2026-01-01'`)).toBe(0);
    expect(await num(s, `SELECT count(*) FROM applications a JOIN borrowers b USING (borrower_id) WHERE a.applied_at < b.created_at OR a.decision_at < a.applied_at OR a.decision_at >= TIMESTAMP '2026-01-01'`)).toBe(0);
    expect(await num(s, `SELECT count(*) FROM loans l JOIN applications a USING (application_id) WHERE NOT a.funded OR NOT a.approved OR l.funded_at < a.decision_at OR l.borrower_id <> a.borrower_id`)).toBe(0);
    expect(await num(s, `SELECT count(*) FROM applications WHERE funded`)).toBe(await num(s, `SELECT count(*) FROM loans`));
    expect(await num(s, `SELECT count(*) FROM repayments WHERE due_date >= DATE '2026-01-01' OR (paid_at IS NULL) <> (paid_amount = 0)`)).toBe(0);
    expect(await num(s, `SELECT count(*) FROM transactions t LEFT JOIN merchants m USING (merchant_id) WHERE m.category IS DISTINCT FROM t.category`)).toBe(0);
  });

  it('makes labels observable only after they happen (label delay)', async () => {
    const s = shocked.store;
    const bad = await num(s, `SELECT count(*) FROM loan_labels WHERE
      (default_12m IS NULL) <> (label_available_at IS NULL)
      OR label_available_at > TIMESTAMP '2026-01-01'
      OR label_available_at < funded_at
      OR (default_12m AND label_available_at <> defaulted_at)
      OR (NOT default_12m AND label_available_at <> funded_at + INTERVAL 12 MONTH AND day(funded_at) <= 28)
      OR (default_12m AND defaulted_at > funded_at + INTERVAL 12 MONTH)`);
    expect(bad).toBe(0);
    // A default is 90 days past due on the first missed installment.
    const mismatched = await num(s, `SELECT count(*) FROM loan_labels l JOIN (
        SELECT loan_id, min(due_date) AS first_missed FROM repayments WHERE paid_at IS NULL GROUP BY loan_id) r USING (loan_id)
      WHERE l.defaulted_at IS NOT NULL AND l.defaulted_at <> r.first_missed + INTERVAL 90 DAY`);
    expect(mismatched).toBe(0);
    // Recent loans have no label yet unless they already defaulted.
    expect(await num(s, `SELECT count(*) FROM loan_labels WHERE funded_at >= TIMESTAMP '2025-06-01' AND default_12m = false`)).toBe(0);
    expect(await num(s, `SELECT count(*) FROM loan_labels WHERE funded_at >= TIMESTAMP '2025-06-01' AND default_12m IS NULL`)).toBeGreaterThan(100);
  });

  it('correlates the protected group with region and income, not with creditworthiness within a region', async () => {
    const s = shocked.store;
    const spread = await num(s, `SELECT max(p) - min(p) FROM (SELECT region, avg((protected_group = 'group_b')::INT) AS p FROM borrowers GROUP BY region)`);
    expect(spread).toBeGreaterThan(0.2);
    const incomeRatio = await num(s, `SELECT median(income) FILTER (WHERE protected_group = 'group_b') / median(income) FILTER (WHERE protected_group = 'group_a') FROM borrowers`);
    expect(incomeRatio).toBeLessThan(0.97);
    const zGap = await num(s, `SELECT max(abs(za - zb)) FROM (
        SELECT region, avg(creditworthiness) FILTER (WHERE protected_group = 'group_a') AS za,
               avg(creditworthiness) FILTER (WHERE protected_group = 'group_b') AS zb
        FROM borrowers JOIN borrower_latents USING (borrower_id) GROUP BY region)`);
    expect(zGap).toBeLessThan(0.12);
  });
});

describe('simulate: the shock', () => {
  it('leaves the world before the shock month unchanged', async () => {
    const q = `SELECT count(*) || ':' || sum(amount)::DECIMAL(18,2) FROM transactions WHERE ts < TIMESTAMP '2025-01-01'`;
    expect(await scalar<string>(shocked.store, q)).toBe(await scalar<string>(calm.store, q));
  });

  it('cuts income, shifts spending to cash advance and essentials, and raises delinquency', async () => {
    const after = `ts >= TIMESTAMP '2025-01-01'`;
    const share = (store: OfflineStore, cat: string): Promise<number> =>
      num(store, `SELECT avg((category = '${cat}')::INT) FROM transactions WHERE ${after}`);
    expect(await share(shocked.store, 'cash_advance')).toBeGreaterThan(1.5 * (await share(calm.store, 'cash_advance')));
    expect(await share(shocked.store, 'travel')).toBeLessThan(0.6 * (await share(calm.store, 'travel')));
    expect(await share(shocked.store, 'grocery')).toBeGreaterThan(await share(calm.store, 'grocery'));

    const incomeRatio = (store: OfflineStore, when: string): Promise<number> => num(store,
      `SELECT avg(a.stated_income / b.income) FROM applications a JOIN borrowers b USING (borrower_id) WHERE a.applied_at ${when} TIMESTAMP '2025-01-01'`);
    const before = await incomeRatio(shocked.store, '<');
    expect(await incomeRatio(shocked.store, '>=')).toBeLessThan(before - 0.04);
    expect(Math.abs((await incomeRatio(calm.store, '>=')) - before)).toBeLessThan(0.02);

    // Observable delinquency: installments due after the shock that are 30+ days past due.
    const dpd30 = (store: OfflineStore): Promise<number> => num(store,
      `SELECT avg((days_past_due >= 30)::INT) FROM repayments WHERE due_date >= DATE '2025-01-01' AND due_date < DATE '2025-12-01'`);
    expect(await dpd30(shocked.store)).toBeGreaterThan(1.2 * (await dpd30(calm.store)));
    // Default rate of the loans whose 12-month window overlaps the shock.
    const dr = (store: OfflineStore): Promise<number> => num(store,
      `SELECT avg(default_12m::INT) FROM loan_labels WHERE funded_at >= TIMESTAMP '2024-07-01' AND funded_at + INTERVAL 12 MONTH <= TIMESTAMP '2026-01-01'`);
    expect(await dr(shocked.store)).toBeGreaterThan(await dr(calm.store));
  });
});

describe('simulate: learnability', () => {
  it('behaviour before funding predicts default better than static attributes', async () => {
    const f = await loanFeatures(shocked.store, '2026-01-01');
    expect(f.length).toBeGreaterThan(1500);
    const y = f.map((r) => r.y);
    expect(y.reduce((a, b) => a + b, 0)).toBeGreaterThan(100);
    const fold = (i: number): number => f[i]!.loanId % 3;
    const staticAuc = crossValidatedAuc(f.map((r) => r.static), y, fold);
    const behaviourAuc = crossValidatedAuc(f.map((r) => r.behaviour), y, fold);
    const bothAuc = crossValidatedAuc(f.map((r) => [...r.static, ...r.behaviour]), y, fold);
    console.log(`AUC static ${staticAuc.toFixed(3)}  behaviour ${behaviourAuc.toFixed(3)}  both ${bothAuc.toFixed(3)}`);
    expect(staticAuc).toBeGreaterThan(0.55); // static attributes carry some signal (a realistic proxy)
    expect(behaviourAuc).toBeGreaterThan(staticAuc + 0.05);
    expect(bothAuc).toBeGreaterThan(staticAuc + 0.05);
  });

  it('a look-ahead leak (behaviour in the 90 days after funding) looks even better: point-in-time matters', async () => {
    const f = await loanFeatures(shocked.store, '2026-01-01');
    const leaky = await loanFeatures(shocked.store, '2026-01-01', 'leaky-after');
    const fold = (i: number): number => f[i]!.loanId % 3;
    const honest = crossValidatedAuc(f.map((r) => r.behaviour), f.map((r) => r.y), fold);
    const leaked = crossValidatedAuc(leaky.map((r) => r.behaviour), leaky.map((r) => r.y), fold);
    expect(leaked).toBeGreaterThan(honest + 0.04);
  });
});
