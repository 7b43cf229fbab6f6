import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isKilnError } from '../../src/core/errors.js';
import { auc, train } from '../../src/gbdt/index.js';
import { SIM_TABLES, parseSimOptions, simulate, tableChecksums, type SimSummary } from '../../src/sim/index.js';
import { EPISODE } from '../../src/sim/model.js';
import { CATEGORIES } from '../../src/sim/schema.js';
import type { OfflineStore } from '../../src/store/offline.js';
import { scalar, tempStore } from './helpers.js';

// One world with order episodes (half the borrowers), the same world generated in the worker thread, and
// the same seed without episodes (the counterfactual: every borrower's main stream is the same).
type Env = Awaited<ReturnType<typeof tempStore>>;
const OPTS = { borrowers: 10_000, months: 24, seed: 42, orderEpisodes: 0.5 } as const;
const TABLES = SIM_TABLES.map((t) => t.name);
const SURGE = `('electronics', 'online_retail', 'travel', 'restaurants', 'entertainment')`;
let on: Env;
let off: Env;
let summary: SimSummary;

beforeAll(async () => {
  on = await tempStore('episodes');
  off = await tempStore('no-episodes');
  summary = await simulate(on.store, OPTS, { worker: false });
  await simulate(off.store, { ...OPTS, orderEpisodes: 0 }, { worker: false });
});
afterAll(() => { on?.cleanup(); off?.cleanup(); });

const num = (store: OfflineStore, sql: string): Promise<number> => scalar<number>(store, sql).then(Number);
/** Episode loans: the loan funded from the episode's application, with the order as 0/1. */
const EPISODE_LOANS = `SELECT b.borrower_id, lo.loan_id, (b.episode_order = 'surge_then_cash')::INT AS risky, lo.funded_at AS f
  FROM borrower_latents b JOIN loans lo ON lo.application_id = b.episode_application_id`;

describe('order episodes: options and determinism', () => {
  it('is off by default and validates the share', () => {
    expect(parseSimOptions({}).orderEpisodes).toBe(0);
    expect(summary.options.orderEpisodes).toBe(0.5);
    for (const bad of [-0.1, 1.5, 'x']) {
      let err: unknown;
      try { parseSimOptions({ orderEpisodes: bad }); } catch (e) { err = e; }
      expect(isKilnError(err, 'SIM_OPTION_INVALID'), String(bad)).toBe(true);
      expect((err as Error).message).toContain('orderEpisodes');
    }
  });

  it('gives byte-identical tables for the same options, inline or in the worker thread', async () => {
    const again = await tempStore('episodes-again');
    try {
      await simulate(again.store, OPTS, { worker: true });
      expect(await tableChecksums(again.store, TABLES)).toEqual(await tableChecksums(on.store, TABLES));
    } finally {
      again.cleanup();
    }
  });

  it('leaves borrowers untouched and a borrower without an episode identical but for ids', async () => {
    const a = await tableChecksums(on.store, ['borrowers']);
    expect(await tableChecksums(off.store, ['borrowers'])).toEqual(a);
    expect(await num(off.store, `SELECT count(*) FROM borrower_latents WHERE episode_order IS NOT NULL OR episode_start_at IS NOT NULL
      OR episode_applied_at IS NOT NULL OR episode_application_id IS NOT NULL OR episode_distress_at IS NOT NULL`)).toBe(0);
    await on.store.run(`ATTACH '${off.dir}/x.duckdb' AS off (READ_ONLY)`);
    try {
      const cols = 'borrower_id, ts, merchant_id, category, amount, channel';
      const without = `borrower_id IN (SELECT borrower_id FROM borrower_latents WHERE episode_order IS NULL)`;
      const diff = (q1: string, q2: string): Promise<number> => num(on.store, `SELECT count(*) FROM ((${q1} EXCEPT ALL ${q2}) UNION ALL (${q2} EXCEPT ALL ${q1}))`);
      expect(await num(on.store, `SELECT count(*) FROM transactions WHERE ${without}`)).toBeGreaterThan(100_000);
      expect(await diff(`SELECT ${cols} FROM transactions WHERE ${without}`, `SELECT ${cols} FROM off.transactions WHERE ${without}`)).toBe(0);
      expect(await diff(`SELECT borrower_id, applied_at, requested_amount, approved FROM applications WHERE ${without}`,
        `SELECT borrower_id, applied_at, requested_amount, approved FROM off.applications WHERE ${without}`)).toBe(0);
      // A borrower with an episode is the same until the episode starts.
      const before = `t JOIN borrower_latents b USING (borrower_id) WHERE b.episode_order IS NOT NULL AND t.ts < b.episode_start_at`;
      expect(await diff(`SELECT ${cols} FROM transactions ${before}`, `SELECT ${cols} FROM off.transactions ${before}`)).toBe(0);
    } finally {
      await on.store.run('DETACH off');
    }
  });
});

