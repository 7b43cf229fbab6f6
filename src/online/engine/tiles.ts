/**
 * The write path. An on-time event is folded (`add`) into the day tile of its event time; late events are
 * kept out of tiles (see RawEvent.late). A day with fewer than DENSE_DAY on-time events keeps a *stub* (its
 * count, no states): its raw events, retained anyway for exact edges, stand in for it, so a sparse entity
 * costs about its raw events rather than a tile per event. Coarser tiles (4, 16 and 64 days) are *sealed*: built
 * once from a period's days when the watermark passes its end, so a push touches one tile per event; an
 * on-time event in a sealed period updates its coarse tiles too. Events older than the retention horizon
 * are compacted into the base. Nothing here knows which operator a slot holds.
 */
import { foldEvent, mergeStored, observations, type SourcePlan } from './plan.js';
import {
  DAY_US, MIDDLE_LEVEL, TILE_LEVELS, floorTo, makeTile, tileKey, type RawEvent, type SeriesData, type SeriesKey, type SeriesMeta, type SeriesRequest,
  type SeriesWrite, type Tile, type TileRange, type TimeRange,
} from '../types.js';

export interface RetentionOptions {
  /** Kept beyond the longest window, so that reads slightly in the past stay exact (µs). */
  readonly marginUs: number;
  /** A day's on-time events from which its tile holds states; below it the tile is a stub. */
  readonly denseDay: number;
  /** A time the store has reached regardless of event times (materialisation's as-of). */
  readonly clock?: number;
}

/** The default of `denseDay`: a borrower with a few card payments a day keeps stubs. */
export const DENSE_DAY = 4;
const COARSEST = TILE_LEVELS[TILE_LEVELS.length - 1]!;
const LIVE = TILE_LEVELS[0]!;
/** Coarse tiles are sealed in steps of the finest coarse width: each level's periods as they end. */
const STEP = TILE_LEVELS[1] ?? COARSEST;
const dayOf = (ts: number): number => Math.floor(ts / LIVE);
type Changed = Map<string, SeriesWrite['tiles'][number]>;

/** Tile ranges of one level holding the given event times. */
function rangesOf(level: number, times: readonly number[]): TileRange[] {
  const width = TILE_LEVELS[level]!;
  if (times.length === 1) { const i = Math.floor(times[0]! / width); return [{ level, from: i, to: i + 1 }]; } // the usual push
  const idx: number[] = new Array<number>(times.length);
  for (let i = 0; i < times.length; i++) {
    // insertion sort: a push brings a handful of events per series, nearly in order
    const v = Math.floor(times[i]! / width);
    let j = i;
    while (j > 0 && idx[j - 1]! > v) { idx[j] = idx[j - 1]!; j--; }
    idx[j] = v;
  }
  const out: TileRange[] = [];
  for (const i of idx) {
    const last = out[out.length - 1];
    if (last && i < last.to) continue;
    if (last && last.to === i) out[out.length - 1] = { level, from: last.from, to: i + 1 };
    else out.push({ level, from: i, to: i + 1 });
  }
  return out;
}

/** What the first read of a write fetches: meta and the day tiles (or stubs) the on-time events touch. */
export function writeRequest(key: SeriesKey, events: readonly RawEvent[]): SeriesRequest {
  const times: number[] = [];
  for (const ev of events) if (!ev.late) times.push(ev.time);
  return { key, tiles: rangesOf(0, times) };
}

/**
 * Upkeep after a write: compact below `horizon` (day-aligned), and seal the coarse periods that end in
 * (seal.from, seal.to], built from the day tiles and raw events of [seal.fetchFrom, seal.to).
 */
export interface Upkeep {
  readonly horizon: number | null;
  readonly seal: { readonly from: number; readonly to: number; readonly fetchFrom: number } | null;
}

/**
 * What upkeep these events call for. Raw events are kept for the longest window plus the margin, back
 * from the watermark; coarse periods are sealed as they end, `sealedTo` advancing in steps of the finest
 * coarse width (each level's tiles exist up to `sealedTo` floored to its width).
 */
