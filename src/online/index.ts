/**
 * The online half of the feature store: the same feature definitions, fresh. Tiles of aggregator states
 * per (entity, source), pushes that update them, reads at request time that equal the offline training
 * set at the same time, over an embedded (SQLite) or a Redis backend. See docs/online.md.
 */
import { join } from 'node:path';
import type { OnlineBackendName } from '../config/index.js';
import { KilnError } from '../core/errors.js';
import type { Project } from '../store/index.js';
import { EmbeddedOnlineStore } from './backends/embedded.js';
import { OnlineFeatureStore, type OnlineFeatureStoreOptions } from './store.js';
import { materialize as materializeInto, type MaterializeOptions, type MaterializeSummary } from './materialize.js';
import { DEFAULT_REDIS_URL, RedisOnlineStore } from './backends/redis.js';
import type { OnlineStore } from './types.js';

export { OnlineFeatureStore, type OnlineFeatureStoreOptions, type ReadOptions, type EntityId, type OnlineRow, type OnlineLookup, type PushSummary } from './store.js';
export { type PushAllOptions, type PushBatch, type PushTotals, type KeyConflict } from './push.js';
export { EmbeddedOnlineStore, MAX_SERIES_IN_MEMORY, type EmbeddedOptions } from './backends/embedded.js';
export { RedisOnlineStore, DEFAULT_REDIS_URL, type RedisStoreOptions } from './backends/redis.js';
export { materializeSlice, type MaterializeOptions, type MaterializeSummary } from './materialize.js';
export { MANIFEST_FEATURES, MANIFEST_FORMAT, MANIFEST_MATERIALIZED, type MaterializationRecord } from './manifest.js';
export { type PushTarget, type ValidateOptions } from './events.js';
export { buildPlan, ONLINE_FORMAT, type OnlinePlan, type SourcePlan } from './engine/plan.js';
export { isoMicros, parseTime } from './engine/time.js';
export type {
  OnlineStore, OnlineStoreCapabilities, RawEvent, SeriesData, SeriesKey, SeriesMeta, SeriesRequest, SeriesWrite, Tile, TileRange, TimeRange,
} from './types.js';
export { TILE_LEVELS, HOUR_US, DAY_US } from './types.js';
export type { OnlineBackendName } from '../config/index.js';

export interface OpenOnlineOptions extends OnlineFeatureStoreOptions {
  /** Default: $KILN_ONLINE_BACKEND, else the config's `online.backend`, else 'embedded'. */
  readonly backend?: string;
  /** Redis only; default $KILN_REDIS_URL, else `online.redisUrl`, else redis://127.0.0.1:6379. */
  readonly redisUrl?: string;
  /** Redis only; default `online.keyPrefix`, else `kiln:<project name>:`. */
  readonly prefix?: string;
  /** Definitions to use instead of the project config's `features`. */
  readonly definitions?: readonly unknown[];
  /** Embedded only; default `online.maxSeriesInMemory`, else 10,000 (see `EmbeddedOptions`). */
  readonly maxSeriesInMemory?: number;
}

/** Where and how the store opens, once options, environment, config and defaults are weighed. */
export interface OnlineSettings {
  readonly backend: string;
  readonly redisUrl: string;
  readonly prefix: string;
  /** Embedded only: undefined for the backend's default. */
  readonly maxSeriesInMemory: number | undefined;
  readonly engine: OnlineFeatureStoreOptions;
}

/** The backends, by name: what `--backend` accepts. */
export const ONLINE_BACKENDS = {
  embedded: (project: Project, s: OnlineSettings): OnlineStore => EmbeddedOnlineStore.open(join(project.paths.dataDir, 'online.sqlite'), s.maxSeriesInMemory === undefined ? {} : { maxSeriesInMemory: s.maxSeriesInMemory }),
  redis: (_project: Project, s: OnlineSettings): Promise<OnlineStore> => RedisOnlineStore.connect({ url: s.redisUrl, prefix: s.prefix }),
} as const satisfies Record<OnlineBackendName, (project: Project, s: OnlineSettings) => OnlineStore | Promise<OnlineStore>>;

/**
 * The settings `openOnlineStore` uses: an explicit option, then (backend and Redis URL) the environment,
 * then the config's `online` section, then the built-in default. An empty environment variable counts as unset.
 */
export function onlineSettings(project: Project, opts: OpenOnlineOptions = {}, env: NodeJS.ProcessEnv = process.env): OnlineSettings {
  const cfg = project.config.online;
  const engine: OnlineFeatureStoreOptions = {
    features: opts.features ?? cfg?.features,
    retentionMarginMs: opts.retentionMarginMs ?? cfg?.retentionMarginMs,
    cacheSeries: opts.cacheSeries ?? cfg?.cacheSeries,
    denseDay: opts.denseDay ?? cfg?.denseDay,
    eventKeys: opts.eventKeys ?? tableKeys(project),
  };
  return {
    backend: opts.backend ?? (env.KILN_ONLINE_BACKEND || undefined) ?? cfg?.backend ?? 'embedded',
    redisUrl: opts.redisUrl ?? (env.KILN_REDIS_URL || undefined) ?? cfg?.redisUrl ?? DEFAULT_REDIS_URL,
    prefix: opts.prefix ?? cfg?.keyPrefix ?? `kiln:${project.config.name}:`,
    maxSeriesInMemory: opts.maxSeriesInMemory ?? cfg?.maxSeriesInMemory,
    engine,
  };
}

/** The declared key of every table that has one (`tables.<t>.key`): pushed events are deduplicated by it. */
function tableKeys(project: Project): Record<string, string> | undefined {
  const keyed = Object.entries(project.config.tables ?? {}).flatMap(([t, spec]) => (spec.key ? [[t, spec.key] as const] : []));
  return keyed.length ? Object.fromEntries(keyed) : undefined;
}

/**
 * Opens the project's online store, configured by `onlineSettings`.
 * @example const online = await openOnlineStore(project, { backend: 'redis' }); const rows = await online.getOnlineFeatures([42]);
 */
export async function openOnlineStore(project: Project, opts: OpenOnlineOptions = {}): Promise<OnlineFeatureStore> {
  const settings = onlineSettings(project, opts);
  if (!Object.hasOwn(ONLINE_BACKENDS, settings.backend)) {
    throw new KilnError('INVALID_ARGUMENT', `online backend '${settings.backend}' is unknown; use one of: ${Object.keys(ONLINE_BACKENDS).join(', ')}`);
  }
  const backend = await ONLINE_BACKENDS[settings.backend as OnlineBackendName](project, settings);
  try {
    return await OnlineFeatureStore.open(backend, opts.definitions ?? project.config.features, settings.engine);
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
