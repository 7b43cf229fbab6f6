/**
 * The read path. A window [E − w, E) (E = the as-of time, or one µs after it for the inclusive bound)
 * splits at the window's grain g (1h, or 1m/1s for windows that are not whole hours), with H = floor(E, g):
 *
 *   tail [E − w, H − w + g)   raw events, filtered exactly
 *   inner [H − w + g, H)      whole tiles merged (cover), stub days' and sub-day raw events folded, late
 *                             events folded when visible by H; the same for every E in [H, H + g)
 *   head [H, E)               raw events, filtered exactly
 *
 * The inner part is computed once per series, window and grain period and cached with the series'
 * version (and advanced in place by this process's own pushes), so a read normally merges one cached state
 * per (window, slot) with a handful of raw edge events, and a repeated read with the same edges only
 * finishes memoised states. Events count only when visible: effective time before E. Exact at every
 * microsecond, for every operator: no operator's `remove` is needed.
 */
import { KilnError } from '../../core/errors.js';
import { finishMerged, type Observation } from '../../features/index.js';
import { emptyStates, foldEvent, mergeStored, observations, type SourcePlan } from './plan.js';
import { cover, isoMicros, unionTileRanges, type Cover } from './time.js';
import {
  DAY_US, HOUR_US, MIDDLE_LEVEL, TILE_LEVELS, floorTo, makeTile, middleKey, tileKey, type InnerSpec, type Tile, type RawEvent, type ResolvedInner, type SeriesData, type SeriesKey, type SeriesMeta,
  type SeriesRequest, type TileRange, type TimeRange,
} from '../types.js';

/** The cached inner part of one window: states by slot, and inner events not yet visible at H. */
export interface InnerEntry {
  readonly H: number;
  readonly states: unknown[];
  readonly pending: RawEvent[];
  /**
   * The states of the window's visible edge events at the last read, reusable while the edge events read
   * are the same (`sig`) and no event becomes visible (`until`): a repeated read only finishes.
   */
  memo?: EdgeMemo;
}

/** A class, not a literal: cached reads keep memos and one-off reads drop them, from one site (see docs/performance-notes.md). */
class EdgeMemo {
  constructor(
    readonly tail: number, readonly tailLast: string, readonly head: number, readonly headLast: string, readonly from: number, readonly until: number,
    readonly states: unknown[] | null,
  ) {}
}

export interface SeriesCache {
  version: number;
  /** Latest effective time in the base (lifetime reads before it are refused). */
  baseE: number | null;
  readonly windows: (InnerEntry | undefined)[];
}

export interface WindowNeed {
  readonly index: number;
  /** The source plan's views (outputs) read over this window. */
  readonly views: readonly number[];
}

/** Round one: the series' meta and the raw events of every needed window's head and tail. */
export function edgeRequest(key: SeriesKey, sp: SourcePlan, windows: readonly WindowNeed[], E: number): { request: SeriesRequest; tails: number[] } {
  const raw: TimeRange[] = [[floorTo(E, HOUR_US), E]];
  const tails: number[] = [];
  for (const { index } of windows) {
    const w = sp.windows[index]!;
    if (w.us === null) continue;
    tails[index] = raw.length;
    raw.push([E - w.us, floorTo(E, w.grain) - w.us + w.grain]);
  }
  return { request: { key, raw }, tails };
}

/** Windows whose cached inner part is missing or stale at E, with every window of the same grain (they share H). */
export function staleWindows(sp: SourcePlan, cache: SeriesCache, windows: readonly WindowNeed[], E: number): number[] {
  const grains = new Set(windows.filter(({ index }) => cache.windows[index]?.H !== floorTo(E, sp.windows[index]!.grain)).map(({ index }) => sp.windows[index]!.grain));
  return sp.windows.flatMap((w, i) => (grains.has(w.grain) ? [i] : []));
}

/** One window's share of a chain: its inner part is the previous window's plus [from, to). */
interface ChainLink {
  readonly index: number;
  readonly from: number;
  readonly to: number;
  readonly cover: Cover;
  readonly rawAt: number;
  /** The link's 16- and 64-day tiles, when it has two or more: the middle state's field that stands for them. */
  readonly middleField: string | null;
  /** Whether the cover reads that middle state instead of those tiles. */
  readonly middle: boolean;
}

