/**
 * The Redis backend: per series one hash (`meta`, `base`, one field per tile, `<level>:<index>`, and middle
 * states, `m:...`) and two sorted sets scored by event time (raw events; late events), under one hash tag. A
 * read is one script call per series (HMGET plus ZRANGEBYSCORE per range, run server-side; for a first read
 * also the inner parts, resolved against the meta), all sent before any reply is awaited: one round trip for
 * any number of entities and features. A write is one MULTI/EXEC, so readers never see half a write. The
 * only file that loads `ioredis`, and only when used; the scripts are in redis-scripts.ts.
 */
import type { Redis } from 'ioredis';
import { KilnError } from '../../core/errors.js';
import { list } from '../../core/young.js';
import { JSON_TILE_CODEC, STUB_JSON, eventToJson, eventsFromTexts, metaFromJson, metaToJson } from '../codec.js';
import {
  DAY_US, MIDDLE_LEVEL, TILE_LEVELS, tileKey, type EventKeyRequest, type InnerSpec, type OnlineStore, type ResolvedInner, type OnlineStoreCapabilities, type RawEvent, type SeriesData, type SeriesKey, type SeriesMeta,
  type SeriesRequest, type SeriesWrite, type Tile, type TileCodec, seriesData,
} from '../types.js';
import { PRUNE_TILES, PUT_MIDDLES, READ_SERIES } from './redis-scripts.js';

export interface RedisStoreOptions {
  /** Default: $KILN_REDIS_URL, else redis://127.0.0.1:6379. */
  readonly url?: string;
  /** Prepended to every key, so projects (and tests) sharing a Redis do not collide; e.g. 'kiln:credit:'. */
  readonly prefix: string;
  readonly connectTimeoutMs?: number;
}

export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';

interface SeriesReader {
  kilnReadSeries(s: string, r: string, l: string, ...args: string[]): Promise<unknown>;
  kilnPutMiddles(s: string, ...args: string[]): Promise<unknown>;
}

const parseEvents = (x: unknown): RawEvent[] => eventsFromTexts(x as string[]);

/** Series data from a decoded part. */
function dataOf(p: DecodedPart, inner?: ResolvedInner): SeriesData {
  return seriesData(p.meta, p.raw, p.late, p.tiles, p.base, false, p.stubRaw ?? undefined, inner);
}

/** A script reply's part for one request, decoded, and where the next starts: a class, not a literal, as writes read through here too (see docs/performance-notes.md). */
class DecodedPart {
  constructor(
    readonly meta: SeriesMeta | null, readonly raw: RawEvent[][], readonly late: RawEvent[], readonly tiles: Map<string, Tile>, readonly base: Tile | null,
    readonly stubRaw: RawEvent[] | null, readonly next: number,
  ) {}
}

/** An InnerSpec as script arguments (see READ_SERIES). */
function innerArgs(spec: InnerSpec): string[] {
  const out = ['inner', String(DAY_US), TILE_LEVELS.join(','), STUB_JSON, String(spec.chains.length), String(MIDDLE_LEVEL)];
  spec.chains.forEach((c, k) => {
    out.push(String(c.H), String(c.starts.length));
    c.starts.forEach((x, i) => out.push(String(spec.windows[k]![i]), x === null ? 'L' : String(x)));
  });
  out.push(spec.base ? '1' : '0');
  return out;
}

const score = (t: number): string => (t === -Infinity ? '-inf' : t === Infinity ? '+inf' : String(t));
const globEscape = (s: string): string => s.replace(/[*?[\]\\]/g, '\\$&');

export class RedisOnlineStore implements OnlineStore {
  readonly capabilities: OnlineStoreCapabilities = { name: 'redis', persistent: true, shared: true, durableOnWrite: true, sharesObjects: false, tilesDurable: true, resolvesInner: true };

  private readonly codecs = new Map<string, TileCodec>();

  private constructor(private readonly client: Redis, readonly prefix: string, readonly url: string) {}

  useCodec(plan: string, codec: TileCodec): void {
    this.codecs.set(plan, codec);
  }

  private codec(plan: string | undefined): TileCodec {
    return (plan !== undefined && this.codecs.get(plan)) || JSON_TILE_CODEC;
  }

