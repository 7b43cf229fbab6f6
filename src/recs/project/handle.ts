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
import type { RetrieveThenRank } from '../ranker.js';
import type { RecsKeys } from './data.js';
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
}

export class RecommenderHandle {
  private readonly userIndex: Map<string, number>;
  private readonly itemIndex: Map<string, number>;

  private constructor(readonly meta: RecommenderMeta, readonly keys: RecsKeys, readonly model: RetrieveThenRank, readonly dir: string) {
    this.userIndex = new Map(keys.users.map((k, i) => [k, i]));
    this.itemIndex = new Map(keys.items.map((k, i) => [k, i]));
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

  recommend(req: RecommendRequest): RecommendResponse {
    const k = req.k ?? 10;
    if (!Number.isInteger(k) || k < 1 || k > 1000) throw new KilnError('RECS_PARAM_INVALID', `k must be an integer in [1, 1000], got ${k}`, { path: ['k'] });
    const cap = this.model.settings.candidates;
    if (req.items && req.items.length > cap) throw new KilnError('RECS_PARAM_INVALID', `items holds ${req.items.length} keys; this recommender re-ranks at most ${cap} (its candidates setting)`, { path: ['items'] });
    const unknown: string[] = [];
    const exclude = new Set(this.itemIds(req.exclude, unknown));
    const items = req.items ? Int32Array.from(this.itemIds(req.items, unknown)) : undefined;
    const user = this.userIndex.get(String(req.user));
    const opts = { exclude, ...(items ? { items } : {}) };
    const strategy = user === undefined ? 'popularity' : 'ranked';
    const top = user === undefined ? this.model.popular(k, opts) : this.model.recommend(user, k, opts);
    const attrs = req.attributes ? this.model.data.itemAttributes : undefined;
    const cats = this.keys.categories.items;
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
    };
  }
}