export function upkeepOf(sp: SourcePlan, meta: SeriesMeta | null, events: readonly RawEvent[], opts: RetentionOptions): Upkeep {
  let watermark = meta?.watermark ?? -Infinity;
  let lo = meta?.lo ?? Infinity;
  for (const ev of events) { if (ev.time > watermark) watermark = ev.time; if (ev.time < lo) lo = ev.time; }
  if (opts.clock !== undefined && opts.clock > watermark) watermark = opts.clock;
  if (!Number.isFinite(watermark) || !Number.isFinite(lo)) return { horizon: null, seal: null };
  const h = floorTo(watermark - sp.longestUs - opts.marginUs, DAY_US);
  const horizon = h > (meta?.rawFrom ?? floorTo(lo, DAY_US)) ? h : null;
  const rawFrom = horizon ?? meta?.rawFrom ?? -Infinity;
  // First seal: from the step holding the first event (a period ending after it holds every event there is).
  const from = meta?.sealedTo ?? floorTo(lo, STEP);
  const to = floorTo(watermark, STEP);
  if (TILE_LEVELS.length < 2 || from >= to) return { horizon, seal: null };
  // The earliest period that ends in (from, to], at any level; days before rawFrom are gone (periods that
  // start before it are never read whole, and are skipped).
  let fetchFrom = to;
  for (let level = 1; level < TILE_LEVELS.length; level++) {
    const w = TILE_LEVELS[level]!;
    const start = floorTo(from, w);
    if (start + w <= to && start < fetchFrom) fetchFrom = start;
  }
  return { horizon, seal: { from, to, fetchFrom: Math.max(fetchFrom, Math.ceil(rawFrom / LIVE) * LIVE) } };
}

/** Days whose stub the batch makes dense: their stored raw events are needed to build the states. */
function densified(data: SeriesData, events: readonly RawEvent[], denseDay: number): number[] {
  if (events.length === 1) { // the usual push
    const ev = events[0]!;
    const t = ev.late ? undefined : data.tiles.get(tileKey(0, dayOf(ev.time)));
    return t && t.states === null && t.count > 0 && t.count + 1 >= denseDay ? [dayOf(ev.time)] : [];
  }
  const added = new Map<number, number>();
  for (const ev of events) if (!ev.late) added.set(dayOf(ev.time), (added.get(dayOf(ev.time)) ?? 0) + 1);
  const out: number[] = [];
  for (const [d, n] of added) {
    const t = data.tiles.get(tileKey(0, d));
    if (t && t.states === null && t.count > 0 && t.count + n >= denseDay) out.push(d);
  }
  return out;
}

/**
 * The second read of a write, when needed: the base (events below the horizon), coarse tiles of old
 * on-time events, raw events of days to compact, to seal or to make dense, and the day tiles to compact or seal.
 */
export function upkeepRequest(sp: SourcePlan, key: SeriesKey, data: SeriesData, events: readonly RawEvent[], upkeep: Upkeep, opts: RetentionOptions): SeriesRequest | null {
  const meta = data.meta;
  const h = upkeep.horizon;
  const dense = densified(data, events, opts.denseDay);
  if (h === null && upkeep.seal === null && meta?.sealedTo == null && meta?.rawFrom == null && dense.length === 0) return null; // the usual push
  const tiles: TileRange[] = [];
  const raw: TimeRange[] = [];
  for (let i = 0; i < dense.length; i++) raw.push([dense[i]! * LIVE, (dense[i]! + 1) * LIVE]);
  const lo = meta?.lo ?? null;
  if (h !== null && lo !== null && lo < h) {
    const from = Math.floor(Math.max(lo, meta!.rawFrom ?? -Infinity) / LIVE);
    tiles.push({ level: 0, from, to: h / LIVE });
    raw.push([from * LIVE, h]); // stub days' on-time events and late events: all go to the base
  }
  if (upkeep.seal && lo !== null && upkeep.seal.fetchFrom < upkeep.seal.to) {
    tiles.push({ level: 0, from: upkeep.seal.fetchFrom / LIVE, to: upkeep.seal.to / LIVE });
    raw.push([upkeep.seal.fetchFrom, upkeep.seal.to]);
  }
  const sealedTo = meta?.sealedTo ?? null;
  if (sealedTo !== null) {
    const old: number[] = [];
    for (let i = 0; i < events.length; i++) if (!events[i]!.late && events[i]!.time < sealedTo) old.push(events[i]!.time);
    if (old.length) for (let level = 1; level < TILE_LEVELS.length; level++) tiles.push(...rangesOf(level, old));
  }
  const below = h ?? meta?.rawFrom ?? null;
  let base = sp.baseSlots.length > 0 && h !== null;
  if (sp.baseSlots.length > 0 && below !== null) for (let i = 0; i < events.length && !base; i++) base = events[i]!.time < below;
  return tiles.length || raw.length || base ? { key, tiles, raw, base } : null;
}