/** A middle state computed by a read, for the backend to keep (`putMiddles`). */
export interface MiddleWrite {
  readonly window: number;
  readonly field: string;
  readonly tile: Tile;
}

export interface InnerPlan {
  readonly request: SeriesRequest;
  /** Per grain: H and the windows from shortest to lifetime; nested inner parts [H − w + g, H) grow by links. */
  readonly chains: readonly { readonly H: number; readonly links: readonly ChainLink[] }[];
}

/** The inner parts of stale windows, described before the meta is known: what `innerRequest` resolves (see `InnerSpec`). */
export function innerSpec(sp: SourcePlan, stale: readonly number[], E: number): InnerSpec {
  const grains = [...new Set(stale.map((i) => sp.windows[i]!.grain))];
  const windows = grains.map((grain) => stale.filter((i) => sp.windows[i]!.grain === grain));
  const chains = grains.map((grain, c) => {
    const H = floorTo(E, grain);
    return { H, starts: windows[c]!.map((i) => { const us = sp.windows[i]!.us; return us === null ? null : H - us + grain; }) };
  });
  return { chains, base: stale.some((i) => sp.windows[i]!.us === null), windows };
}

/**
 * Round two, for stale windows: the tiles that cover their inner parts (with stub tiles' raw events), raw
 * edges finer than an hour, late events, the base: `innerSpec` resolved against the meta (as the Redis read
 * script does it too).
 */
export function innerRequest(key: SeriesKey, sp: SourcePlan, meta: SeriesMeta, stale: readonly number[], E: number, middles?: ReadonlySet<string>): InnerPlan {
  const spec = innerSpec(sp, stale, E);
  const W = TILE_LEVELS[MIDDLE_LEVEL]!;
  const epoch = meta.coarseEpoch ?? 0;
  const tiles: TileRange[] = [];
  const raw: TimeRange[] = [];
  let lateFrom = Infinity;
  let lateTo = -Infinity;
  const chains = spec.chains.map(({ H, starts }, c) => {
    const floorLo = meta.lo === null ? H : floorTo(meta.lo, DAY_US);
    let prev = H;
    const links = spec.windows[c]!.map((index, k): ChainLink => {
      const from = Math.min(prev, Math.max(starts[k] ?? meta.rawFrom ?? -Infinity, floorLo));
      // The 16- and 64-day tiles of a cover span exactly [c0, c1) in 16-day periods: with a middle state for
      // them, only the ends are covered, by 4-day tiles and finer.
      const c0 = Math.ceil(from / W);
      const c1 = Math.floor(Math.min(prev, meta.sealedTo ?? -Infinity) / W);
      const middleField = c1 - c0 >= 2 ? middleKey(index, c0, c1, epoch) : null;
      const middle = middleField !== null && middles?.has(middleField) === true;
      const cv = middle ? cover(c1 * W, prev, meta.sealedTo, MIDDLE_LEVEL - 1, cover(from, c0 * W, meta.sealedTo, MIDDLE_LEVEL - 1)) : cover(from, prev, meta.sealedTo);
      const link = { index, from, to: prev, cover: cv, rawAt: raw.length, middleField, middle };
      tiles.push(...link.cover.tiles);
      raw.push(...link.cover.raw);
      prev = from;
      return link;
    });
    if (prev < H) { lateFrom = Math.min(lateFrom, prev); lateTo = Math.max(lateTo, H); }
    return { H, links };
  });
  return { request: { key, tiles: unionTileRanges(tiles), raw, ...(lateFrom < lateTo ? { late: [lateFrom, lateTo] as const } : {}), base: spec.base, stubRaw: true }, chains };
}

/** Whether a backend's resolution of an `InnerSpec` holds everything this plan reads: else the engine reads it itself. */
export function resolvedMatches(plan: InnerPlan, resolved: ResolvedInner): boolean {
  const r = plan.request;
  if (Boolean(r.base) !== resolved.base) return false;
  const raw = r.raw ?? [];
  if (raw.length !== resolved.raw.length || raw.some(([a, b], i) => a !== resolved.raw[i]![0] || b !== resolved.raw[i]![1])) return false;
  if (r.late ? !resolved.late || r.late[0] !== resolved.late[0] || r.late[1] !== resolved.late[1] : resolved.late !== null) return false;
  const fields = new Set(resolved.fields);
  for (const tr of r.tiles ?? []) for (let i = tr.from; i < tr.to; i++) if (!fields.has(tileKey(tr.level, i))) return false;
  return true;
}