  /**
   * Connects, or fails with a KilnError that names the URL.
   * @example const backend = await RedisOnlineStore.connect({ prefix: 'kiln:credit:' });
   */
  static async connect(opts: RedisStoreOptions): Promise<RedisOnlineStore> {
    const url = opts.url ?? process.env.KILN_REDIS_URL ?? DEFAULT_REDIS_URL;
    if (!opts.prefix) throw new KilnError('INVALID_ARGUMENT', 'the Redis online store needs a key prefix (e.g. kiln:<project>:)');
    const { Redis } = await import('ioredis');
    const client = new Redis(url, {
      lazyConnect: true, connectTimeout: opts.connectTimeoutMs ?? 2000, maxRetriesPerRequest: 1, enableOfflineQueue: false, retryStrategy: () => null,
    });
    client.on('error', () => undefined); // surfaced by the failing command instead
    client.defineCommand('kilnReadSeries', { numberOfKeys: 3, lua: READ_SERIES });
    client.defineCommand('kilnPutMiddles', { numberOfKeys: 1, lua: PUT_MIDDLES });
    try {
      await client.connect();
    } catch (e) {
      client.disconnect();
      throw new KilnError('ONLINE_UNAVAILABLE', `cannot reach Redis at ${url} (${(e as Error).message}); start Redis there, or set KILN_REDIS_URL (or --redis-url) to a reachable one`, { cause: e });
    }
    return new RedisOnlineStore(client, opts.prefix, url);
  }

  // The hash tag {source:entity} keeps a series' keys in one cluster slot (one script reads them all; one
  // MULTI writes them). 'k': the series' event keys (field: event key, value: its content digest).
  private key(kind: 's' | 'r' | 'l' | 'k', k: SeriesKey): string {
    return `${this.prefix}${kind}{${k.source}:${k.entity}}`;
  }

  async read(requests: readonly SeriesRequest[]): Promise<SeriesData[]> {
    // Commands, not a pipeline: one round trip all the same (see docs/performance-notes.md, ioredis pipelines).
    const client = this.client as unknown as SeriesReader;
    const pending: Promise<unknown>[] = [];
    const layout = requests.map((r) => {
      const fields = r.base ? ['meta', 'base'] : ['meta'];
      for (const tr of r.tiles ?? []) for (let i = tr.from; i < tr.to; i++) fields.push(tileKey(tr.level, i));
      const ranges = (r.raw ?? []).map(([a, b]) => [score(a), `(${score(b)}`]);
      const late = r.late ? [score(r.late[0]), `(${score(r.late[1])}`] : ['', ''];
      const stubs = r.stubRaw ? [TILE_LEVELS.join(','), STUB_JSON] : ['', ''];
      const inner = r.inner ? innerArgs(r.inner) : [];
      pending.push(client.kilnReadSeries(this.key('s', r.key), this.key('r', r.key), this.key('l', r.key), String(fields.length), ...fields, String(ranges.length), ...ranges.flat(), ...late, ...stubs, ...inner));
      return fields;
    });
    let res: unknown[];
    try {
      res = await Promise.all(pending);
    } catch (e) {
      throw new KilnError('ONLINE_UNAVAILABLE', `Redis at ${this.url} failed: ${(e as Error).message}`, { cause: e });
    }
    return requests.map((r, n) => {
      const reply = res[n] as unknown[];
      const first = this.decode(reply, layout[n]!, r.base === true, r.raw?.length ?? 0, r.late !== undefined, r.stubRaw === true);
      const echo = reply[first.next] as [string[], string[], [string, string], number, unknown[]] | undefined;
      if (!r.inner || !echo) return dataOf(first);
      const [fields, bounds, late, base, innerReply] = echo;
      const raw: [number, number][] = [];
      for (let i = 0; i < bounds.length; i += 2) raw.push([Number(bounds[i]), Number(bounds[i + 1])]);
      const innerFields = [...(base ? ['meta', 'base'] : ['meta']), ...fields];
      // the same meta as the first part's (one script, one snapshot): not parsed again
      const data = dataOf(this.decode(innerReply, innerFields, base === 1, raw.length, late[0] !== '', true, first.meta));
      return dataOf(first, { fields, raw, late: late[0] === '' ? null : [Number(late[0]), Number(late[1])], base: base === 1, data });
    });
  }

