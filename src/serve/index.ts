/**
 * Serving: `kiln serve` (decisions in the request path with reason codes), the decision log, models
 * swapped while serving, and batch scoring by the same code. See docs/serving.md.
 */
export { loadLiveVersion } from './models/live.js';
export { fixedModelSet } from './models/fixed.js';
export { decidedBy, entityPoint } from './traffic.js';
export type {
  FeatureValue, LiveVersion, ChallengerMode, TrafficSpec, ModelRoute, ModelEvent, ModelStatus, ModelSet, VersionScore,
  DecisionRecord, Durability, DecisionLogStats, DecisionWriter,
} from './types.js';
export { scoreBatch, BATCH_CHUNK_ROWS, type ScoreBatchOptions, type ScoreBatchResult } from './batch.js';