describe('order episodes: ground truth', () => {
  it('records the pattern, its order and its times per borrower', async () => {
    const s = on.store;
    const rows = await s.all<{ o: string; n: number; apps: number }>(`SELECT episode_order::VARCHAR AS o, count(*) AS n,
      count(episode_application_id) AS apps FROM borrower_latents WHERE episode_order IS NOT NULL GROUP BY ALL ORDER BY o`);
    expect(rows.map((r) => r.o)).toEqual(['cash_then_surge', 'surge_then_cash']);
    const [benign, risky] = rows.map((r) => Number(r.n)) as [number, number];
    expect(benign + risky).toBeGreaterThan(0.4 * OPTS.borrowers);
    expect(Math.abs(benign - risky) / (benign + risky)).toBeLessThan(0.04);
    const day = `INTERVAL 1 DAY`;
    expect(await num(s, `SELECT count(*) FROM borrower_latents b JOIN borrowers USING (borrower_id) WHERE b.episode_order IS NOT NULL AND (
      episode_switch_at <> episode_start_at + ${EPISODE.phaseDays} * ${day} OR episode_end_at <> episode_switch_at + ${EPISODE.phaseDays} * ${day}
      OR episode_applied_at <> episode_end_at + ${EPISODE.gapDays} * ${day} OR episode_start_at < created_at
      OR episode_start_at < TIMESTAMP '2024-01-01' OR episode_applied_at >= TIMESTAMP '2026-01-01')`)).toBe(0);
    // The recorded application is the borrower's, at the episode's time.
    expect(await num(s, `SELECT count(*) FROM borrower_latents b JOIN applications a ON a.application_id = b.episode_application_id
      WHERE a.borrower_id <> b.borrower_id OR a.applied_at <> b.episode_applied_at`)).toBe(0);
    expect(await num(s, `SELECT count(episode_application_id) FROM borrower_latents`)).toBeGreaterThan(0.98 * (benign + risky));
    // Only the risky order seals distress, which ends in delinquency 2-5 months later.
    expect(await num(s, `SELECT count(*) FROM borrower_latents WHERE episode_distress_at IS NOT NULL AND episode_order <> 'surge_then_cash'`)).toBe(0);
    const sealed = await num(s, `SELECT count(*) FROM borrower_latents WHERE episode_distress_at IS NOT NULL`);
    expect(sealed).toBeGreaterThan(0.35 * risky);
    expect(await num(s, `SELECT count(*) FROM borrower_latents WHERE episode_distress_at IS NOT NULL AND (
      episode_distress_at < episode_applied_at + INTERVAL 1 MONTH OR (delinquent_at IS NULL AND episode_distress_at < TIMESTAMP '2025-07-01')
      OR delinquent_at < episode_distress_at OR delinquent_at > episode_distress_at + INTERVAL 6 MONTH)`)).toBe(0);
  });

  it('puts the pattern in the events in the stated order', async () => {
    const s = on.store;
    const perPhase = `SELECT b.borrower_id, b.episode_order::VARCHAR AS o,
        count(*) FILTER (WHERE t.category = 'cash_advance' AND t.ts < b.episode_switch_at) AS cash1,
        count(*) FILTER (WHERE t.category = 'cash_advance' AND t.ts >= b.episode_switch_at) AS cash2,
        count(*) FILTER (WHERE t.category IN ${SURGE} AND t.ts < b.episode_switch_at) AS surge1,
        count(*) FILTER (WHERE t.category IN ${SURGE} AND t.ts >= b.episode_switch_at) AS surge2
      FROM borrower_latents b JOIN transactions t ON t.borrower_id = b.borrower_id AND t.ts >= b.episode_start_at AND t.ts < b.episode_end_at
      GROUP BY ALL`;
    // Every episode shows its minimum counts in the right phase.
    expect(await num(s, `SELECT count(*) FROM (${perPhase}) WHERE CASE o WHEN 'surge_then_cash'
      THEN surge1 < ${EPISODE.surgeMin} OR cash2 < ${EPISODE.cashMin} ELSE cash1 < ${EPISODE.cashMin} OR surge2 < ${EPISODE.surgeMin} END`)).toBe(0);
    type Means = { c1: number; c2: number; s1: number; s2: number };
    const m = await s.all<Means>(`SELECT o, avg(cash1) c1, avg(cash2) c2, avg(surge1) s1, avg(surge2) s2 FROM (${perPhase}) GROUP BY o ORDER BY o`);
    const [benign, risky] = m as [Means, Means];
    expect(risky.c2 - risky.c1).toBeGreaterThan(2.5);
    expect(risky.s1 - risky.s2).toBeGreaterThan(4);
    expect(benign.c1 - benign.c2).toBeGreaterThan(2.5);
    expect(benign.s2 - benign.s1).toBeGreaterThan(4);
    // Episode rows are merged into the borrower's transactions in time order (txn ids follow time).
    expect(await num(s, `SELECT count(*) FROM (SELECT ts, lag(ts) OVER (PARTITION BY borrower_id ORDER BY txn_id) AS prev FROM transactions) WHERE prev > ts`)).toBe(0);
  });
});