/**
 * Computes the inner parts of stale windows from round two, each chain in one pass: into the
 * cache, or, with `visit`, handed over live (valid during the call only: the chain's accumulator) and not kept.
 */
export function fillInner(
  sp: SourcePlan, cache: SeriesCache, plan: InnerPlan, data: SeriesData, visit?: (index: number, entry: InnerEntry) => void, middlesOut?: MiddleWrite[],
): void {
  // The stub tiles' raw events, in time order; late ones come from the late list.
  const stubEvents = (data.stubRaw ?? []).filter((ev) => !ev.late);
  for (const { H, links } of plan.chains) {
    // Slots still needed by this window or a longer one of the chain.
    const needed = neededSlots(sp, links);
    const acc = emptyStates(sp, needed[0] ?? []);
    const pending: RawEvent[] = [];
    links.forEach((link, n) => {
      const slots = needed[n]!;
      // With a middle state (read, or made here for the backend to keep), the link's 16- and 64-day tiles are
      // merged once, into it, and the accumulator takes the middle: the same arithmetic as a later read's.
      let merged: readonly unknown[] | null | undefined = null;
      if (link.middle) merged = data.tiles.get(link.middleField!)?.states;
      else if (link.middleField && middlesOut) {
        const tile = middleOf(sp, link, slots, data, stubEvents, H);
        if (tile) { middlesOut.push({ window: link.index, field: link.middleField, tile }); merged = tile.states; }
      }
      if (merged) for (let k = 0; k < slots.length; k++) { const s = slots[k]!; acc[s] = mergeStored(sp, s, acc[s], merged[s]); }
      const skipFrom = merged && !link.middle ? MIDDLE_LEVEL : TILE_LEVELS.length; // a middle read has no such tiles in its cover
      for (const tr of link.cover.tiles) {
        if (tr.level >= skipFrom) continue;
        const width = TILE_LEVELS[tr.level]!;
        for (let i = tr.from; i < tr.to; i++) {
          const tile = data.tiles.get(tileKey(tr.level, i));
          if (tile?.states) { const ts = tile.states; for (let k = 0; k < slots.length; k++) { const s = slots[k]!; acc[s] = mergeStored(sp, s, acc[s], ts[s]); } }
          else if (tile) for (let j = lowerTs(stubEvents, i * width); j < stubEvents.length && stubEvents[j]!.time < (i + 1) * width; j++) take(sp, acc, slots, H, pending, stubEvents[j]!); // a stub: its on-time events
        }
      }
      for (let j = 0; j < link.cover.raw.length; j++) { const list = data.raw[link.rawAt + j] ?? []; for (let k = 0; k < list.length; k++) if (!list[k]!.late) take(sp, acc, slots, H, pending, list[k]!); } // late ones come next
      for (const ev of data.late) if (ev.time >= link.from && ev.time < link.to) take(sp, acc, slots, H, pending, ev);
      const w = sp.windows[link.index]!;
      if (w.us === null) {
        if (data.base?.states) for (const s of slots) acc[s] = mergeStored(sp, s, acc[s], data.base.states[s]);
        cache.baseE = data.base?.lastVisibleAt ?? null;
      }
      if (visit) { visit(link.index, { H, states: acc, pending }); return; }
      const last = n === links.length - 1;
      const states: unknown[] = last ? acc : sp.slots.map(() => null);
      if (!last) for (const s of w.slots) states[s] = mergeStored(sp, s, null, acc[s]); // a copy: acc grows on
      cache.windows[link.index] = { H, states, pending: [...pending] };
    });
  }
}

