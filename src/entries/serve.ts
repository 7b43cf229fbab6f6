/**
 * `kiln/serve`: what `kiln serve`, `kiln score` and `kiln decisions` do, from code: open the served
 * models (registry-backed, hot-swapped, with challengers), the decision log and its readers, start the
 * HTTP server (with the embedding spaces it serves), score in batch with the same code. See docs/serving.md.
 * @example
 * import { openModelSet, openDecisionLog, decisionLogDir, startServer, serveSettings } from 'kiln/serve';
 * const settings = serveSettings(project, { models: 'credit@champion' });
 * const models = await openModelSet(project, settings.models);
 * const decisions = await openDecisionLog(decisionLogDir(project.paths.dataDir));
 * await startServer(project, settings, { models, decisions, online });
 */
export {
  openModelSet, loadLiveVersion, validateLive, servedFeatures, fixedModelSet, decidedBy,
  openDecisionLog, readDecisions, getDecision, decisionLogDir, decisionLogOf, newDecisionId,
  createServer, startServer, serveSettings, openEmbeddingSet, defaultEmbeddingRefs, hashApiKey, newApiKey, openApiDocument, scoreBatch,
  type ModelSetOptions, type ServedFeature, type ValidationResult, type DecisionLog, type DecisionLogOptions, type ReadDecisionsOptions,
  type ServerOptions, type KilnServer, type StartDeps, type RunningServer, type ServeSettings, type ServeFlags, type ApiKeyEntry,
  type ScoreBatchOptions, type ScoreBatchResult, type EmbeddingSet, type EmbeddingSetOptions, type EmbeddingSpaceStatus, type EmbeddingEvent, type ServedVersion,
  type FeatureValue, type LiveVersion, type ChallengerMode, type TrafficSpec, type ModelRoute, type ModelEvent, type ModelStatus, type ModelSet,
  type VersionScore, type DecisionRecord, type Durability, type DecisionLogStats, type DecisionWriter,
} from '../serve/index.js';
