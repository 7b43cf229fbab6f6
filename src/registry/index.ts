export { Tracker, Run, type RunStatus, type StartRunOptions, type LineageEntry } from './tracking.js';
export { searchRuns, parseMetricFilter, metricKeys, experimentNames, type RunSearch, type RunSearchResult, type MetricFilter } from './runs-search.js';
export { listRuns, getRun, compareRuns, type RunSummary, type RunDetail, type RunComparison } from './runs.js';
export { ModelRegistry, type ModelSignature, type ModelVersion, type ModelSummary, type AuditEntry } from './models.js';
export { aliasHistory, type AliasInterval } from './history.js';
export { checkSignature, describeSignature } from './signature.js';
export { currentActor, gitCommit } from './context.js';
export { EmbeddingRegistry, knownFrom, type EmbeddingAuditEntry, type EmbeddingLineage, type EmbeddingSpaceSummary, type EmbeddingVersion } from './embeddings.js';
