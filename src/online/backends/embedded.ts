/**
 * The embedded backend (the default): series live in in-process maps, loaded from SQLite on first use and
 * written behind to it in transactions (WAL), so pushes stay fast and the state survives a restart. What
 * SQLite keeps is a log (raw events back to each series' horizon, with the meta) and the bases;
 * tiles are derived from the log, so a series loaded after a restart reports `tilesMissing` and the
 * engine rebuilds its tiles once. One process owns the file; share a store between processes with Redis.
 */
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { JSON_TILE_CODEC, eventKeysFromJson, eventKeysToJson, eventsFromJson, eventsToJson, metaFromJson, metaToJson } from '../codec.js';
import {
  TILE_LEVELS, tileKey, type EventKeyRequest, type OnlineStore, type OnlineStoreCapabilities, type RawEvent, type SeriesData, type SeriesKey, type SeriesMeta,
  type SeriesRequest, type SeriesWrite, type Tile, type TileCodec, seriesData,
} from '../types.js';
import { KilnError } from '../../core/errors.js';
import { list } from '../../core/young.js';

interface Series {
  readonly key: SeriesKey;
  /** Its id in SQLite (log rows are keyed by it); null until first flushed. */
  sid: number | null;
  meta: SeriesMeta | null;
  base: Tile | null;
  readonly tiles: Map<number, Tile>[];
  /** False after loading from SQLite until the engine writes the rebuilt tiles. */
  tilesBuilt: boolean;
  /** Sorted by event time. */
  raw: RawEvent[];
  late: RawEvent[];
  /** Event keys stored for the series, with their content digests; null until first needed (loaded from SQLite). */
  keys: Map<string, number> | null;
}

interface Dirty {
  raw: RawEvent[];
  prunedBefore: number | null;
  base: boolean;
  keys: string[];
  digests: number[];
}

export interface EmbeddedOptions {
  /** Longest time a write waits before it is flushed to SQLite (default 1000 ms). */
  readonly flushIntervalMs?: number;
  /** Pending series writes that trigger a flush at once (default 100,000). */
  readonly maxPending?: number;
  /**
   * Series held in memory (default 10,000): past it the least recently used are flushed and dropped, and
   * loaded again from SQLite (their tiles rebuilt from the log) when next read or written. Reads are exact
   * either way; only a reloaded series' first read costs more.
   */
  readonly maxSeriesInMemory?: number;
}

/** The default of `maxSeriesInMemory`. */
export const MAX_SERIES_IN_MEMORY = 10_000;

// The log: one appended row per series and flush, holding that flush's new events and the series' meta
// (a row per event, or an upsert of the meta, would cost a random B-tree write each). The newest row of a
// series holds its current meta. Bases change rarely and have their own table.
const SCHEMA = `
  CREATE TABLE IF NOT EXISTS online_manifest (k TEXT PRIMARY KEY, v TEXT NOT NULL);
  CREATE TABLE IF NOT EXISTS online_series (sid INTEGER PRIMARY KEY, source TEXT NOT NULL, entity TEXT NOT NULL, UNIQUE (source, entity));
  CREATE TABLE IF NOT EXISTS online_log (sid INTEGER NOT NULL, last_ts INTEGER NOT NULL, meta TEXT NOT NULL, events TEXT NOT NULL);
  CREATE INDEX IF NOT EXISTS online_log_sid ON online_log (sid);
  CREATE TABLE IF NOT EXISTS online_base (sid INTEGER PRIMARY KEY, base TEXT NOT NULL);
  CREATE TABLE IF NOT EXISTS online_keys (sid INTEGER NOT NULL, keys TEXT NOT NULL);
  CREATE INDEX IF NOT EXISTS online_keys_sid ON online_keys (sid);
`;

function lowerBound(a: readonly RawEvent[], t: number): number {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) { const mid = (lo + hi) >> 1; if (a[mid]!.time < t) lo = mid + 1; else hi = mid; }
  return lo;
}

function insertSorted(a: RawEvent[], ev: RawEvent): void {
  if (a.length === 0 || a[a.length - 1]!.time <= ev.time) { a.push(ev); return; }
  a.splice(lowerBound(a, ev.time + 1), 0, ev);
}

const NONE: readonly RawEvent[] = Object.freeze([]);
const NO_KEYS: ReadonlyMap<string, number> = new Map();
const NONE_RAW: readonly (readonly RawEvent[])[] = Object.freeze([]);
const slice = (a: readonly RawEvent[] | undefined, [from, to]: readonly [number, number]): readonly RawEvent[] => (a?.length ? a.slice(lowerBound(a, from), lowerBound(a, to)) : NONE);

