import { describe, expect, it } from 'vitest';
import { ModelSpecSchema } from '../../src/config/index.js';
import { DEMO_FEATURES, DEMO_REASONS, DEMO_REASON_GROUPS } from '../../examples/demo/features.js';
import { loadFeatureRegistry, resolveSelection } from '../../src/features/index.js';
import { reasonUnits, type InputColumn } from '../../src/pipelines/index.js';

describe('the demo credit model', () => {
  it('declares a reason text for every reason it can give, and none for reasons it cannot', () => {
    const registry = loadFeatureRegistry(DEMO_FEATURES as unknown as unknown[]);
    const { features } = resolveSelection(registry, 'credit_v1');
    // Every scalar output column of credit_v1 (what training takes as inputs), by its feature.
    const inputs = features.flatMap((f) => f.outputs.map((o) => ({ name: o.column, feature: f.name }) as InputColumn));
    const spec = ModelSpecSchema.parse({
      spine: { table: 'loan_labels', timestamp: 'funded_at' }, label: { column: 'default_12m' }, features: 'credit_v1',
      split: { validFrom: '2024-07-01', testFrom: '2024-10-01', testTo: '2025-01-01' }, reasons: DEMO_REASONS, reasonGroups: DEMO_REASON_GROUPS,
    });
    const { units, missing } = reasonUnits(spec, inputs);
    expect(missing).toEqual([]);
    expect(units.length).toBeGreaterThan(25);
    expect(Object.keys(DEMO_REASONS).filter((k) => !units.includes(k))).toEqual([]);
  });
});
