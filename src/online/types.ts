/**
 * The online store's data model and the narrow, batch-first interface every backend implements. Shared
 * logic (tiling, merging, finishing, derived features) lives above this interface, once; a backend only
 * stores and returns series data.
 *
 * A *series* is one (entity, source). It holds:
 * - `tiles`: aggregator states per tile (day tiles, or stubs for sparse days; sealed 16-day tiles; all
 *   epoch-aligned), one state per slot of the source's plan, of the series' on-time events (`RawEvent.late`);
 * - `raw`: the events themselves (on-time and late) back to `meta.rawFrom`, for the exact window edges;
 * - `late`: the late events again, indexed by event time, folded one by one at read time;
 * - `base`: one state per slot of every event older than `meta.rawFrom` (lifetime features).
 */
import type { Scalar } from '../features/index.js';

export const SECOND_US = 1_000_000;
export const MINUTE_US = 60 * SECOND_US;
export const HOUR_US = 60 * MINUTE_US;
export const DAY_US = 24 * HOUR_US;
/**
 * Tile widths, finest first; each divides the next, so a coarse tile's edges are fine-tile edges. The
 * first level is updated by every push; the others are sealed from it once their period is over.
 */
export const TILE_LEVELS: readonly number[] = [DAY_US, 4 * DAY_US, 16 * DAY_US, 64 * DAY_US];

/** Which series: entity keys are kept as text (42 and '42' are one entity). */
export interface SeriesKey {
  readonly source: string;
  readonly entity: string;
}

/** One pushed event, normalised: times in epoch µs, only the columns the source's plan reads. */
export interface RawEvent {
  /** Unique id (events may repeat exactly; both count, as rows of a table do). */
  readonly id: string;
  /** Event time. */
  readonly time: number;
  /** Effective time: when the event becomes visible, max(time, availableAt). */
  readonly visibleAt: number;
  /** 1 when late: not visible by the end of its own hour, so it is kept out of tiles (see evaluate.ts). */
  readonly late: 0 | 1;
  readonly values: Readonly<Record<string, Scalar>>;
}

/**
 * Events are built by a class, not a literal, from every site (pushes, the codec's decoders): one shape,
 * never pretenured (see docs/performance-notes.md). Stored under short names by codec.ts only.
 */
class RawEventRecord implements RawEvent {
  constructor(readonly id: string, readonly time: number, readonly visibleAt: number, readonly late: 0 | 1, readonly values: Readonly<Record<string, Scalar>>) {}
}

export function rawEvent(id: string, time: number, visibleAt: number, late: 0 | 1, values: Readonly<Record<string, Scalar>>): RawEvent {
  return new RawEventRecord(id, time, visibleAt, late, values);
}

/** Aggregator states of one tile (or of the base), indexed by the source plan's slots. */
export interface Tile {
  /**
   * One state per slot (null: the slot saw no event here). Null for a stub: a day with fewer than
   * DENSE_DAY on-time events keeps only its count, and readers fold its raw events instead.
   */
  states: unknown[] | null;
  /** Events folded in. */
  count: number;
  /** Latest effective time folded in (the base only: it may hold late events); undefined otherwise. */
  lastVisibleAt: number | undefined;
}

/** Tiles are built by a class, not a literal (see `RawEventRecord`). Stored under short names by codec.ts only. */
class TileRecord implements Tile {
  constructor(public states: unknown[] | null, public count: number, public lastVisibleAt: number | undefined) {}
}

export function makeTile(states: unknown[] | null, count: number, lastVisibleAt?: number): Tile {
  return new TileRecord(states, count, lastVisibleAt);
}

/** Tiles to text and back, for backends that store text. The engine gives one per plan (compact states). */
export interface TileCodec {
  toJson(t: Tile): string;
  fromJson(text: string): Tile;
}

/** Whether an event with time ts and effective time e (`visibleAt`) is late: not visible by the end of its own hour. */
export const isLate = (ts: number, e: number): 0 | 1 => (e >= floorTo(ts, HOUR_US) + HOUR_US ? 1 : 0);

export interface SeriesMeta {
  /** Incremented by every write: readers use it to validate cached partial aggregates. */
  readonly version: number;
  /** The source plan's hash the series was written with; a reader with another plan refuses it. */
  readonly plan: string;
  /** Events older than this are only in `base`; null while nothing was compacted. */
  readonly rawFrom: number | null;
  /** Earliest event time held in tiles or raw (a lower bound), null when none. */
  readonly lo: number | null;
  /** Latest event time (or materialisation time) seen: retention is measured back from it. */
  readonly watermark: number | null;
  /** Coarse tiles (levels above the first) exist below this time; above it only day tiles. Null: none yet. */
  readonly sealedTo: number | null;
  /**
   * Bumped by a write that changes a sealed 16- or 64-day tile (an old on-time event): middle states
   * (`middleKey`) of an older epoch are never read again. Absent: 0.
   */
  readonly coarseEpoch?: number;
}

