/**
 * A trained recommender version opened for requests (`POST /v1/recommend/:name`, `kiln recs recommend`):
 * raw user and item keys in and out, retrieve-then-rank for users the model knows, popularity under the
 * same rules for users it has never seen (cold start), `exclude` (items the caller knows the user must
 * not get) and `items` (re-rank the caller's own candidates instead of retrieving).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { KilnError } from '../../core/errors.js';
import type { Project } from '../../store/index.js';
import { loadRetrieveThenRank } from '../persist.js';
import type { Candidates } from '../generator.js';
import type { FreshAttributes, RetrieveThenRank } from '../ranker.js';
import type { RecsKeys } from './data.js';
import { LiveReader } from './live.js';
import { readMeta, recommenderDir, recommenderSpec, recommenderVersions, type RecommenderMeta } from './versions.js';

export interface RecommendRequest {
  user: string | number;
  /** How many items (default 10). */
  k?: number;
  /** Items never to return (already bought, out of stock). */
  exclude?: (string | number)[];
  /** Re-rank these items instead of retrieving candidates (unknown keys are skipped and listed). */
  items?: (string | number)[];
  /** Item attributes to return with each item (the model's categorical and numeric item columns). */
  attributes?: boolean;
}

export interface RecommendedItem {
  item: string;
  score: number;
  rank: number;
  attributes?: Record<string, string | number | null>;
}

export interface RecommendResponse {
  recommender: string;
  version: number;
  user: string;
  /** 'ranked': the user's candidates through the ranker; 'popularity': a user the model has not seen. */
  strategy: 'ranked' | 'popularity';
  items: RecommendedItem[];
  /** Keys in `items` or `exclude` the model does not know. */
  unknownItems?: string[];
  /**
   * With feature-store attributes: 'online' when the ranker read them from the online store at the
   * request, 'training' when it read the values frozen at training (no online store given).
   */
  featureValues?: 'online' | 'training';
}

/** What `recommendOnline` needs of the online feature store. */
export interface OnlineFeatureReader {
  getOnlineFeatures(entityIds: readonly (string | number)[], features?: string | readonly string[]): Promise<Record<string, unknown>[]>;
}

export class RecommenderHandle {
  private readonly userIndex: Map<string, number>;
  private readonly itemIndex: Map<string, number>;
  private readonly readers: { users?: LiveReader; items?: LiveReader };
  /** Items' feature-store values read by earlier requests, and when (ms; -Infinity = never). */
  private itemCache: { numeric: Record<string, Float32Array>; categorical: Record<string, Int32Array>; at: Float64Array } | null = null;

  private constructor(readonly meta: RecommenderMeta, readonly keys: RecsKeys, readonly model: RetrieveThenRank, readonly dir: string) {
    this.userIndex = new Map(keys.users.map((k, i) => [k, i]));
    this.itemIndex = new Map(keys.items.map((k, i) => [k, i]));
    this.readers = {
      ...(meta.live?.users ? { users: new LiveReader(meta.live.users) } : {}),
      ...(meta.live?.items ? { items: new LiveReader(meta.live.items) } : {}),
    };
  }

  /** Whether the ranker reads user or item features of the feature store (then `recommendOnline` reads them fresh). */
  get readsFeatureStore(): boolean {
    return this.readers.users !== undefined || this.readers.items !== undefined;
  }

  /** Opens version `version` of a declared recommender (default its newest). */
  static open(project: Project, name: string, version?: number): RecommenderHandle {
    recommenderSpec(project, name);
    const versions = recommenderVersions(project, name);
    if (versions.length === 0) throw new KilnError('RECOMMENDER_NOT_FOUND', `recommender '${name}' is not trained yet; run \`kiln recs train ${name}\``, { path: ['recommenders', name] });
    const v = version ?? versions.at(-1)!;
    if (!versions.includes(v)) throw new KilnError('RECOMMENDER_NOT_FOUND', `recommender '${name}' has no version ${v} (versions: ${versions.join(', ')})`, { path: ['recommenders', name, 'version'] });
    const dir = join(recommenderDir(project, name), `v${v}`);
    const meta = readMeta(dir);
    const keysPath = join(dir, 'keys.json');
    if (!existsSync(keysPath)) throw new KilnError('FILE_INVALID', `${keysPath} is missing; the version folder is incomplete`, { path: [keysPath] });
    const keys = JSON.parse(readFileSync(keysPath, 'utf8')) as RecsKeys;
    const model = loadRetrieveThenRank(dir);
    if (keys.users.length !== model.data.train.nUsers || keys.items.length !== model.data.train.nItems) {
      throw new KilnError('FILE_INVALID', `${keysPath} has ${keys.users.length} users and ${keys.items.length} items; the model has ${model.data.train.nUsers} and ${model.data.train.nItems}`, { path: [keysPath] });
    }
    return new RecommenderHandle(meta, keys, model, dir);
  }

  private itemIds(keys: (string | number)[] | undefined, unknown: string[]): number[] {
    const out: number[] = [];
    for (const k of keys ?? []) {
      const i = this.itemIndex.get(String(k));
      if (i === undefined) unknown.push(String(k));
      else out.push(i);
    }
    return out;
  }

