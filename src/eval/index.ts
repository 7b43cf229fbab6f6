/**
 * Evaluation of binary credit models. Conventions everywhere: `y` is 1 for default and 0 otherwise,
 * `score` is the predicted probability of default (higher = riskier), an applicant is approved when
 * score < cutoff, optional `weight` are sample weights (finite, >= 0), tied scores are handled as blocks
 * so no result depends on row order. Bad input throws `KilnError('EVAL_INPUT_INVALID')` naming the
 * argument. See docs/evaluation.md.
 * @example
 * import { auc, ks, calibrationTable, fitIsotonic } from '../eval/index.js';
 * auc(y, pd);                                   // 0.78
 * ks(y, pd).statistic;                          // 0.42
 * calibrationTable(y, pd, { bins: 10, strategy: 'quantile' });
 * const cal = fitIsotonic(validPd, validY);     // JSON.stringify(cal) → calibratorFromJson(...)
 */
export { auc, gini, ks, prAuc, type KsResult } from './ranking.js';
export { logLoss, brier, LOG_LOSS_EPS, type LogLossOptions } from './probability.js';
export { rocCurve, prCurve, approvalCurve, type RocCurve, type PrCurve, type CurveOptions, type RocCurveOptions, type ApprovalCurveOptions, type ApprovalPoint } from './curves.js';
export { calibrationTable, expectedCalibrationError, CALIBRATION_STRATEGIES, type CalibrationOptions, type CalibrationStrategy, type CalibrationBin, type CalibrationTable } from './calibration.js';
export { fitPlatt, fitIsotonic, calibratorFromJson, CALIBRATOR_FORMAT, type Calibrator, type CalibratorJson, type PlattParams, type PlattOptions, type IsotonicParams } from './calibrators.js';
export { liftTable, scoreDistribution, LIFT_TIES, type LiftOptions, type LiftTies, type LiftRow, type ScoreDistribution, type ScoreDistributionOptions } from './lift.js';
export { bySlice, SLICE_METRICS, SLICE_METRIC_NAMES, type SliceMetricName, type SliceRow } from './slices.js';
export { fairnessReport, FOUR_FIFTHS, type FairnessOptions, type FairnessReport, type FairnessGroupRow } from './fairness.js';
export { scorecardScaling, type ScalingParams, type ScorecardScaling } from './scaling.js';
export { reasonCodes, reasonCoder, REASON_DIRECTIONS, type ReasonCodeOptions, type ReasonCode, type ReasonDirection } from './reasons.js';
export type { WeightOption, GroupKey } from './validate.js';
export { groupFigures, topWithRest, describeInputs, originsFromFeatures, originsFromNames, familyName, DEFAULT_TOP, type InputOrigin, type DeclaredFeature, type GroupedFigure, type TopRows } from './groups.js';
