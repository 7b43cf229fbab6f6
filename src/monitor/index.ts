/**
 * Monitoring (issue 14): drift of a model's decisions against the reference profile of the version that
 * made them, data quality, alerts, realised performance as labels mature and label-free estimates
 * before they do. See docs/monitoring.md.
 */
export { WINDOW_SIZES, windowStart, nextWindow, windowLabel, parseWindowSize, windowsOf, type WindowSize, type WindowTraffic } from './windows.js';
export { windowDrift, type WindowDrift, type FeatureDrift, type DistributionTest, type ReferenceValues } from './drift-report.js';
export { alertsOfWindow, DEFAULT_THRESHOLDS, ALERT_KINDS, type AlertDraft, type AlertKind, type AlertSeverity, type AlertThresholds } from './alert-rules.js';
export { monitorStatus, monitorReport, modelDecisions, versionReference, type MonitorOptions, type MonitorStatus, type VersionReference } from './status.js';
export { renderMonitorReport, driftHeatMap, type ReportPart } from './report.js';
export { realisedPerformance, outcomeSource, readOutcomes, decisionOutcome, type RealisedPerformance, type OutcomeSource, type CohortEstimate, type DecisionOutcome } from './realised.js';
export { joinOutcomes, labelAsOf, cohortPerformance, vintageCurves, cbpe, densityRatioWeights, shiftAwareEstimate, type CohortPerformance, type VintageCurve, type JoinedDecision, type Outcome, type ScoredDecision } from './performance/index.js';
export { psi, psiBand, PSI_BANDS, referenceBins, binCounts, ks2, wasserstein, normalizedWasserstein, jensenShannon, chiSquared, driftTest, categoricalDriftTest, type NumericBins, type CategoryBins, type PsiBand } from './drift/index.js';
export { AlertStore, type AlertSummary, type StoredAlert } from './alerts.js';