/** Folds one on-time event into a tile's states (all slots whose filter it passes). */
function addToTile(sp: SourcePlan, tile: Tile, ev: RawEvent): void {
  const s = tile.states!;
  const slots = sp.slots;
  const v = ev.values;
  let obs: ReturnType<typeof observations> | null = null;
  for (let i = 0; i < slots.length; i++) {
    const slot = slots[i]!;
    if (!slot.accepts(v)) continue;
    obs ??= observations(sp, ev);
    const st = s[i];
    s[i] = slot.agg.add(st === null || st === undefined ? slot.agg.empty() : st, obs[slot.shape]!);
  }
  tile.count++;
}

const newTile = (sp: SourcePlan): Tile => makeTile(new Array<unknown>(sp.slots.length).fill(null), 0);
const NO_TILES: ReadonlyMap<string, Tile> = new Map();

/**
 * Adds on-time events to the working tiles, day by day: a dense day tile takes them, a stub counts them
 * and turns dense at DENSE_DAY (built from the day's stored on-time events, from `stored`, and these);
 * coarse tiles take events older than `sealedTo`.
 */
function addEvents(sp: SourcePlan, tiles: Map<string, Tile>, events: readonly RawEvent[], sealedTo: number | null, denseDay: number, stored: ReadonlyMap<string, RawEvent>, changed: Changed): void {
  const byDay = new Map<number, RawEvent[]>();
  if (events.length === 1) { if (!events[0]!.late) byDay.set(dayOf(events[0]!.time), events as RawEvent[]); } // the usual push
  else {
    for (const ev of events) {
      if (ev.late) continue;
      const l = byDay.get(dayOf(ev.time));
      if (l) l.push(ev); else byDay.set(dayOf(ev.time), [ev]);
    }
  }
  for (const [d, list] of byDay) {
    const k = tileKey(0, d);
    let t = tiles.get(k);
    if (t?.states) for (const ev of list) addToTile(sp, t, ev);
    else if ((t?.count ?? 0) + list.length < denseDay) t = makeTile(null, (t?.count ?? 0) + list.length);
    else {
      const prior = t ? storedOnDay(stored, d) : [];
      if (prior.length !== (t?.count ?? 0)) throw new Error(`internal: day ${d} counts ${t?.count} events but ${prior.length} were read`);
      t = newTile(sp);
      for (const ev of [...prior, ...list]) addToTile(sp, t, ev);
    }
    tiles.set(k, t);
    changed.set(k, { level: 0, index: d, tile: t });
  }
  if (sealedTo === null) return;
  for (const ev of events) {
    if (ev.late || ev.time >= sealedTo) continue;
    for (let level = 1; level < TILE_LEVELS.length; level++) {
      const index = Math.floor(ev.time / TILE_LEVELS[level]!);
      if ((index + 1) * TILE_LEVELS[level]! > sealedTo) continue; // its period is not sealed yet
      const ck = tileKey(level, index);
      let c = tiles.get(ck);
      // A coarse stub only counts (its period's raw events stand in for it, as for a stub day); it stays a stub.
      if (c && !c.states) c = makeTile(null, c.count + 1);
      else if (!c && denseDay > 1) c = makeTile(null, 1);
      else { c ??= newTile(sp); addToTile(sp, c, ev); }
      tiles.set(ck, c);
      changed.set(ck, { level, index, tile: c });
    }
  }
}

/**
 * Builds the coarse tiles of the periods that end in (from, to] and start at or after `rawFrom`: dense day
 * tiles merged, stub days' on-time events folded. A period with fewer than `denseDay` on-time events gets
 * a stub, like a sparse day.
 */