/** A link's middle state: its 16- and 64-day tiles merged (stubs by their events), for the slots it needs; null if an event is not visible by H. */
function middleOf(sp: SourcePlan, link: ChainLink, slots: readonly number[], data: SeriesData, stubEvents: readonly RawEvent[], H: number): Tile | null {
  const states = emptyStates(sp, slots);
  let n = 0;
  for (const tr of link.cover.tiles) {
    if (tr.level < MIDDLE_LEVEL) continue;
    const width = TILE_LEVELS[tr.level]!;
    for (let i = tr.from; i < tr.to; i++) {
      const tile = data.tiles.get(tileKey(tr.level, i));
      if (!tile) continue;
      n += tile.count;
      if (tile.states) { const ts = tile.states; for (let k = 0; k < slots.length; k++) { const s = slots[k]!; states[s] = mergeStored(sp, s, states[s], ts[s]); } continue; }
      for (let j = lowerTs(stubEvents, i * width); j < stubEvents.length && stubEvents[j]!.time < (i + 1) * width; j++) {
        if (stubEvents[j]!.visibleAt >= H) return null;
        foldEvent(sp, states, slots, stubEvents[j]!);
      }
    }
  }
  return makeTile(states, n);
}

/** An inner event: folded when visible by H, else pending (it may be visible by E). A function, not a closure per link. */
function take(sp: SourcePlan, acc: unknown[], slots: readonly number[], H: number, pending: RawEvent[], ev: RawEvent): void {
  if (ev.visibleAt < H) foldEvent(sp, acc, slots, ev); else pending.push(ev);
}

/** Per link of a chain, the slots its window or a longer one of the chain reads. */
function neededSlots(sp: SourcePlan, links: readonly ChainLink[]): number[][] {
  const out: number[][] = new Array(links.length);
  const seen = new Uint8Array(sp.slots.length);
  const list: number[] = [];
  for (let i = links.length - 1; i >= 0; i--) {
    for (const s of sp.windows[links[i]!.index]!.slots) if (!seen[s]) { seen[s] = 1; list.push(s); }
    out[i] = list.slice();
  }
  return out;
}

/** Refuses series written for another plan: their tile states mean other slots. */
export function checkPlan(sp: SourcePlan, meta: SeriesMeta | null): void {
  if (meta !== null && meta.plan !== sp.hash) {
    throw new KilnError('FEATURE_NOT_SERVED', `source '${sp.source.name}' in the online store was written for another feature plan (the definitions or the served features changed); run 'kiln online materialize' to rebuild it`);
  }
}

/** Refuses reads that the retained data cannot answer exactly. */
export function checkReadable(sp: SourcePlan, windows: readonly WindowNeed[], meta: SeriesMeta, cache: SeriesCache | null, E: number, entity: string): void {
  const old = (from: number, what: string): KilnError => new KilnError('ASOF_OUT_OF_RANGE',
    `as-of ${isoMicros(E)} is too far back for ${what} of entity ${entity} in source '${sp.source.name}': the online store keeps raw events from ${isoMicros(from)} on (the longest window plus the retention margin before the latest event). Read older times from the offline store (kiln features training-set)`);
  for (const { index } of windows) {
    const w = sp.windows[index]!;
    if (meta.rawFrom !== null && (w.us === null ? E < meta.rawFrom : E - w.us < meta.rawFrom)) throw old(meta.rawFrom, `the ${w.name} window`);
    if (w.us === null && cache?.baseE != null && cache.baseE >= E) throw old(cache.baseE, 'lifetime features (a compacted event became available only at the time given)');
  }
}

/** Finishes one window at E from an inner part (cached, or the live state of a chain being filled). */
export type WindowFinisher = (index: number, views: readonly number[], entry: InnerEntry) => unknown[];

/**
 * Sets up the finishing of windows at E, finished at `at`, over round one's data (`edges`): each window's
 * inner states are finished merged with a small state of its visible edge events (head, tail, pending),
 * never copied or changed, so an inner part can be the live accumulator of `fillInner`.
 */