export class EmbeddedOnlineStore implements OnlineStore {
  readonly capabilities: OnlineStoreCapabilities = { name: 'embedded', persistent: true, shared: false, durableOnWrite: false, sharesObjects: true, tilesDurable: false };
  // By source, then entity: no per-lookup key strings to build and hash.
  private readonly mem = new Map<string, Map<string, Series>>();
  /** Every series SQLite has, with its integer id (loaded at open): a series not in it is new, with no SELECT to find out. */
  private readonly stored = new Map<string, Map<string, number>>();
  private readonly dirty = new Map<Series, Dirty>();
  /** Series in memory, least recently used first (each use moves one to the end). */
  private readonly order = new Set<Series>();
  private readonly maxSeries: number;
  private dropped = 0;
  private pending = 0;
  private timer: NodeJS.Timeout | null = null;
  private readonly st;
  /** Base tiles are kept as text: in their plan's compact form. */
  private readonly codecs = new Map<string, TileCodec>();

  private constructor(private readonly db: Database.Database, private readonly opts: EmbeddedOptions) {
    const max = opts.maxSeriesInMemory ?? MAX_SERIES_IN_MEMORY;
    if (!Number.isInteger(max) || max < 1) throw new KilnError('INVALID_ARGUMENT', `maxSeriesInMemory must be a whole number >= 1; got ${max}`);
    this.maxSeries = max;
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.exec(SCHEMA);
    this.st = {
      log: db.prepare<[number], { meta: string; events: string }>('SELECT meta, events FROM online_log WHERE sid = ? ORDER BY rowid'),
      base: db.prepare<[number], { base: string }>('SELECT base FROM online_base WHERE sid = ?'),
      newSeries: db.prepare<[string, string]>('INSERT INTO online_series (source, entity) VALUES (?, ?)'),
      append: db.prepare('INSERT INTO online_log (sid, last_ts, meta, events) VALUES (?, ?, ?, ?)'),
      setBase: db.prepare('INSERT OR REPLACE INTO online_base (sid, base) VALUES (?, ?)'),
      prune: db.prepare('DELETE FROM online_log WHERE sid = ? AND last_ts < ?'),
      manifest: db.prepare<[], { k: string; v: string }>('SELECT k, v FROM online_manifest'),
      ids: db.prepare<[], { sid: number; source: string; entity: string }>('SELECT sid, source, entity FROM online_series'),
      setManifest: db.prepare('INSERT OR REPLACE INTO online_manifest (k, v) VALUES (?, ?)'),
      // Event keys: one appended row per series and flush (JSON [keys, digests]), never pruned.
      keys: db.prepare<[number], { keys: string }>('SELECT keys FROM online_keys WHERE sid = ? ORDER BY rowid'),
      appendKeys: db.prepare('INSERT INTO online_keys (sid, keys) VALUES (?, ?)'),
    };
    for (const r of this.st.ids.iterate()) this.storedOf(r.source).set(r.entity, r.sid);
  }

  /**
   * Opens (or creates) the store in a SQLite file.
   * @example const backend = EmbeddedOnlineStore.open(join(project.paths.dataDir, 'online.sqlite'));
   */
  static open(file: string, opts: EmbeddedOptions = {}): EmbeddedOnlineStore {
    mkdirSync(dirname(file), { recursive: true });
    return new EmbeddedOnlineStore(new Database(file), opts);
  }

  useCodec(plan: string, codec: TileCodec): void {
    this.codecs.set(plan, codec);
  }

  private codec(plan: string): TileCodec {
    return this.codecs.get(plan) ?? JSON_TILE_CODEC;
  }

  async read(requests: readonly SeriesRequest[]): Promise<SeriesData[]> {
    const out = requests.map((r) => {
      const s = this.series(r.key, false);
      const tiles = new Map<string, Tile>();
      if (s?.tilesBuilt) {
        for (const tr of r.tiles ?? []) {
          const level = s.tiles[tr.level]!;
          if (tr.to - tr.from > level.size) {
            for (const [i, t] of level) if (i >= tr.from && i < tr.to) tiles.set(tileKey(tr.level, i), t);
          } else {
            for (let i = tr.from; i < tr.to; i++) { const t = level.get(i); if (t) tiles.set(tileKey(tr.level, i), t); }
          }
        }
      }
      let stubRaw: RawEvent[] | undefined;
      if (r.stubRaw) {
        stubRaw = list();
        for (const [k, t] of tiles) {
          if (t.states !== null) continue;
          const c = k.indexOf(':');
          const width = TILE_LEVELS[Number(k.slice(0, c))]!;
          const i = Number(k.slice(c + 1));
          for (const ev of slice(s?.raw, [i * width, (i + 1) * width])) stubRaw.push(ev);
        }
        stubRaw.sort((a, b) => a.time - b.time);
      }
      // built by a class, not a literal: writes read through here too (see docs/performance-notes.md)
      return seriesData(s?.meta ?? null, r.raw ? r.raw.map((range) => slice(s?.raw, range)) : NONE_RAW, r.late ? slice(s?.late, r.late) : NONE, tiles, r.base ? s?.base ?? null : null, s !== null && !s.tilesBuilt, stubRaw);
    });
    this.evict(requests.length);
    return out;
  }

