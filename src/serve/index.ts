/**
 * Serving: `kiln serve` (decisions in the request path with reason codes), the decision log, models
 * swapped while serving, and batch scoring by the same code. See docs/serving.md.
 */
export { loadLiveVersion, openLiveVersion, gbdtBundle, requestInputs, retireLive, kindText } from './models/live.js';
export { REASONS_UNAVAILABLE } from './sequence.js';
export { CUTOFF_UNAVAILABLE, OnnxScorer, type OnnxSmoke } from './onnx.js';
export { openModelSet, type ModelSetOptions } from './models/set.js';
export { validateLive, servedFeatures, SMOKE_TOLERANCE, type ServedFeature, type ValidationResult } from './models/validate.js';
export { checkTraffic, refModel } from './models/spec.js';
export { fixedModelSet } from './models/fixed.js';
export { decidedBy, entityPoint } from './traffic.js';
export type {
  FeatureValue, InputValue, SequenceEvent, SequenceValue, LiveVersion, GbdtLiveVersion, SequenceLiveVersion, FusedLiveVersion, OnnxLiveVersion, ChallengerMode, TrafficSpec, ModelRoute, ModelEvent, ModelStatus, ModelSet, VersionScore,
  DecisionRecord, Durability, DecisionLogStats, DecisionWriter,
} from './types.js';
export {
  newDecisionId, decisionIdAt, decisionIdTime, decisionIdFloor, DECISION_ID_RE, openDecisionLog, readDecisions, getDecision, decisionLogDir, decisionLogOf,
} from './decisions/index.js';
export type { DecisionLog, DecisionLogOptions, DecisionLogRef, ReadDecisionsOptions, TimeBound, TornLine, WriterLockInfo } from './decisions/index.js';
// The HTTP server (http/), its settings and API keys.
export { createServer, startServer, checkBinding, closeOnSignals, openApiDocument, type ServerOptions, type KilnServer, type StartDeps, type RunningServer } from './http/index.js';
export { serveSettings, SERVE_DEFAULTS, type ServeSettings, type ServeFlags } from './settings.js';
export { ApiKeys, hashApiKey, newApiKey, parseEnvApiKeys, isLoopback, type ApiKeyEntry, type Caller } from './auth.js';
export { openEmbeddingSet, defaultEmbeddingRefs, noEmbeddings, listOverlap, registerEmbeddingRoutes } from './spaces/index.js';
export type { EmbeddingSet, EmbeddingSetOptions, EmbeddingSpaceStatus, EmbeddingEvent, ServedVersion } from './spaces/index.js';
/** Re-scores a logged decision with the version that made it (`POST /v1/decisions/:id/replay`, the web UI). */
export { replay } from './predict.js';
export { scoreBatch, BATCH_CHUNK_ROWS, type ScoreBatchOptions, type ScoreBatchResult } from './batch.js';
export { modelInputs } from './batch-input.js';