  /** The one-round-trip read: `read` resolves requests' inner parts in its script (READ_SERIES). */
  readResolved(requests: readonly SeriesRequest[]): Promise<SeriesData[]> {
    return this.read(requests);
  }

  async eventKeys(requests: readonly EventKeyRequest[]): Promise<ReadonlyMap<string, number>[]> {
    // One HMGET per series, all sent before any reply is awaited: one round trip.
    let res: (string | null)[][];
    try {
      res = await Promise.all(requests.map((r) => (r.keys.length ? this.client.hmget(this.key('k', r.key), ...r.keys) : Promise.resolve([]))));
    } catch (e) {
      throw new KilnError('ONLINE_UNAVAILABLE', `Redis at ${this.url} failed: ${(e as Error).message}`, { cause: e });
    }
    return requests.map((r, n) => {
      const out = new Map<string, number>();
      res[n]!.forEach((d, i) => { if (d !== null) out.set(r.keys[i]!, Number(d)); });
      return out;
    });
  }

  /** A script reply's part for one request (`meta`: already parsed from the same reply): its parts, and where the next starts. */
  private decode(reply: unknown[], fields: readonly string[], hasBase: boolean, nRaw: number, hasLate: boolean, stubs: boolean, parsedMeta?: SeriesMeta | null): DecodedPart {
    let at = 0;
    const values = reply[at++] as (string | null)[];
    const meta = parsedMeta !== undefined ? parsedMeta : values[0] ? metaFromJson(values[0]) : null;
    const tiles = new Map<string, Tile>();
    const codec = this.codec(meta?.plan);
    for (let i = hasBase ? 2 : 1; i < fields.length; i++) { const v = values[i]; if (v) tiles.set(fields[i]!, codec.fromJson(v)); }
    const raw = new Array<RawEvent[]>(nRaw);
    for (let i = 0; i < nRaw; i++) raw[i] = parseEvents(reply[at++]);
    const late = hasLate ? parseEvents(reply[at++]) : [];
    let stubRaw: RawEvent[] | null = null;
    if (stubs) {
      stubRaw = list();
      // the script's lists, one per stub field in field order (it tests the same first bytes)
      for (let i = hasBase ? 2 : 1; i < fields.length; i++) if (values[i]?.startsWith(STUB_JSON)) for (const ev of parseEvents(reply[at++])) stubRaw.push(ev);
      stubRaw.sort((a, b) => a.time - b.time);
    }
    return new DecodedPart(meta, raw, late, tiles, hasBase && values[1] ? codec.fromJson(values[1]) : null, stubRaw, at);
  }

  async putMiddles(key: SeriesKey, plan: string, middles: readonly { readonly window: number; readonly field: string; readonly tile: Tile }[]): Promise<void> {
    if (!middles.length) return;
    const codec = this.codec(plan);
    const args = [String(middles.length)];
    for (const m of middles) args.push(String(m.window), m.field, codec.toJson(m.tile));
    await (this.client as unknown as SeriesReader).kilnPutMiddles(this.key('s', key), ...args);
  }

  async write(batch: readonly SeriesWrite[]): Promise<void> {
    if (batch.length === 0) return;
    const m = this.client.multi();
    for (const w of batch) {
      const s = this.key('s', w.key);
      if (w.rebuiltTiles) continue; // tiles are durable here: never missing, so a rebuild has nothing to fill
      if (w.pruneBefore !== undefined) {
        const cut = w.pruneBefore;
        m.zremrangebyscore(this.key('r', w.key), '-inf', `(${score(cut)}`);
        m.zremrangebyscore(this.key('l', w.key), '-inf', `(${score(cut)}`);
        m.eval(PRUNE_TILES, 1, s, ...TILE_LEVELS.map((width) => String(Math.ceil(cut / width))));
      }
      const fields: string[] = ['meta', metaToJson(w.meta)];
      const codec = this.codec(w.meta.plan);
      if (w.base) fields.push('base', codec.toJson(w.base));
      for (const t of w.tiles) fields.push(tileKey(t.level, t.index), codec.toJson(t.tile));
      m.hset(s, ...fields);
      const raw: (string | number)[] = [];
      const late: (string | number)[] = [];
      for (const ev of w.raw) {
        const member = eventToJson(ev);
        raw.push(ev.time, member);
        if (ev.late) late.push(ev.time, member);
      }
      if (raw.length) m.zadd(this.key('r', w.key), ...raw);
      if (late.length) m.zadd(this.key('l', w.key), ...late);
      const ek = w.eventKeys;
      if (ek?.keys.length) {
        const pairs: string[] = [];
        for (let i = 0; i < ek.keys.length; i++) pairs.push(ek.keys[i]!, String(ek.digests[i]!));
        m.hset(this.key('k', w.key), ...pairs);
      }
    }
    await this.exec(m.exec());
  }

