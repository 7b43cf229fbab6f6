/** The online plan: what shares a state slot and what needs its own finisher. */
import { describe, expect, it } from 'vitest';
import { entity, eventSource, loadFeatureRegistry, percentile, sum, timeSinceLast } from '../../src/features/index.js';
import { buildPlan } from '../../src/online/index.js';

const user = entity('user', { key: 'user_id' });
const pay = eventSource('pay', { entity: user, timestamp: 'ts', columns: { amount: 'double' } });

describe('online plan', () => {
  it('keeps one state for features that differ only in finish-only parameters (percentile p, time unit)', () => {
    const defs = [
      user, pay,
      percentile(pay, 'amount', { name: 'p50_30d', window: '30d', p: 0.5 }), percentile(pay, 'amount', { name: 'p90_30d', window: '30d', p: 0.9 }),
      percentile(pay, 'amount', { name: 'p90_90d', window: '90d', p: 0.9 }),
      timeSinceLast(pay, { name: 'hours_since', unit: 'h' }), timeSinceLast(pay, { name: 'days_since', unit: 'd' }),
      sum(pay, 'amount', { name: 'spend_30d', window: '30d' }),
    ];
    const plan = buildPlan(loadFeatureRegistry(defs));
    const sp = plan.sources.get('pay')!;
    const ops = sp.slots.map((s) => (JSON.parse(s.key) as { op: string }).op).sort();
    expect(ops).toEqual(['percentile', 'sum', 'timeSinceLast']);
    const ref = (c: string) => plan.outputs.get(c)!;
    expect(ref('p50_30d').slot).toBe(ref('p90_90d').slot);
    expect(new Set(['p50_30d', 'p90_30d', 'p90_90d'].map((c) => ref(c).view)).size).toBe(2); // p90 over 30d and 90d: one finisher
    expect(ref('hours_since').slot).toBe(ref('days_since').slot);
    expect(ref('hours_since').view).not.toBe(ref('days_since').view);
    expect(sp.views[ref('p90_30d').view]!.slot).toBe(ref('p90_30d').slot);
  });
});