function seal(sp: SourcePlan, tiles: ReadonlyMap<string, Tile>, onTime: readonly RawEvent[], from: number, to: number, rawFrom: number, denseDay: number, changed: Changed): void {
  // Day tiles by day number and on-time events by time, once, and each level's periods visited from the days
  // that have events: a first seal (materialisation) spans every period of the series, and looking each day
  // of each period up by its key text, or scanning every event per period, was most of a materialisation.
  const days = new Map<number, Tile>();
  for (const [k, t] of tiles) if (k.charCodeAt(0) === 48 && k.charCodeAt(1) === 58) days.set(Number(k.slice(2)), t); // '0:'
  const dayList = [...days.keys()].sort((a, b) => a - b);
  const events = onTime.slice().sort((a, b) => a.time - b.time);
  for (let level = 1; level < TILE_LEVELS.length; level++) {
    const width = TILE_LEVELS[level]!;
    const first = floorTo(from, width);
    for (let i = 0, j = 0; i < dayList.length; i = j) {
      const p = floorTo(dayList[i]! * LIVE, width);
      let n = 0;
      for (j = i; j < dayList.length && dayList[j]! * LIVE < p + width; j++) n += days.get(dayList[j]!)!.count;
      if (p < first || p + width > to || p < rawFrom || n === 0) continue;
      if (n < denseDay) { changed.set(tileKey(level, p / width), { level, index: p / width, tile: makeTile(null, n) }); continue; }
      const tile = newTile(sp);
      for (let k = i; k < j; k++) {
        const day = days.get(dayList[k]!)!;
        if (!day.states) continue;
        for (let s = 0; s < sp.slots.length; s++) tile.states![s] = mergeStored(sp, s, tile.states![s], day.states[s]);
        tile.count += day.count;
      }
      for (let k = lowerBoundTime(events, p); k < events.length && events[k]!.time < p + width; k++) {
        const ev = events[k]!;
        if (!days.get(dayOf(ev.time))?.states) addToTile(sp, tile, ev);
      }
      if (tile.count === 0) continue;
      changed.set(tileKey(level, p / width), { level, index: p / width, tile });
    }
  }
}

/** The first index of a time-sorted list whose event time is at or after t. */
function lowerBoundTime(a: readonly RawEvent[], t: number): number {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) { const mid = (lo + hi) >> 1; if (a[mid]!.time < t) lo = mid + 1; else hi = mid; }
  return lo;
}

/** Every tile of a series, rebuilt from its raw events (for backends whose tiles are not durable). */
export function rebuildWrite(sp: SourcePlan, key: SeriesKey, meta: SeriesMeta, events: readonly RawEvent[], denseDay: number): SeriesWrite {
  const byDay = new Map<number, RawEvent[]>();
  for (const ev of events) if (!ev.late) { const l = byDay.get(dayOf(ev.time)); if (l) l.push(ev); else byDay.set(dayOf(ev.time), [ev]); }
  const tiles = new Map<string, Tile>();
  const changed: Changed = new Map();
  for (const [d, list] of byDay) {
    const t: Tile = list.length < denseDay ? makeTile(null, list.length) : newTile(sp);
    if (t.states) for (const ev of list) addToTile(sp, t, ev);
    tiles.set(tileKey(0, d), t);
    changed.set(tileKey(0, d), { level: 0, index: d, tile: t });
  }
  if (meta.sealedTo !== null && meta.lo !== null) {
    seal(sp, tiles, events.filter((ev) => !ev.late), floorTo(meta.lo, COARSEST), meta.sealedTo, meta.rawFrom ?? -Infinity, denseDay, changed);
  }
  return { key, meta, tiles: [...changed.values()], raw: [], rebuiltTiles: true };
}

/** The base of a write being built: created on first use; `changed` once anything is folded into it. */
interface BaseAcc { tile: Tile | null; changed: boolean }

function ensureBase(sp: SourcePlan, acc: BaseAcc): Tile {
  acc.tile ??= newTile(sp);
  acc.changed = true;
  return acc.tile;
}

function toBase(sp: SourcePlan, acc: BaseAcc, ev: RawEvent): void {
  const b = ensureBase(sp, acc);
  foldEvent(sp, b.states!, sp.baseSlots, ev);
  b.count++;
  if (ev.late) b.lastVisibleAt = Math.max(b.lastVisibleAt ?? -Infinity, ev.visibleAt);
}

const NO_EVENTS: ReadonlyMap<string, RawEvent> = new Map();

/** The second read's raw events by id (its ranges may overlap: each event once). */
function storedEventsOf(extra: SeriesData): Map<string, RawEvent> {
  const out = new Map<string, RawEvent>();
  for (const list of extra.raw) for (const ev of list) out.set(ev.id, ev);
  return out;
}

/** The stored on-time events of day d. */
function storedOnDay(stored: ReadonlyMap<string, RawEvent>, d: number): RawEvent[] {
  const out: RawEvent[] = [];
  for (const ev of stored.values()) if (!ev.late && dayOf(ev.time) === d) out.push(ev);
  return out;
}

/**
 * Applies events to one series: returns the write. `data` comes from `writeRequest` (its tiles may be the
 * store's own objects: they are changed in place and handed back); `extra` from `upkeepRequest`.
 */
