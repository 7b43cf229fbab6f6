import { freezeSpec, metaOf } from './define.js';
import type { DefinitionMeta, FeatureSetSpec } from './spec.js';
import type { AnyFeatureDef, FeatureSetDef } from './types.js';

/**
 * A named list of features: what a training set or a model reads. `InferFeatures<typeof set>` is its row type.
 * @example const creditV1 = featureSet('credit_v1', [spend30d, txnCount30d, spendToIncome]);
 */
export function featureSet<const N extends string, const F extends readonly AnyFeatureDef[]>(name: N, features: F, opts: DefinitionMeta = {}): FeatureSetDef<N, F> {
  const spec: FeatureSetSpec = { kind: 'featureSet', name, features: features.map((f) => f?.name), meta: metaOf(opts) };
  return freezeSpec(spec) as FeatureSetDef<N, F>;
}