  private parse(req: RecommendRequest): { k: number; exclude: Set<number>; items: Int32Array | undefined; user: number | undefined; unknown: string[] } {
    const k = req.k ?? 10;
    if (!Number.isInteger(k) || k < 1 || k > 1000) throw new KilnError('RECS_PARAM_INVALID', `k must be an integer in [1, 1000], got ${k}`, { path: ['k'] });
    const cap = this.model.settings.candidates;
    if (req.items && req.items.length > cap) throw new KilnError('RECS_PARAM_INVALID', `items holds ${req.items.length} keys; this recommender re-ranks at most ${cap} (its candidates setting)`, { path: ['items'] });
    const unknown: string[] = [];
    const exclude = new Set(this.itemIds(req.exclude, unknown));
    const items = req.items ? Int32Array.from(this.itemIds(req.items, unknown)) : undefined;
    return { k, exclude, items, user: this.userIndex.get(String(req.user)), unknown };
  }

  /**
   * The top items, with attributes as stored in the version (feature-store values as of training).
   * `recommendOnline` reads them fresh.
   */
  recommend(req: RecommendRequest): RecommendResponse {
    const p = this.parse(req);
    const opts = { exclude: p.exclude, ...(p.items ? { items: p.items } : {}) };
    const top = p.user === undefined ? this.model.popular(p.k, opts) : this.model.recommend(p.user, p.k, opts);
    return this.response(req, p.user === undefined ? 'popularity' : 'ranked', top, p.unknown, this.readsFeatureStore ? 'training' : undefined);
  }

  /**
   * The top items with the user's and the candidates' feature-store attributes read from the online
   * store now (one read for the user, one for the candidates, concurrently): what the ranker sees is the
   * moment of the request, not the training cut. Without an online store, as `recommend`.
   */
  async recommendOnline(req: RecommendRequest, online: OnlineFeatureReader | null): Promise<RecommendResponse> {
    if (!online || !this.readsFeatureStore) return this.recommend(req);
    const p = this.parse(req);
    if (p.user === undefined) return this.recommend(req);
    const user = p.user;
    const items = p.items ?? this.model.candidates(user);
    const { users: ur, items: ir } = this.readers;
    const [urows, itemValues] = await Promise.all([
      ur ? online.getOnlineFeatures([this.keys.users[user]!], ur.live.features) : null,
      ir && items.length ? this.itemValues(online, ir, items) : null,
    ]);
    const fresh: FreshAttributes = {
      ...(ur && urows ? { user: ur.read(urows) } : {}),
      ...(itemValues ? { items: itemValues } : {}),
    };
    const top = this.model.select(this.model.rerankFresh(user, items, fresh), p.k, p.exclude);
    return this.response(req, 'ranked', top, p.unknown, 'online');
  }

  /**
   * The candidates' feature-store values: those read less than `items.maxAgeSeconds` ago (default 5) come
   * from this handle's cache, the rest from one online read. Item aggregates move slowly and every user's
   * request shares them; a user's are read at every request.
   */
  private async itemValues(online: OnlineFeatureReader, reader: LiveReader, items: Int32Array): Promise<NonNullable<FreshAttributes['items']>> {
    const maxAge = (this.meta.spec.items?.maxAgeSeconds ?? 5) * 1000;
    const n = this.keys.items.length;
    const cache = (this.itemCache ??= {
      numeric: Object.fromEntries(reader.live.numeric.map((c) => [c, new Float32Array(n)])),
      categorical: Object.fromEntries(reader.live.categorical.map((c) => [c, new Int32Array(n)])),
      at: new Float64Array(n).fill(-Infinity),
    });
    const now = Date.now();
    const stale = maxAge > 0 ? items.filter((i) => !(now - cache.at[i]! < maxAge)) : items;
    if (stale.length) {
      const got = reader.read(await online.getOnlineFeatures(Array.from(stale, (i) => this.keys.items[i]!), reader.live.features));
      stale.forEach((i, r) => {
        for (const [c, col] of Object.entries(got.numeric)) cache.numeric[c]![i] = col[r]!;
        for (const [c, col] of Object.entries(got.categorical)) cache.categorical[c]![i] = col[r]!;
        cache.at[i] = now;
      });
    }
    return {
      numeric: Object.fromEntries(Object.entries(cache.numeric).map(([c, col]) => [c, Float32Array.from(items, (i) => col[i]!)])),
      categorical: Object.fromEntries(Object.entries(cache.categorical).map(([c, col]) => [c, Int32Array.from(items, (i) => col[i]!)])),
    };
  }

  private response(req: RecommendRequest, strategy: 'ranked' | 'popularity', top: Candidates, unknown: string[], featureValues: 'online' | 'training' | undefined): RecommendResponse {
    const attrs = req.attributes ? this.model.data.itemAttributes : undefined;
    const cats = { ...this.keys.categories.items, ...this.meta.live?.items?.categories };
    const out: RecommendedItem[] = Array.from(top.items, (i, r) => {
      const it: RecommendedItem = { item: this.keys.items[i]!, score: top.scores[r]!, rank: r + 1 };
      if (attrs) {
        const a: Record<string, string | number | null> = {};
        for (const [c, col] of Object.entries(attrs.numeric ?? {})) a[c] = Number.isNaN(col[i]!) ? null : col[i]!;
        for (const [c, col] of Object.entries(attrs.categorical ?? {})) a[c] = col[i]! < 0 ? null : cats[c]?.[col[i]!] ?? null;
        it.attributes = a;
      }
      return it;
    });
    return {
      recommender: this.meta.name, version: this.meta.version, user: String(req.user), strategy, items: out,
      ...(unknown.length ? { unknownItems: unknown } : {}),
      ...(featureValues && strategy === 'ranked' ? { featureValues } : {}),
    };
  }
}