describe('order episodes: what aggregates see and what they miss', () => {
  /** Counts and sums per category over 7 / 30 / 90 days before funding, for every episode loan. */
  let rows: Record<string, number>[] = [];
  const aggNames: string[] = [];
  beforeAll(async () => {
    const cols = [7, 30, 90].flatMap((w) => CATEGORIES.flatMap((c) => {
      aggNames.push(`n${w}_${c}`, `s${w}_${c}`);
      return [`count(*) FILTER (WHERE t.category = '${c}' AND t.ts >= e.f - INTERVAL ${w} DAY) AS n${w}_${c}`,
        `coalesce(sum(t.amount) FILTER (WHERE t.category = '${c}' AND t.ts >= e.f - INTERVAL ${w} DAY), 0) AS s${w}_${c}`];
    }));
    // The order as a sequence model could read it from the last 20 transactions (90 days) before funding:
    // how much more recent the cash advances are than the discretionary purchases.
    rows = await on.store.all<Record<string, number>>(`
      WITH e AS (${EPISODE_LOANS}),
      agg AS (SELECT e.loan_id, ${cols.join(', ')} FROM e LEFT JOIN transactions t
        ON t.borrower_id = e.borrower_id AND t.ts < e.f AND t.ts >= e.f - INTERVAL 90 DAY GROUP BY e.loan_id),
      seq AS (SELECT e.loan_id, t.category, row_number() OVER (PARTITION BY e.loan_id ORDER BY t.ts DESC, t.txn_id DESC) AS back
        FROM e JOIN transactions t ON t.borrower_id = e.borrower_id AND t.ts < e.f AND t.ts >= e.f - INTERVAL 90 DAY),
      ord AS (SELECT loan_id, coalesce(avg(back) FILTER (WHERE category IN ${SURGE}), 10)
          - coalesce(avg(back) FILTER (WHERE category = 'cash_advance'), 10) AS order_stat
        FROM seq WHERE back <= 20 GROUP BY loan_id)
      SELECT e.loan_id, e.risky, coalesce(ord.order_stat, 0) AS order_stat, agg.* EXCLUDE (loan_id)
      FROM e JOIN agg USING (loan_id) LEFT JOIN ord USING (loan_id) ORDER BY e.loan_id`);
  });

  it('has the same windowed aggregates in both orders', () => {
    expect(rows.length).toBeGreaterThan(2000);
    let checked = 0;
    for (const name of aggNames) {
      const [a, b] = [1, 0].map((o) => rows.filter((r) => Number(r.risky) === o).map((r) => Number(r[name]))) as [number[], number[]];
      const [ma, mb] = [mean(a), mean(b)];
      const se = Math.sqrt(variance(a) / a.length + variance(b) / b.length);
      if (se === 0) continue;
      checked++;
      // No difference beyond sampling noise, for any category, window or statistic ...
      expect(Math.abs(ma - mb) / se, `${name}: ${ma.toFixed(3)} vs ${mb.toFixed(3)}`).toBeLessThan(4);
      // ... and within a few percent where the episode puts its events (30 and 90 days).
      if (/^[ns](30|90)_(cash_advance|electronics|online_retail)$/.test(name)) {
        expect(Math.abs(ma - mb) / ((ma + mb) / 2), name).toBeLessThan(0.05);
      }
    }
    expect(checked).toBeGreaterThan(60);
  });

  it('a GBDT on the aggregates cannot tell the orders apart; the last 20 events can', async () => {
    const fold = (r: Record<string, number>): boolean => Number(r.loan_id) % 2 === 0;
    const fitAuc = async (names: string[]): Promise<number> => {
      const tr = rows.filter(fold);
      const te = rows.filter((r) => !fold(r));
      const cols = (rs: Record<string, number>[]): Float64Array[] => names.map((k) => Float64Array.from(rs, (r) => Number(r[k])));
      const booster = await train({
        features: cols(tr), label: Float64Array.from(tr, (r) => Number(r.risky)), featureNames: names,
        params: { objective: 'binary:logistic', n_estimators: 150, max_depth: 3, learning_rate: 0.05, nthread: 1 },
      });
      const label = Float32Array.from(te, (r) => Number(r.risky));
      return auc({ pred: booster.predict(cols(te)), label, weight: null, nOutputs: 1, groupPtr: null });
    };
    const aggregates = await fitAuc(aggNames);
    const sequence = await fitAuc(['order_stat']);
    console.log(`order AUC: aggregates ${aggregates.toFixed(3)}, last-20 sequence ${sequence.toFixed(3)}`);
    expect(aggregates).toBeLessThan(0.57);
    expect(sequence).toBeGreaterThan(0.9);
  });

  it('the risky order defaults far more often; the benign order does not raise risk', async () => {
    const s = on.store;
    const dr = await s.all<{ risky: number; n: number; rate: number }>(`SELECT e.risky, count(*) AS n, avg(l.default_12m::INT) AS rate
      FROM (${EPISODE_LOANS}) e JOIN loan_labels l USING (loan_id) WHERE l.funded_at + INTERVAL 12 MONTH <= TIMESTAMP '2026-01-01'
      GROUP BY ALL ORDER BY e.risky`);
    expect(dr.map((r) => Number(r.risky))).toEqual([0, 1]);
    const [benign, risky] = [dr[0]!, dr[1]!];
    console.log(`matured episode loans: default_12m ${(risky.rate * 100).toFixed(1)}% (surge then cash, n=${risky.n}) vs ${(benign.rate * 100).toFixed(1)}% (cash then surge, n=${benign.n})`);
    expect(Number(benign.n)).toBeGreaterThan(300);
    expect(Number(risky.n)).toBeGreaterThan(300);
    expect(risky.rate).toBeGreaterThan(0.4);
    expect(benign.rate).toBeLessThan(0.12);
    // Delinquency of benign-order borrowers is that of borrowers without an episode.
    const delinquency = (where: string): Promise<number> => num(s, `SELECT avg((delinquent_at IS NOT NULL)::INT) FROM borrower_latents WHERE ${where}`);
    const none = await delinquency('episode_order IS NULL');
    expect(Math.abs((await delinquency(`episode_order = 'cash_then_surge'`)) - none)).toBeLessThan(0.025);
    expect(await delinquency(`episode_order = 'surge_then_cash'`)).toBeGreaterThan(none + 0.2);
  });
});

function mean(a: number[]): number {
  return a.reduce((s, v) => s + v, 0) / a.length;
}

function variance(a: number[]): number {
  const m = mean(a);
  return a.reduce((s, v) => s + (v - m) ** 2, 0) / Math.max(1, a.length - 1);
}
