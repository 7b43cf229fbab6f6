/**
 * Model performance in production: realised performance as labels mature (decisions joined to outcomes,
 * cohorts by decision month with their maturity, vintage curves), and estimates before labels come in
 * (CBPE from calibrated scores; a shift-aware estimate that reweights the labelled reference to the
 * current inputs by a classifier's density ratio). See docs/monitoring.md.
 * @example
 * import { joinOutcomes, cohortPerformance, cbpe, densityRatioWeights, shiftAwareEstimate } from './performance/index.js';
 * const rows = joinOutcomes(decisions, outcomes);                 // each decision with its loan, or null
 * cohortPerformance(rows, { asOf: Date.now() });                  // per month: maturity, AUC, KS, ECE, CBPE
 * cbpe(currentPd);                                                // { auc, ks, badRate } before any label
 * const { weights } = await densityRatioWeights(refColumns, curColumns, { seed: 1 });
 * shiftAwareEstimate({ label: refY, pd: refPd }, weights);        // { auc, ks, badRate, expectedBadRate, ... }
 */
export { joinOutcomes, DEFAULT_MAX_LAG_MS, type ScoredDecision, type Outcome, type JoinedDecision, type JoinOptions } from './join.js';
export { cohortPerformance, vintageCurves, labelAsOf, monthOf, addMonthsUtc, type CohortPerformance, type CohortOptions, type VintageCurve, type VintagePoint, type VintageOptions } from './cohorts.js';
export { cbpe, type CbpeEstimate } from './cbpe.js';
export { densityRatioWeights, shiftAwareEstimate, type DensityRatio, type DensityRatioOptions, type ShiftAwareEstimate } from './shift.js';
