import type { OfflineStore } from '../../src/store/offline.js';
import { AGE_BANDS, EMPLOYMENT_TYPES, REGIONS } from '../../src/sim/schema.js';

/** One matured loan with its label, static borrower attributes and pre-funding behaviour features. */
export interface LoanFeatures {
  loanId: number;
  y: number;
  static: number[];
  behaviour: number[];
  creditworthiness: number;
}

/**
 * Loans whose 12-month label window closed within the horizon (an unbiased cohort), with static
 * attributes from `borrowers` and behaviour from the transactions in the 90 days strictly before funding.
 */
export async function loanFeatures(store: OfflineStore, horizonEnd: string, window: 'before' | 'leaky-after' = 'before'): Promise<LoanFeatures[]> {
  // 'leaky-after' uses the 90 days after funding: information not available at decision time.
  const on = window === 'before'
    ? 't.ts < ll.funded_at AND t.ts >= ll.funded_at - INTERVAL 90 DAY'
    : 't.ts >= ll.funded_at AND t.ts < ll.funded_at + INTERVAL 90 DAY';
  const rows = await store.all<Record<string, number | string>>(`
    WITH ll AS (
      SELECT loan_id, borrower_id, funded_at, default_12m::INT AS y FROM loan_labels
      WHERE funded_at + INTERVAL 12 MONTH <= TIMESTAMP '${horizonEnd}'
    ), beh AS (
      SELECT ll.loan_id,
        count(t.txn_id) AS n,
        coalesce(sum(t.amount), 0) AS spend,
        coalesce(avg((t.category = 'gambling')::INT), 0) AS gamb,
        coalesce(avg((t.category = 'cash_advance')::INT), 0) AS cash,
        coalesce(avg((hour(t.ts) < 5)::INT), 0) AS night,
        coalesce(stddev_samp(ln(t.amount)), 0) AS vol
      FROM ll LEFT JOIN transactions t
        ON t.borrower_id = ll.borrower_id AND ${on}
      GROUP BY ll.loan_id
    )
    SELECT ll.loan_id, ll.y, b.income, b.age_band::VARCHAR AS age, b.region::VARCHAR AS region,
      b.employment_type::VARCHAR AS emp, b.employment_tenure_months AS tenure,
      beh.n, beh.spend, beh.gamb, beh.cash, beh.night, beh.vol, lat.creditworthiness AS z
    FROM ll JOIN borrowers b USING (borrower_id) JOIN beh USING (loan_id)
      JOIN borrower_latents lat USING (borrower_id)
    ORDER BY ll.loan_id`);
  const oneHot = (vocab: readonly string[], v: string): number[] => vocab.slice(1).map((c) => (c === v ? 1 : 0));
  return rows.map((r) => {
    const income = Number(r.income);
    return {
      loanId: Number(r.loan_id),
      y: Number(r.y),
      static: [
        Math.log(income), Number(r.tenure),
        ...oneHot(AGE_BANDS, String(r.age)), ...oneHot(EMPLOYMENT_TYPES, String(r.emp)), ...oneHot(REGIONS, String(r.region)),
      ],
      behaviour: [
        Number(r.gamb), Number(r.cash), Number(r.night), Math.log1p((Number(r.spend) * 4) / income),
        Math.log1p(Number(r.n)), Number(r.vol),
      ],
      creditworthiness: Number(r.z),
    };
  });
}