  async eventKeys(requests: readonly EventKeyRequest[]): Promise<ReadonlyMap<string, number>[]> {
    // the series' own maps (it shares its objects): no copy per push
    return requests.map((r) => { const s = this.series(r.key, false); return s ? this.keysOf(s) : NO_KEYS; });
  }

  // Applies synchronously before returning: the engine relies on no await between its reads' objects changing and this call.
  async write(batch: readonly SeriesWrite[]): Promise<void> {
    for (const w of batch) {
      const s = this.series(w.key, true)!;
      if (w.rebuiltTiles) {
        // Another rebuild came first, or a write since the log was read (the series was dropped and written
        // meanwhile): this rebuild would lack its events, and the next read rebuilds again.
        if (s.tilesBuilt || s.meta?.version !== w.meta.version) continue;
        for (const t of w.tiles) s.tiles[t.level]!.set(t.index, t.tile);
        s.tilesBuilt = true;
        continue;
      }
      let d = this.dirty.get(s);
      if (!d) { d = { raw: [], prunedBefore: null, base: false, keys: [], digests: [] }; this.dirty.set(s, d); }
      if (w.pruneBefore !== undefined) {
        const cut = w.pruneBefore;
        s.raw = s.raw.slice(lowerBound(s.raw, cut));
        s.late = s.late.slice(lowerBound(s.late, cut));
        TILE_LEVELS.forEach((width, level) => { for (const i of s.tiles[level]!.keys()) if (i * width < cut) s.tiles[level]!.delete(i); });
        d.prunedBefore = Math.max(d.prunedBefore ?? -Infinity, cut);
      }
      // A series dropped from memory since the engine read it (`maxSeriesInMemory`) was loaded again without
      // tiles: its log gets the events, and its tiles are rebuilt from it on the next use.
      if (s.tilesBuilt) for (const t of w.tiles) s.tiles[t.level]!.set(t.index, t.tile);
      for (const ev of w.raw) { insertSorted(s.raw, ev); if (ev.late) insertSorted(s.late, ev); d.raw.push(ev); }
      if (w.base) { s.base = w.base; d.base = true; }
      const ek = w.eventKeys;
      if (ek?.keys.length) {
        const keys = this.keysOf(s);
        for (let i = 0; i < ek.keys.length; i++) { keys.set(ek.keys[i]!, ek.digests[i]!); d.keys.push(ek.keys[i]!); d.digests.push(ek.digests[i]!); }
      }
      s.meta = w.meta;
      this.pending += 1 + (w.raw.length >> 4);
    }
    if (this.pending >= (this.opts.maxPending ?? 100_000)) this.flushNow();
    else if (!this.timer && this.dirty.size) {
      this.timer = setTimeout(() => { this.timer = null; this.flushNow(); }, this.opts.flushIntervalMs ?? 1000);
      this.timer.unref();
    }
    this.evict(batch.length);
  }

  /** Flushes the series and drops them from memory (materialisation: entities it has finished). */
  async release(keys: readonly SeriesKey[]): Promise<void> {
    const drop: Series[] = [];
    for (const k of keys) { const s = this.mem.get(k.source)?.get(k.entity); if (s) drop.push(s); }
    if (drop.some((s) => this.dirty.has(s))) this.flushNow();
    for (const s of drop) this.drop(s);
  }

  /** Series in memory now, and series dropped from memory so far (past `maxSeriesInMemory`, or released). */
  get memory(): { readonly series: number; readonly dropped: number } {
    return { series: this.order.size, dropped: this.dropped };
  }

  /**
   * Drops least recently used series past `maxSeriesInMemory`, flushing first when one is dirty; never the
   * `recent` most recently used (those the current call touched).
   */
  private evict(recent: number): void {
    const limit = Math.max(this.maxSeries, recent);
    if (this.order.size <= limit) return;
    let n = this.order.size - limit;
    for (const s of this.order) {
      if (n-- <= 0) break;
      if (this.dirty.has(s)) this.flushNow();
      this.drop(s);
    }
  }

  private drop(s: Series): void {
    this.dropped++;
    this.order.delete(s);
    this.mem.get(s.key.source)?.delete(s.key.entity);
  }

  async manifest(): Promise<Record<string, string>> {
    return Object.fromEntries(this.st.manifest.all().map((r) => [r.k, r.v]));
  }

