/**
 * `kiln/registry`: experiment runs (parameters, metrics, lineage, artifacts) and the model registry
 * (versions, aliases and their audit history). See docs/models.md.
 */
export {
  Tracker, Run, ModelRegistry, listRuns, getRun, compareRuns, aliasHistory, checkSignature,
  type RunStatus, type StartRunOptions, type LineageEntry, type RunSummary, type RunDetail, type RunComparison,
  type ModelSignature, type ModelVersion, type ModelSummary, type AuditEntry, type AliasInterval,
} from '../registry/index.js';
