import { describe, expect, it } from 'vitest';
import { generateCandidates, monthlyPsi, planKey, registryKeys, stateBytes, tilesFor, univariate, type AggregatePlan } from '../../src/discover/index.js';
import { loadFeatureRegistry } from '../../src/features/index.js';
import { Rng } from '../../src/core/rng.js';
import { DEMO_FEATURES, transactions } from '../../examples/demo/features.js';
import { DISCOVERED } from '../../examples/discover/discovered-transactions.js';

describe('discovery measures', () => {
  it('univariate: a perfect separator has AUC 1 whatever its direction, noise about 0.5, missing counted', () => {
    const x = Float64Array.from({ length: 200 }, (_, i) => i);
    const y = Float64Array.from({ length: 200 }, (_, i) => (i >= 160 ? 1 : 0));
    expect(univariate(x, y).auc).toBe(1);
    expect(univariate(Float64Array.from(x, (v) => -v), y).auc).toBe(1);
    const rng = new Rng(3, 0);
    const noise = Float64Array.from({ length: 4000 }, () => rng.uniform());
    const yn = Float64Array.from({ length: 4000 }, () => (rng.uniform() < 0.2 ? 1 : 0));
    const u = univariate(noise, yn);
    expect(u.auc).toBeLessThan(0.56);
    expect(u.iv).toBeLessThan(0.02);
    const withNaN = Float64Array.from(x, (v, i) => (i % 4 === 0 ? NaN : v));
    expect(univariate(withNaN, y).missing).toBeCloseTo(0.25, 10);
  });

  it('monthly PSI: the same distribution stays near zero above sampling noise, a shifted month does not', () => {
    const rng = new Rng(5, 0);
    const n = 6000;
    const t = Float64Array.from({ length: n }, (_, i) => Date.UTC(2024, Math.floor(i / 1000), 15));
    const v = Float64Array.from({ length: n }, (_, i) => rng.uniform() + (i >= 5000 ? 0.5 : 0));
    const ps = monthlyPsi(v.subarray(0, 3000), v, t);
    expect(ps.map((p) => p.month)).toEqual(['2024-01', '2024-02', '2024-03', '2024-04', '2024-05', '2024-06']);
    for (const p of ps.slice(0, 5)) expect(p.excess).toBeLessThan(0.02);
    expect(ps[5]!.excess).toBeGreaterThan(0.5);
  });

  it('online cost: more tiles for longer windows, distinct counts cost their values', () => {
    expect([1, 4, 30, 90, 365].map(tilesFor)).toEqual([1, 4, 7, 10, 14]);
    const p = (op: AggregatePlan['op'], window: string): AggregatePlan => ({ type: 'aggregate', name: 'x', op, column: 'amount', window, where: null });
    expect(stateBytes(p('sum', '30d'), 0.1)).toBe(8 * 7);
    expect(stateBytes(p('stddev', '30d'), 0.1)).toBe(8 * 3 * 7);
    expect(stateBytes(p('countDistinct', '90d'), 1)).toBe(8 * 2 * 90);
  });
});

describe('candidates', () => {
  const profile = { numeric: ['amount'], categorical: [{ column: 'category', values: ['gambling', 'grocery'] }], idLike: ['merchant_id'] };

  it('interleaves the families so a small budget samples each, with unique names', () => {
    const all = generateCandidates(transactions, profile);
    expect(new Set(all.map((c) => c.name)).size).toBe(all.length);
    expect(all.slice(0, 7).map((c) => c.family)).toEqual(['count', 'category', 'share', 'aggregate', 'recency', 'trend', 'distinct']);
    expect(all.map((c) => c.name)).toContain('transactions_share_90d_category_gambling');
    expect(all.map((c) => c.name)).toContain('transactions_amount_sum_trend_30d_90d');
  });

  it('gives a candidate and an equal hand-written feature the same meaning key', () => {
    const keys = registryKeys(loadFeatureRegistry(DEMO_FEATURES), 'transactions');
    const byName = new Map(generateCandidates(transactions, profile).map((c) => [c.name, planKey(c.plan)]));
    expect(keys.get('txn_count_30d')).toBe(byName.get('transactions_count_30d'));
    expect(keys.get('ticket_stddev_90d')).toBe(byName.get('transactions_amount_stddev_90d'));
    expect(keys.get('cash_advances_90d')).toBe(planKey({ type: 'aggregate', name: 'x', op: 'count', column: null, window: '90d', where: { column: 'category', value: 'cash_advance' } }));
    expect(keys.has('applications_365d')).toBe(false);
  });

  it('the committed example of a generated module type-checks (tsc covers examples/) and loads with the demo features', () => {
    const registry = loadFeatureRegistry([...DEMO_FEATURES, ...DISCOVERED]);
    for (const d of DISCOVERED) expect(registry.features.has(d.name)).toBe(true);
  });
});