/** The first tile level a middle state stands in for (16 days and above). */
export const MIDDLE_LEVEL = 2;

/**
 * The hash field of a middle state: the merge of the 16- and 64-day tiles of one window's link of a chain,
 * spanning 16-day periods [c0, c1), at a coarse epoch. Kept by backends that resolve inner parts (Redis).
 */
export function middleKey(window: number, c0: number, c1: number, epoch: number): string {
  return `m:${window}:${c0}:${c1}:${epoch}`;
}

/** [from, to) in epoch µs. */
export type TimeRange = readonly [number, number];

/** Tiles of one level with index in [from, to). */
export interface TileRange {
  readonly level: number;
  readonly from: number;
  readonly to: number;
}

export interface SeriesRequest {
  readonly key: SeriesKey;
  /** Raw events (on-time and late) with event time in each range; one sorted list per range. */
  readonly raw?: readonly TimeRange[];
  /** Late events with event time in this range. */
  readonly late?: TimeRange;
  readonly tiles?: readonly TileRange[];
  readonly base?: boolean;
  /** With tiles: also the raw events of every returned stub tile (`states === null`), in `stubRaw`. */
  readonly stubRaw?: boolean;
  /**
   * Only to `readResolved` (other reads ignore it): the tiles and raw events of the windows' inner parts, described
   * before the meta is known, for the backend to resolve against the meta it reads (one round trip, not two).
   */
  readonly inner?: InnerSpec;
}

/**
 * The inner parts of stale windows, as the engine would ask for them once it knows the meta (`innerRequest`):
 * per grain chain, its H and each window's start, shortest window first (H − w + grain; null: lifetime).
 * Resolved against a meta: each window's inner part starts at max(start, the day of `lo`) (`rawFrom` for
 * lifetime), capped by the previous window's, and is covered by tiles up to `sealedTo` (`cover`); late
 * events over the chains' span; the base when a lifetime window is stale; stub tiles' raw events.
 */
export interface InnerSpec {
  readonly chains: readonly { readonly H: number; readonly starts: readonly (number | null)[] }[];
  /** Per chain, the plan's window index of each start (middle states are kept by window). */
  readonly windows: readonly (readonly number[])[];
  readonly base: boolean;
}

/** What a backend resolved an `InnerSpec` to (the engine checks it against its own plan before use), and the data read. */
export interface ResolvedInner {
  /** Tile fields read (`tileKey`). */
  readonly fields: readonly string[];
  readonly raw: readonly TimeRange[];
  readonly late: TimeRange | null;
  readonly base: boolean;
  readonly data: SeriesData;
}

export interface SeriesData {
  /** Null when the series has never been written. */
  readonly meta: SeriesMeta | null;
  readonly raw: readonly (readonly RawEvent[])[];
  readonly late: readonly RawEvent[];
  /** Present tiles, keyed `tileKey(level, index)`. */
  readonly tiles: ReadonlyMap<string, Tile>;
  readonly base: Tile | null;
  /** True when the backend holds the series but not its tiles (see `tilesDurable`): the engine rebuilds them. */
  readonly tilesMissing: boolean;
  /** When asked (`stubRaw`): the raw events (on-time and late) within the returned stub tiles, by event time. */
  readonly stubRaw?: readonly RawEvent[];
  /** When asked (`inner`) and the series exists: the inner parts' request as resolved, and its data. */
  readonly inner?: ResolvedInner;
}

/** Series data built by a class, not a literal (backends build one per series read, writes' reads too: see docs/performance-notes.md). */
class SeriesDataOf implements SeriesData {
  constructor(
    readonly meta: SeriesMeta | null, readonly raw: readonly (readonly RawEvent[])[], readonly late: readonly RawEvent[], readonly tiles: ReadonlyMap<string, Tile>,
    readonly base: Tile | null, readonly tilesMissing: boolean, readonly stubRaw: readonly RawEvent[] | undefined, readonly inner: ResolvedInner | undefined,
  ) {}
}

export function seriesData(
  meta: SeriesMeta | null, raw: readonly (readonly RawEvent[])[], late: readonly RawEvent[], tiles: ReadonlyMap<string, Tile>, base: Tile | null, tilesMissing: boolean,
  stubRaw?: readonly RawEvent[], inner?: ResolvedInner,
): SeriesData {
  return new SeriesDataOf(meta, raw, late, tiles, base, tilesMissing, stubRaw, inner);
}

