/**
 * `kiln/online`: the online feature store. Open it on a project, materialise, push events, read features
 * at request time (equal to the offline training set at the same time). See docs/online.md.
 * @example
 * import { openOnlineStore } from 'kiln/online';
 * const online = await openOnlineStore(project, { backend: 'redis' });
 */
export {
  openOnlineStore, materialize, onlineSettings, OnlineFeatureStore, DEFAULT_REDIS_URL,
  type OpenOnlineOptions, type OnlineSettings, type OnlineFeatureStoreOptions, type ReadOptions, type EntityId, type OnlineRow,
  type OnlineLookup, type PushSummary, type PushAllOptions, type PushBatch, type PushTotals, type PushTarget,
  type MaterializeOptions, type MaterializeSummary, type OnlineBackendName,
} from '../online/index.js';