  async manifest(): Promise<Record<string, string>> {
    return this.client.hgetall(`${this.prefix}manifest`);
  }

  async reset(sources: readonly string[], manifest: Readonly<Record<string, string>>): Promise<void> {
    for (const src of sources) await this.unlinkMatching(`${globEscape(this.prefix)}[srlk]{${globEscape(src)}:*`);
    const entries = Object.entries(manifest).flat();
    if (entries.length) await this.client.hset(`${this.prefix}manifest`, ...entries);
  }

  /**
   * Moves every series staged under `stage` (a store opened with that prefix) to this store's prefix in
   * one MULTI/EXEC: for each series, its live keys are deleted and the staged ones renamed over them,
   * so readers see each entity's old state or its new one, and the whole partition at once. Returns the
   * series moved. Keys keep their hash tag ({source:entity}), so a key and its new name share a slot.
   */
  async commitStaged(stage: string): Promise<number> {
    if (!stage.startsWith(this.prefix) || stage === this.prefix) throw new KilnError('INVALID_ARGUMENT', `staging prefix '${stage}' must extend the store's prefix '${this.prefix}'`);
    const staged: string[] = [];
    let cursor = '0';
    do {
      const [next, keys] = await this.client.scan(cursor, 'MATCH', `${globEscape(stage)}[srlk]{*`, 'COUNT', 1000);
      cursor = next;
      staged.push(...keys);
    } while (cursor !== '0');
    const tags = new Set<string>();
    const multi = this.client.multi();
    for (const k of staged) tags.add(k.slice(stage.length + 1));
    for (const tag of tags) multi.unlink(...(['s', 'r', 'l', 'k'] as const).map((kind) => `${this.prefix}${kind}${tag}`));
    for (const k of staged) multi.rename(k, `${this.prefix}${k.slice(stage.length)}`);
    if (staged.length) await this.exec(multi.exec());
    return tags.size;
  }

  /** Deletes every key under the prefix (tests and `kiln online` teardown). */
  async drop(): Promise<void> {
    await this.unlinkMatching(`${globEscape(this.prefix)}*`);
  }

  async flush(): Promise<void> {
    // Every write is applied when it resolves; durability beyond that is Redis's own (AOF/RDB) setting.
  }

  async close(): Promise<void> {
    if (this.client.status === 'end') return;
    await this.client.quit().catch(() => this.client.disconnect());
  }

  private async unlinkMatching(pattern: string): Promise<void> {
    let cursor = '0';
    do {
      const [nextCursor, keys] = await this.client.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
      cursor = nextCursor;
      if (keys.length) await this.client.unlink(...keys);
    } while (cursor !== '0');
  }

  private async exec(p: Promise<[Error | null, unknown][] | null>): Promise<unknown[]> {
    let res: [Error | null, unknown][] | null;
    try {
      res = await p;
    } catch (e) {
      throw new KilnError('ONLINE_UNAVAILABLE', `Redis at ${this.url} failed: ${(e as Error).message}`, { cause: e });
    }
    if (!res) throw new KilnError('ONLINE_UNAVAILABLE', `Redis at ${this.url} aborted a transaction`);
    const failed = res.find(([err]) => err);
    if (failed) throw new KilnError('ONLINE_UNAVAILABLE', `Redis at ${this.url} failed: ${failed[0]!.message}`, { cause: failed[0] });
    return res.map(([, v]) => v);
  }
}