export interface SeriesWrite {
  readonly key: SeriesKey;
  readonly meta: SeriesMeta;
  /** Drop raw events, late events and tiles that start before this time (day-aligned), first. */
  readonly pruneBefore?: number;
  /** Tiles to store (created or changed). */
  readonly tiles: readonly { readonly level: number; readonly index: number; readonly tile: Tile }[];
  /** New events; late ones (`late: 1`) are also indexed as late. */
  readonly raw: readonly RawEvent[];
  /** The new base, when it changed. */
  readonly base?: Tile;
  /**
   * The tiles are the series' complete set, rebuilt from its raw events (meta unchanged). Applied only
   * while the series' tiles are missing: the first rebuild wins, so concurrent rebuilds are harmless.
   */
  readonly rebuiltTiles?: boolean;
  /**
   * Event keys to remember for the series, each with its event's content digest (sources whose table declares
   * a key): kept for good, never pruned, so a re-pushed event is recognised however old it is.
   */
  readonly eventKeys?: EventKeys;
}

/** What a backend is, declared rather than discovered by calling optional methods (the contract suite checks it). */
export interface OnlineStoreCapabilities {
  readonly name: 'embedded' | 'redis';
  /** Data survives a restart of the process. */
  readonly persistent: boolean;
  /** Several processes may read and write the same store. */
  readonly shared: boolean;
  /** Whether `write` is durable when it resolves (false: write-behind, durable after `flush`). */
  readonly durableOnWrite: boolean;
  /**
   * Whether `read` returns the store's own tile objects (no copy). Callers may then mutate them only to
   * pass them back to `write`, and must never keep them.
   */
  readonly sharesObjects: boolean;
  /**
   * Whether tiles survive a restart. When false the backend keeps only the log (raw events, base, meta),
   * reports `tilesMissing` for series loaded after a restart, and the engine rebuilds their tiles once.
   */
  readonly tilesDurable: boolean;
  /**
   * Whether the backend has the one-round-trip read (`readResolved`, with `putMiddles`): it resolves a
   * request's `inner` where the data is. True exactly when `readResolved` is there (the contract suite checks).
   */
  readonly resolvesInner?: boolean;
}

/**
 * The backend interface: what the engine needs from storage, batch-first, one call per round trip. Tiles
 * hold opaque aggregator states; the backend never interprets them. Two capabilities are optional: a codec
 * for stores that keep text (`useCodec`), and the one-round-trip read of a network backend (`readResolved`
 * and `putMiddles`, declared by `capabilities.resolvesInner`); the engine works without either.
 */
export interface OnlineStore {
  readonly capabilities: OnlineStoreCapabilities;
  /** One result per request, in order. */
  read(requests: readonly SeriesRequest[]): Promise<SeriesData[]>;
  write(batch: readonly SeriesWrite[]): Promise<void>;
  /**
   * Each series' stored event keys (`SeriesWrite.eventKeys`) with their content digests, one map per request
   * in order, holding at least the asked keys it has stored (a backend that shares its objects may hand
   * out all of the series'; callers only look keys up). One round trip for any number of series.
   */
  eventKeys(requests: readonly EventKeyRequest[]): Promise<ReadonlyMap<string, number>[]>;
  /** The store's manifest: small text entries the engine keeps (which features it serves). */
  manifest(): Promise<Record<string, string>>;
  /** Removes every series of the sources, then sets the manifest entries. */
  reset(sources: readonly string[], manifest: Readonly<Record<string, string>>): Promise<void>;
  /** Makes every completed write durable. */
  flush(): Promise<void>;
  close(): Promise<void>;
  /**
   * Optional: the caller is done with these series for now (materialisation, after each entity). A backend
   * that holds series in memory makes them durable and drops them; they are loaded again when next used.
   */
  release?(keys: readonly SeriesKey[]): Promise<void>;
  /** Stores that keep text: the codec for tiles (and bases) of series written with this plan hash. */
  useCodec?(plan: string, codec: TileCodec): void;
  /**
   * The one-round-trip read (optional capability): as `read`, and each request's `inner` (the inner parts of
   * stale windows, described before the meta is known) resolved against the meta it reads, in the same round
   * trip, with the data of what it resolved to (`SeriesData.inner`). The engine checks the resolution
   * against its own plan before use, and reads again on a mismatch.
   */
  readResolved?(requests: readonly SeriesRequest[]): Promise<SeriesData[]>;
  /**
   * With `readResolved`: keeps middle states (field `middleKey(...)`, a tile), dropping the
   * series' other middles of the same windows. Readers write them back; a lost one is only a slower read.
   */
  putMiddles?(key: SeriesKey, plan: string, middles: readonly { readonly window: number; readonly field: string; readonly tile: Tile }[]): Promise<void>;
}

/** Event keys (as event ids: `RawEvent.id`) and their content digests, index by index. */
export interface EventKeys {
  readonly keys: readonly string[];
  readonly digests: readonly number[];
}

/** Which event keys of one series to look up. */
export interface EventKeyRequest {
  readonly key: SeriesKey;
  readonly keys: readonly string[];
}

export function tileKey(level: number, index: number): string {
  return `${level}:${index}`;
}

/** Floor division for times (correct before 1970 too). */
export function floorTo(t: number, width: number): number {
  return Math.floor(t / width) * width;
}