export function applyEvents(
  sp: SourcePlan, key: SeriesKey, data: SeriesData, extra: SeriesData | null, events: readonly RawEvent[], upkeep: Upkeep, opts: RetentionOptions,
): SeriesWrite {
  const meta0 = data.meta;
  let rawFrom = meta0?.rawFrom ?? null;
  let lo = meta0?.lo ?? null;
  let watermark = meta0?.watermark ?? null;
  // Module functions rather than closures: this runs per series and push (and tsx names every closure it makes).
  const base: BaseAcc = { tile: extra?.base ?? null, changed: false };
  // Stored raw events of the days the second read fetched (several ranges may overlap: keep each event once).
  const stored: ReadonlyMap<string, RawEvent> = extra ? storedEventsOf(extra) : NO_EVENTS;
  const storedTiles: ReadonlyMap<string, Tile> = extra?.tiles ?? NO_TILES;

  let pruneBefore: number | undefined;
  const horizon = upkeep.horizon;
  if (horizon !== null) {
    if (sp.baseSlots.length && extra) {
      const b = ensureBase(sp, base);
      for (const [k, tile] of storedTiles) {
        if (!k.startsWith('0:') || !tile.states || Number(k.slice(2)) * LIVE >= horizon) continue;
        for (const i of sp.baseSlots) b.states![i] = mergeStored(sp, i, b.states![i], tile.states[i]);
        b.count += tile.count;
      }
      // Late events, and on-time events of stub days (a dense day's are in its tile).
      for (const ev of stored.values()) if (ev.time < horizon && (ev.late || !storedTiles.get(tileKey(0, dayOf(ev.time)))?.states)) toBase(sp, base, ev);
    }
    if (meta0 !== null) pruneBefore = horizon;
    rawFrom = horizon;
    lo = lo === null ? null : Math.max(lo, horizon);
  }

  // The read's own Map (each read makes one): changed in place rather than copied.
  const tiles = data.tiles as Map<string, Tile>;
  // Coarse tiles of old events came with the second read; its day tiles (for compaction, sealing) join too.
  for (const [k, t] of storedTiles) if (!tiles.has(k) && (!k.startsWith('0:') || Number(k.slice(2)) * LIVE >= (rawFrom ?? -Infinity))) tiles.set(k, t);
  // Usually every event is kept: hand the batch's own array on.
  let kept: RawEvent[] = events as RawEvent[];
  if (rawFrom !== null) { let all = true; for (let i = 0; i < events.length && all; i++) all = events[i]!.time >= rawFrom; if (!all) kept = []; }
  for (const ev of events) {
    if (watermark === null || ev.time > watermark) watermark = ev.time;
    if (rawFrom !== null && ev.time < rawFrom) {
      if (sp.baseSlots.length) toBase(sp, base, ev); // else below every window: nothing keeps it
      continue;
    }
    if (kept !== events) kept.push(ev);
    if (lo === null || ev.time < lo) lo = ev.time;
  }
  const changed: Changed = new Map();
  const sealedTo = meta0?.sealedTo ?? null;
  addEvents(sp, tiles, kept, sealedTo, opts.denseDay, stored, changed);
  if (upkeep.seal) {
    const onTime = [...stored.values(), ...kept].filter((ev) => !ev.late && ev.time >= upkeep.seal!.fetchFrom && ev.time < upkeep.seal!.to);
    seal(sp, tiles, onTime, upkeep.seal.from, upkeep.seal.to, rawFrom ?? -Infinity, opts.denseDay, changed);
  }
  if (opts.clock !== undefined && (watermark === null || opts.clock > watermark)) watermark = opts.clock;
  // A sealed 16- or 64-day tile that changed (an old on-time event) retires every middle state read from it.
  let epoch = meta0?.coarseEpoch ?? 0;
  if (sealedTo !== null) for (const c of changed.values()) if (c.level >= MIDDLE_LEVEL && (c.index + 1) * TILE_LEVELS[c.level]! <= sealedTo) { epoch++; break; }
  const meta: SeriesMeta = { version: (meta0?.version ?? 0) + 1, plan: sp.hash, rawFrom, lo, watermark, sealedTo: upkeep.seal?.to ?? sealedTo, ...(epoch ? { coarseEpoch: epoch } : {}) };
  const write: { -readonly [K in keyof SeriesWrite]: SeriesWrite[K] } = { key, meta, raw: kept, tiles: [...changed.values()] };
  if (pruneBefore !== undefined) write.pruneBefore = pruneBefore;
  if (base.changed && base.tile) write.base = base.tile;
  return write;
}
