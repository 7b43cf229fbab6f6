/** The online feature store's options and results (see store.ts). */
export interface OnlineFeatureStoreOptions {
  /** The features the store serves: a set, or names (default: what was materialised last, else every feature). */
  readonly features?: string | readonly string[];
  /** Raw events are kept this long beyond the longest window, for exact reads slightly in the past (default one day). */
  readonly retentionMarginMs?: number;
  /** Series whose partial aggregates are cached in this process (default 10,000; 0 turns the cache off). */
  readonly cacheSeries?: number;
  /**
   * A day's on-time events from which its tile holds aggregator states (default 4); sparser days keep a
   * count and are read from their raw events. Values agree for any setting; it trades memory for merges.
   */
  readonly denseDay?: number;
  /**
   * Event keys by table: pushed events of the sources reading the table are deduplicated by this column
   * (see push.ts). `openOnlineStore` takes them from the config's `tables.<t>.key`.
   */
  readonly eventKeys?: Readonly<Record<string, string>>;
}

export interface ReadOptions {
  /** The time the values are for: epoch ms, a Date or ISO 8601 in UTC (default: now). */
  readonly asOf?: number | string | Date;
  /** 'strict' (default): events strictly before asOf, available before it; 'inclusive': at or before. */
  readonly eventTimeBound?: 'strict' | 'inclusive';
}

export type EntityId = string | number;
/** One entity's values: its key column, then one column per selected feature (per bucket when bucketed). */
export type OnlineRow = Record<string, unknown>;

export interface PushSummary {
  /** Events written (an event feeding two sources of one table counts twice). */
  readonly events: number;
  /** Events skipped as already stored: same event key, same content (sources with an event key only). */
  readonly duplicates: number;
  /** Rows that count for no target source (NULL key or time, as offline). */
  readonly skipped: number;
  readonly series: number;
  readonly seconds: number;
}

/** One entity of a `lookup`: its row, and whether the online store has ever stored anything for it. */
export interface OnlineLookup {
  readonly entity: EntityId;
  /** True when any served source has stored an event or a materialised value for the entity. */
  readonly known: boolean;
  /** The served sources that have (empty when unknown). */
  readonly sources: readonly string[];
  /** As `getOnlineFeatures` gives it: for an unknown entity, the values of an entity without events. */
  readonly row: OnlineRow;
}