export function windowFinisher(sp: SourcePlan, edges: SeriesData, tails: readonly number[], E: number, at: number): WindowFinisher {
  const ctx = { at };
  const obsCache = new Map<RawEvent, Observation[]>();
  const obsOf = (ev: RawEvent): Observation[] => {
    let o = obsCache.get(ev);
    if (!o) { o = observations(sp, ev); obsCache.set(ev, o); }
    return o;
  };
  const fetchedHead = edges.raw[0] ?? [];
  return (index, views, entry) => {
    const w = sp.windows[index]!;
    const tail = w.us === null ? [] : edges.raw[tails[index]!] ?? [];
    const from = lowerTs(fetchedHead, entry.H);
    // The memo is keyed by the edge events read (counts and the last ids): a repeated read with the same edges reuses it.
    const tailLast = tail.length ? tail[tail.length - 1]!.id : '';
    const headLast = fetchedHead.length ? fetchedHead[fetchedHead.length - 1]!.id : '';
    let memo = entry.memo;
    if (!(memo && memo.tail === tail.length && memo.tailLast === tailLast && memo.head === fetchedHead.length - from && memo.headLast === headLast && E >= memo.from && E < memo.until)) {
      // The window's visible edge events: the head [H, E), its tail, and inner events visible by E only.
      let until = entry.H + w.grain;
      const extra: RawEvent[] = [];
      for (let i = from; i < fetchedHead.length; i++) { const ev = fetchedHead[i]!; if (ev.visibleAt < E) extra.push(ev); else if (ev.visibleAt + 1 < until) until = ev.visibleAt + 1; }
      for (let i = 0; i < tail.length; i++) { const ev = tail[i]!; if (ev.visibleAt < E) extra.push(ev); else if (ev.visibleAt + 1 < until) until = ev.visibleAt + 1; }
      for (let i = 0; i < entry.pending.length; i++) { const ev = entry.pending[i]!; if (ev.visibleAt < E) extra.push(ev); else if (ev.visibleAt + 1 < until) until = ev.visibleAt + 1; }
      let states: unknown[] | null = null; // null: no visible edge event
      if (extra.length) {
        states = new Array<unknown>(sp.slots.length).fill(null);
        for (let k = 0; k < w.slots.length; k++) {
          const s = w.slots[k]!;
          const slot = sp.slots[s]!;
          let st: unknown = null;
          for (let i = 0; i < extra.length; i++) { const ev = extra[i]!; if (slot.accepts(ev.values)) st = slot.agg.add(st ?? slot.agg.empty(), obsOf(ev)[slot.shape]!); }
          states[s] = st;
        }
      }
      memo = new EdgeMemo(tail.length, tailLast, fetchedHead.length - from, headLast, E, until, states);
      entry.memo = memo;
    }
    const out: unknown[] = new Array(sp.views.length);
    const edge = memo.states;
    for (let k = 0; k < views.length; k++) {
      const view = sp.views[views[k]!]!;
      const agg = view.agg;
      const inner = entry.states[view.slot];
      out[views[k]!] = finishMerged(agg, inner === null || inner === undefined ? agg.empty() : inner, edge === null ? null : edge[view.slot] ?? null, ctx);
    }
    return out;
  };
}

/** The values of windows without data (no series): every slot's empty value. */
export function emptyValues(sp: SourcePlan, windows: readonly WindowNeed[], at: number): unknown[][] {
  const values: unknown[][] = [];
  for (const { index, views } of windows) {
    const out: unknown[] = [];
    for (const v of views) { const agg = sp.views[v]!.agg; out[v] = agg.finish(agg.empty(), { at }); }
    values[index] = out;
  }
  return values;
}

function lowerTs(a: readonly RawEvent[], t: number): number {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) { const mid = (lo + hi) >> 1; if (a[mid]!.time < t) lo = mid + 1; else hi = mid; }
  return lo;
}

/** Advances a cache entry over this process's own write: events inside an inner part join it (or its pending list). */
export function advanceCache(sp: SourcePlan, cache: SeriesCache, events: readonly RawEvent[], version: number, baseE: number | undefined): void {
  cache.windows.forEach((entry, index) => {
    if (!entry) return;
    delete entry.memo;
    const w = sp.windows[index]!;
    const from = w.us === null ? -Infinity : entry.H - w.us + w.grain;
    for (const ev of events) {
      if (ev.time < from || ev.time >= entry.H) continue;
      if (ev.visibleAt < entry.H) foldEvent(sp, entry.states, w.slots, ev); else entry.pending.push(ev);
    }
  });
  cache.version = version;
  if (baseE !== undefined) cache.baseE = baseE;
}
