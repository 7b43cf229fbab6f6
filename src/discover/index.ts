/**
 * Signal discovery: candidate features over a source, computed point in time on a model's spine, ranked
 * by added validation AUC, information value, stability and online cost, with leaks rejected; written out
 * as typed definitions and an HTML report. See docs/discover.md.
 * @example
 * import { discoverFeatures, discoveredModule, discoverReport } from '../discover/index.js';
 * const result = await discoverFeatures(project, { source: 'transactions', model: 'credit', budget: 60 });
 */
export { discoverFeatures, LEAK_AUC, LEAK_MARGIN, UNSTABLE_PSI, type DiscoverOptions, type DiscoverResult, type CandidateResult, type CandidateStatus } from './discover.js';
export { generateCandidates, classifyColumns, planKey, planInputs, WINDOW_LADDER, AGG_OPS, FAMILIES, type Candidate, type CandidateFamily, type Plan, type AggregatePlan, type RatioPlan, type ColumnProfile } from './candidates.js';
export { planDefinitions, registryKeys } from './definitions.js';
export { profileSource, MAX_BUCKET_VALUES, type SourceProfile } from './profile.js';
export { univariate, monthlyPsi, monthOf, WOE_SMOOTHING, MIN_MONTH_ROWS, type Univariate } from './stats.js';
export { stateBytes, tilesFor } from './cost.js';
export { validAuc, fastParams } from './gain.js';
export { discoveredModule } from './emit.js';
export { discoverReport, psiSparkline } from './report.js';
