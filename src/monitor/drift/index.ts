/**
 * Drift and data-quality statistics of the monitoring stage: reference bins saved with a model version
 * (decile bins of numeric features, category frequencies), distances and tests between a reference and
 * a window of the decision log (PSI/CSI, KS, Wasserstein, Jensen-Shannon, chi-squared, Evidently's
 * default drift rule), and data-quality checks (null spikes, out-of-range values, volume, schema).
 * Every statistic matches scipy/numpy on the fixtures of test/monitor/fixtures/.
 */
export { binCounts, categoryCounts, referenceBins, referenceCategories, type CategoryBins, type NumericBins } from './bins.js';
export {
  chiSquared, jensenShannon, normalizedWasserstein, psi, psiBand, wasserstein,
  PSI_BANDS, PSI_EPSILON, WASSERSTEIN_MIN_STD, type PsiBand,
} from './stats.js';
export { ks2, KS_EXACT_MAX_N, type KsMethod, type KsResult } from './ks.js';
export { kolmogorovSf } from './kolmogorov.js';
export { chi2Sf, gammaP, gammaQ } from './gamma.js';
export {
  categoricalDriftTest, driftTest, DRIFT_DISTANCE, DRIFT_P_VALUE, DRIFT_TEST_MAX_ROWS,
  type CategoricalDriftOptions, type CategoricalDriftResult, type DriftTestOptions, type DriftTestResult,
} from './decide.js';
export {
  nullSpike, outOfRange, schemaChanges, volumeAnomaly,
  type Column, type NullSpikeOptions, type VolumeOptions, type VolumeResult,
} from './quality.js';
