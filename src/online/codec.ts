/**
 * The online store's codec: how tiles, aggregator states, raw events and metas are written as text by the
 * backends that store text (SQLite's log and bases, Redis's hashes and sorted sets), and read back. The
 * stored forms' short field names (`{s, n, e}` for tiles, `{u, ts, e, l, v}` for events, `{c, t, e}` for an
 * event log) are this module's business alone: in memory, tiles and events have named fields (`Tile`,
 * `RawEvent` in types.ts), and decoders build them straight from the parsed JSON. The Redis read script also
 * knows a stub tile's first bytes (STUB_JSON). Changing a stored form is a new ONLINE_FORMAT (engine/plan.ts).
 */
import type { Scalar } from '../features/index.js';
import { isLate, makeTile, rawEvent, type RawEvent, type SeriesMeta, type Tile, type TileCodec } from './types.js';

const MAP_TAG = '$map';
/** How every stub tile's JSON starts (the Redis read script recognises stubs by it). */
export const STUB_JSON = '{"s":null,"n":';

/** A tile as stored: `s` its states (null: a stub), `n` its count, `e` its latest effective time (bases only). */
interface StoredTile {
  s: unknown[] | null;
  n: number;
  e?: number;
}

/** An event as stored: `u` id, `ts` event time, `e` effective time, `l` late, `v` values. */
interface StoredEvent {
  readonly u: string;
  readonly ts: number;
  readonly e: number;
  readonly l: 0 | 1;
  readonly v: Readonly<Record<string, Scalar>>;
}

/** A tile's stored JSON, given its states as stored (stubs by STUB_JSON first: Redis reads stubs by it). */
function storedTileJson(t: Tile, states: unknown[] | null): string {
  const e = t.lastVisibleAt;
  if (states === null) return e === undefined ? `${STUB_JSON}${t.count}}` : `${STUB_JSON}${t.count},"e":${e}}`;
  return JSON.stringify(e === undefined ? { s: states, n: t.count } : { s: states, n: t.count, e });
}

/** A tile as JSON, for backends that store text: Map states (count-distinct) become `{ $map: entries }`. */
export function tileToJson(t: Tile): string {
  const s = t.states;
  if (s === null || !s.some((x) => x instanceof Map)) return storedTileJson(t, s);
  return storedTileJson(t, s.map((x) => (x instanceof Map ? { [MAP_TAG]: [...x] } : x)));
}

/** The inverse of `tileToJson`. */
export function tileFromJson(text: string): Tile {
  const t = JSON.parse(text) as StoredTile;
  const s = t.s;
  if (s) {
    for (let i = 0; i < s.length; i++) {
      const x = s[i] as Record<string, unknown> | null;
      if (x !== null && typeof x === 'object' && !Array.isArray(x) && Array.isArray(x[MAP_TAG])) s[i] = new Map(x[MAP_TAG] as [unknown, unknown][]);
    }
  }
  return makeTile(s, t.n, t.e);
}


/** The codec for tiles of a plan the backend was given none for: plain JSON, Map states tagged. */
export const JSON_TILE_CODEC: TileCodec = { toJson: tileToJson, fromJson: tileFromJson };

/** An event in its stored form (field order as ever: stored texts stay byte for byte the same). */
const storedEvent = (ev: RawEvent): StoredEvent => ({ u: ev.id, ts: ev.time, e: ev.visibleAt, l: ev.late, v: ev.values });
/** An event from its stored form. */
const eventOf = (x: StoredEvent): RawEvent => rawEvent(x.u, x.ts, x.e, x.l, x.v);

/**
 * Raw events as compact JSON for a log: the value columns and the first event time once, then one array
 * per event `[u, ts − t0, e − ts, ...values]` (small integers print fast; `l` follows from ts and e).
 * Events whose columns differ from the first one's (not expected: a source's events share its columns)
 * are written as objects.
 */