  async reset(sources: readonly string[], manifest: Readonly<Record<string, string>>): Promise<void> {
    const drop = new Set(sources);
    for (const src of drop) { this.mem.delete(src); this.stored.delete(src); }
    for (const s of this.order) if (drop.has(s.key.source)) this.order.delete(s);
    for (const s of this.dirty.keys()) if (drop.has(s.key.source)) this.dirty.delete(s);
    this.db.transaction(() => {
      for (const s of sources) {
        for (const t of ['online_log', 'online_base', 'online_keys']) this.db.prepare(`DELETE FROM ${t} WHERE sid IN (SELECT sid FROM online_series WHERE source = ?)`).run(s);
        this.db.prepare('DELETE FROM online_series WHERE source = ?').run(s);
      }
      for (const [k, v] of Object.entries(manifest)) this.st.setManifest.run(k, v);
    })();
  }

  async flush(): Promise<void> {
    this.flushNow();
  }

  async close(): Promise<void> {
    if (!this.db.open) return;
    this.flushNow();
    this.db.close();
  }

  private flushNow(): void {
    if (this.timer) { clearTimeout(this.timer); this.timer = null; }
    if (this.dirty.size === 0 || !this.db.open) return;
    const { st } = this;
    this.db.transaction(() => {
      for (const [s, d] of this.dirty) {
        if (!s.meta) continue;
        const { source, entity } = s.key;
        if (s.sid === null) {
          s.sid = Number(st.newSeries.run(source, entity).lastInsertRowid);
          this.storedOf(source).set(entity, s.sid);
        }
        if (d.prunedBefore !== null) st.prune.run(s.sid, d.prunedBefore);
        if (d.base && s.base) st.setBase.run(s.sid, this.codec(s.meta.plan).toJson(s.base));
        const from = s.meta.rawFrom ?? -Infinity;
        let kept = d.raw;
        for (let i = 0; i < d.raw.length; i++) if (d.raw[i]!.time < from) { kept = d.raw.filter((ev) => ev.time >= from); break; }
        // Pruned by last_ts like any row, but always after this flush's prune: the newest row survives.
        let last = s.meta.watermark ?? -Infinity;
        for (let i = 0; i < kept.length; i++) if (kept[i]!.time > last) last = kept[i]!.time;
        st.append.run(s.sid, Number.isFinite(last) ? last : 0, metaToJson(s.meta), eventsToJson(kept));
        if (d.keys.length) st.appendKeys.run(s.sid, eventKeysToJson(d.keys, d.digests));
      }
    })();
    this.dirty.clear();
    this.pending = 0;
  }

  /** The series in memory, loaded from SQLite on first use (tiles to be rebuilt); created (empty) only for writes. */
  private series(key: SeriesKey, create: boolean): Series | null {
    let bySource = this.mem.get(key.source);
    let s = bySource?.get(key.entity);
    if (s) {
      this.order.delete(s); // most recently used last
      this.order.add(s);
      return s;
    }
    const sid = this.stored.get(key.source)?.get(key.entity);
    const rows = sid === undefined ? [] : this.st.log.all(sid);
    if (rows.length) {
      const meta = metaFromJson(rows[rows.length - 1]!.meta);
      const base = this.st.base.get(sid!);
      s = { key: { source: key.source, entity: key.entity }, sid: sid!, meta, base: base ? this.codec(meta.plan).fromJson(base.base) : null, tiles: TILE_LEVELS.map(() => new Map<number, Tile>()), tilesBuilt: false, raw: [], late: [], keys: null };
      const from = meta.rawFrom ?? -Infinity;
      for (const row of rows) for (const ev of eventsFromJson(row.events)) if (ev.time >= from) s.raw.push(ev);
      s.raw.sort((a, b) => a.time - b.time);
      s.late = s.raw.filter((ev) => ev.late);
    } else if (create) {
      s = { key: { source: key.source, entity: key.entity }, sid: null, meta: null, base: null, tiles: TILE_LEVELS.map(() => new Map<number, Tile>()), tilesBuilt: true, raw: [], late: [], keys: null };
    } else {
      return null;
    }
    if (!bySource) { bySource = new Map(); this.mem.set(key.source, bySource); }
    bySource.set(key.entity, s);
    this.order.add(s);
    return s;
  }

  /** The series' event keys, loaded from SQLite on first use (a series never flushed has only those in memory). */
  private keysOf(s: Series): Map<string, number> {
    if (s.keys) return s.keys;
    const keys = new Map<string, number>();
    if (s.sid !== null) {
      for (const row of this.st.keys.all(s.sid)) {
        const [k, d] = eventKeysFromJson(row.keys);
        for (let i = 0; i < k.length; i++) keys.set(k[i]!, d[i]!);
      }
    }
    s.keys = keys;
    return keys;
  }

  private storedOf(source: string): Map<string, number> {
    let ids = this.stored.get(source);
    if (!ids) { ids = new Map(); this.stored.set(source, ids); }
    return ids;
  }
}
