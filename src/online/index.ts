/**
 * The online half of the feature store: the same feature definitions, fresh. Tiles of aggregator states
 * per (entity, source), pushes that update them, reads at request time that equal the offline training
 * set at the same time, over an embedded (SQLite) or a Redis backend. See docs/online.md.
 */
import { join } from 'node:path';
import { KilnError } from '../core/errors.js';
import type { Project } from '../store/index.js';
import { EmbeddedOnlineStore } from './embedded.js';
import { OnlineFeatureStore, type OnlineFeatureStoreOptions } from './engine.js';
import { materialize as materializeInto, type MaterializeOptions, type MaterializeSummary } from './materialize.js';
import { RedisOnlineStore } from './redis.js';
import type { OnlineStore } from './types.js';

export { OnlineFeatureStore, type OnlineFeatureStoreOptions, type ReadOptions, type EntityId, type OnlineRow, type PushSummary } from './engine.js';
export { EmbeddedOnlineStore, type EmbeddedOptions } from './embedded.js';
export { RedisOnlineStore, DEFAULT_REDIS_URL, type RedisStoreOptions } from './redis.js';
export { type MaterializeOptions, type MaterializeSummary } from './materialize.js';
export { type PushTarget, type ValidateOptions } from './events.js';
export { buildPlan, ONLINE_FORMAT, type OnlinePlan, type SourcePlan } from './plan.js';
export { isoMicros, parseTime } from './time.js';
export type {
  OnlineStore, OnlineStoreCapabilities, RawEvent, SeriesData, SeriesKey, SeriesMeta, SeriesRequest, SeriesWrite, Tile, TileRange, TimeRange,
} from './types.js';
export { TILE_LEVELS, HOUR_US, DAY_US } from './types.js';

export interface OpenOnlineOptions extends OnlineFeatureStoreOptions {
  /** Default: $KILN_ONLINE_BACKEND, else 'embedded'. */
  readonly backend?: string;
  /** Redis only; default $KILN_REDIS_URL, else redis://127.0.0.1:6379. */
  readonly redisUrl?: string;
  /** Redis only; default `kiln:<project name>:`. */
  readonly prefix?: string;
  /** Definitions to use instead of the project config's `features`. */
  readonly definitions?: readonly unknown[];
}

/** The backends, by name: what `--backend` accepts. */
export const ONLINE_BACKENDS = {
  embedded: (project: Project): OnlineStore => EmbeddedOnlineStore.open(join(project.paths.dataDir, 'online.sqlite')),
  redis: (project: Project, opts: OpenOnlineOptions): Promise<OnlineStore> =>
    RedisOnlineStore.connect({ prefix: opts.prefix ?? `kiln:${project.config.name}:`, ...(opts.redisUrl ? { url: opts.redisUrl } : {}) }),
} as const satisfies Record<string, (project: Project, opts: OpenOnlineOptions) => OnlineStore | Promise<OnlineStore>>;
export type OnlineBackendName = keyof typeof ONLINE_BACKENDS;

/**
 * Opens the project's online store.
 * @example const online = await openOnlineStore(project, { backend: 'redis' }); const rows = await online.getOnlineFeatures([42]);
 */
export async function openOnlineStore(project: Project, opts: OpenOnlineOptions = {}): Promise<OnlineFeatureStore> {
  const name = opts.backend ?? process.env.KILN_ONLINE_BACKEND ?? 'embedded';
  if (!Object.hasOwn(ONLINE_BACKENDS, name)) {
    throw new KilnError('INVALID_ARGUMENT', `online backend '${name}' is unknown; use one of: ${Object.keys(ONLINE_BACKENDS).join(', ')}`);
  }
  const backend = await ONLINE_BACKENDS[name as OnlineBackendName](project, opts);
  try {
    return await OnlineFeatureStore.open(backend, opts.definitions ?? project.config.features, opts);
  } catch (e) {
    await backend.close();
    throw e;
  }
}

/**
 * Computes the current state of every entity into the online store (tiles, not just values), from the
 * offline store as of `asOf` (default now). Opens and closes the store unless one is given.
 * @example await materialize(project, { features: 'credit_v1' });
 */
export async function materialize(project: Project, opts: MaterializeOptions & OpenOnlineOptions & { readonly store?: OnlineFeatureStore } = {}): Promise<MaterializeSummary> {
  const online = opts.store ?? (await openOnlineStore(project, opts));
  try {
    return await materializeInto(project, online, opts);
  } finally {
    if (!opts.store) await online.close();
  }
}
