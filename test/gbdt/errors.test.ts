import { describe, expect, it } from 'vitest';
import { isKilnError, type KilnErrorCode } from '../../src/core/errors.js';
import { Booster, train, type TrainInput } from '../../src/gbdt/index.js';

const x0 = Float32Array.of(1, 2, 3, 4, 5, 6);
const x1 = Float32Array.of(0, 1, 0, 1, 0, 1);
const y = Float32Array.of(0, 0, 1, 1, 0, 1);
const ok: TrainInput = { features: [x0, x1], label: y, featureNames: ['a', 'b'], params: { objective: 'binary:logistic', n_estimators: 2, nthread: 1 } };

async function failure(input: Partial<TrainInput>, code: KilnErrorCode = 'GBDT_DATA_INVALID'): Promise<Error> {
  try {
    await train({ ...ok, ...input });
  } catch (e) {
    expect(isKilnError(e, code), String(e)).toBe(true);
    return e as Error;
  }
  throw new Error('expected train() to fail');
}
const paramFailure = (input: Partial<TrainInput>): Promise<Error> => failure(input, 'GBDT_PARAM_INVALID');

describe('bad input gives an actionable KilnError', () => {
  it('NaN and infinite labels', async () => {
    expect((await failure({ label: Float32Array.of(0, 1, NaN, 1, 0, 1) })).message).toMatch(/label\[2\] is NaN; labels must be finite/);
    expect((await failure({ label: [0, 1, 0, Infinity, 0, 1] })).message).toMatch(/label\[3\] is Infinity/);
  });

  it('labels outside {0, 1} for binary:logistic, and out of range for multi:softprob', async () => {
    expect((await failure({ label: Float32Array.of(0, 1, 2, 1, 0, 1) })).message).toBe("label[2] = 2 but objective 'binary:logistic' needs labels 0 or 1");
    expect((await failure({ label: Float32Array.of(0, 1, 3, 1, 0, 1), params: { objective: 'multi:softprob', num_class: 3 } })).message).toMatch(/integer labels in \[0, 2\]/);
  });

  it('empty data and ragged columns', async () => {
    expect((await failure({ features: [], featureNames: [] })).message).toMatch(/features must be a non-empty array/);
    expect((await failure({ features: [new Float32Array(0)], featureNames: ['a'], label: [] })).message).toMatch(/has no rows/);
    expect((await failure({ features: [x0, x1.subarray(0, 5)] })).message).toMatch(/features\[1\] has 5 rows but features\[0\] has 6/);
    expect((await failure({ featureNames: ['a'] })).message).toMatch(/featureNames has 1 names but there are 2 feature columns/);
    expect((await failure({ label: Float32Array.of(0, 1) })).message).toMatch(/label has 2 values but the features have 6 rows/);
    expect((await failure({ features: [x0, [1, 2, 3, 4, 5, 6] as unknown as Float32Array] })).message).toMatch(/features\[1\] must be a Float32Array or Float64Array/);
  });

  it('feature values that are infinite, or bad category codes', async () => {
    expect((await failure({ features: [Float32Array.of(1, 2, Infinity, 4, 5, 6), x1] })).message).toMatch(/features 'a' row 2 is Infinity; feature values must be finite/);
    expect((await failure({ features: [x0, Float32Array.of(0, 1, 2.5, 1, 0, 1)], categorical: ['b'] })).message).toMatch(/'b' is categorical: values must be integer category codes/);
    expect((await paramFailure({ categorical: ['bb'] })).message).toMatch(/categorical lists 'bb', which is not a feature; did you mean 'b'\?/);
  });

  it('a monotone constraint on a categorical feature', async () => {
    const e = await paramFailure({ categorical: ['b'], params: { objective: 'binary:logistic', monotone_constraints: { b: 1 } } });
    expect(e.message).toMatch(/monotone_constraints sets 1 on 'b', which is categorical/);
    expect((await paramFailure({ params: { monotone_constraints: [1] } })).message).toMatch(/monotone_constraints has 1 entries but there are 2 features/);
  });

  it('unknown parameters get a did-you-mean; invalid values name the parameter, value and range', async () => {
    expect((await paramFailure({ params: { max_dept: 4 } as never })).message).toBe("unknown parameter 'max_dept'; did you mean 'max_depth'?");
    expect((await paramFailure({ params: { learning_rate: -1 } })).message).toBe("parameter 'learning_rate' = -1 is invalid: must be a number in (0, 1]");
    expect((await paramFailure({ params: { max_bin: 1 } })).message).toBe("parameter 'max_bin' = 1 is invalid: must be an integer in [2, 65536]");
    expect((await paramFailure({ params: { objective: 'binary:logstic' } as never })).message).toMatch(/parameter 'objective' = 'binary:logstic' is invalid: must be one of: binary:logistic, reg:squarederror/);
    const both = await paramFailure({ params: { max_dept: 4, subsample: 0 } as never });
    expect(both.message).toMatch(/did you mean 'max_depth'/);
    expect(both.message).toMatch(/parameter 'subsample' = 0 is invalid: must be a number in \(0, 1\]/);
    expect((await paramFailure({ params: { objective: 'multi:softprob' } })).message).toMatch(/needs num_class/);
    expect((await paramFailure({ params: { eval_metric: 'aucc' } })).message).toMatch(/eval_metric 'aucc' is unknown; did you mean 'auc'\?/);
    expect((await paramFailure({ params: { early_stopping_rounds: 3 } })).message).toMatch(/early_stopping_rounds = 3 needs a validation set/);
    expect((await paramFailure({ params: { eval_metric: 'mlogloss' } })).message).toMatch(/eval_metric 'mlogloss' does not apply to objective 'reg:squarederror'; it applies to multi:softprob/);
    expect((await paramFailure({ categorical: ['a'], params: { objective: 'binary:logistic', max_bin: 4, nthread: 1 } })).message)
      .toMatch(/categorical feature 'a' has 6 categories but max_bin = 4 allows 3 .*raise max_bin to at least 7/);
  });

  it('feature count or names that do not match the model at predict time', async () => {
    const b = await train(ok);
    const err = (f: () => unknown, code: KilnErrorCode = 'GBDT_DATA_INVALID'): Error => {
      try { f(); } catch (e) { expect(isKilnError(e, code), String(e)).toBe(true); return e as Error; }
      throw new Error('expected a failure');
    };
    expect(err(() => b.predict([x0])).message).toMatch(/got 1 feature columns but the model has 2 \(a, b\)/);
    expect(err(() => b.predict([x0, x1], { featureNames: ['a', 'c'] })).message).toMatch(/column 1 is 'c' but the model expects 'b'/);
    expect(err(() => b.predict({ a: x0, bb: x1 })).message).toMatch(/feature 'b' is missing from the input \(found 'bb'/);
    expect(err(() => b.predictRow([1, 2, 3])).message).toMatch(/row has 3 values but the model has 2 features/);
    expect(err(() => b.predict([x0, x1], { iterations: 5 }), 'INVALID_ARGUMENT').message).toMatch(/iterations = 5 is out of range: this model has 2 rounds/);
    expect(err(() => Booster.fromJSON({ ...b.toJSON(), format: 'kiln.gbdt@2' } as never), 'MODEL_FORMAT_TOO_NEW').message).toBe('model format kiln.gbdt@2 is newer than this kiln (reads @1); upgrade kiln to load it');
  });
});