export function eventsToJson(events: readonly RawEvent[]): string {
  if (events.length === 0) return '[]';
  const cols = Object.keys(events[0]!.values);
  const t0 = events[0]!.time;
  const rows: unknown[][] = new Array(events.length);
  for (let i = 0; i < events.length; i++) {
    const ev = events[i]!;
    if (!Number.isSafeInteger(ev.time) || !Number.isSafeInteger(ev.visibleAt)) return JSON.stringify(events.map(storedEvent)); // differences exact for whole µs only
    const row: unknown[] = [ev.id, ev.time - t0, ev.visibleAt - ev.time];
    let j = 0;
    for (const k in ev.values) {
      if (k !== cols[j]) return JSON.stringify(events.map(storedEvent));
      row.push(ev.values[k]);
      j++;
    }
    if (j !== cols.length) return JSON.stringify(events.map(storedEvent));
    rows[i] = row;
  }
  return JSON.stringify({ c: cols, t: t0, e: rows });
}

/** The inverse of `eventsToJson` (which also reads a plain array of event objects). */
export function eventsFromJson(text: string): RawEvent[] {
  const x = JSON.parse(text) as StoredEvent[] | { c: string[]; t: number; e: unknown[][] };
  if (Array.isArray(x)) return x.map(eventOf);
  const { c, t, e } = x;
  return e.map((row) => {
    const v: Record<string, Scalar> = {};
    for (let j = 0; j < c.length; j++) v[c[j]!] = row[3 + j] as Scalar;
    const ts = t + (row[1] as number);
    const eff = ts + (row[2] as number);
    return rawEvent(row[0] as string, ts, eff, isLate(ts, eff), v);
  });
}

/** One raw event as stored text (a Redis sorted-set member): `{u, ts, e, l, v}`. */
export function eventToJson(ev: RawEvent): string {
  return JSON.stringify(storedEvent(ev));
}

/** Raw events from their stored texts (`eventToJson`): each built from its parsed JSON. */
export function eventsFromTexts(texts: readonly string[]): RawEvent[] {
  const out = new Array<RawEvent>(texts.length);
  for (let i = 0; i < texts.length; i++) out[i] = eventOf(JSON.parse(texts[i]!) as StoredEvent);
  return out;
}

/** A series' meta as stored text (its fields are named alike in memory and in store; the Redis script reads them). */
export function metaToJson(meta: SeriesMeta): string {
  return JSON.stringify(meta);
}

export function metaFromJson(text: string): SeriesMeta {
  return JSON.parse(text) as SeriesMeta;
}

/** A flush's event keys of one series, with their content digests, as stored text (`[keys, digests]`). */
export function eventKeysToJson(keys: readonly string[], digests: readonly number[]): string {
  return JSON.stringify([keys, digests]);
}

export function eventKeysFromJson(text: string): [string[], number[]] {
  return JSON.parse(text) as [string[], number[]];
}

/** What a slot's aggregator gives the codec: its state's compact form, when it has one. */
interface StateCodec {
  encode?(state: unknown): unknown;
  decode?(stored: unknown): unknown;
}

/**
 * A tile codec for slots with these aggregators: each slot's state in its aggregator's compact form
 * (`encode`/`decode`), stubs exactly as `tileToJson` writes them (the Redis read script recognises them by
 * their first bytes).
 */
export function slotsTileCodec(aggs: readonly (StateCodec | undefined)[]): TileCodec {
  return {
    toJson: (t) => {
      const states = t.states;
      if (states === null) return storedTileJson(t, null);
      const s = new Array<unknown>(states.length);
      for (let i = 0; i < states.length; i++) { const x = states[i]; const agg = aggs[i]; s[i] = x === null || x === undefined || !agg?.encode ? (x ?? null) : agg.encode(x); }
      return storedTileJson(t, s);
    },
    fromJson: (text) => {
      const t = JSON.parse(text) as StoredTile;
      const s = t.s;
      if (s) for (let i = 0; i < s.length; i++) { const x = s[i]; const agg = aggs[i]; if (x !== null && agg?.decode) s[i] = agg.decode(x); }
      return makeTile(s, t.n, t.e);
    },
  };
}
