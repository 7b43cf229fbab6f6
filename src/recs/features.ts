/**
 * Features of (user, candidate item) pairs for the ranker, from whatever the table declares:
 *   <gen>.rank, <gen>.z, <gen>.rel     per generator: the item's rank among the user's candidates by
 *                                       its score (0 = best), the score standardised over those
 *                                       candidates, and the score over the largest |score| among them;
 *   item.users, user.items              distinct users of the item, distinct items of the user, each
 *                                       over its mean (over items, users with any interaction);
 *   item.<col>, user.<col>              every numeric and categorical attribute column given;
 *   pair.<col>                          numeric item column: item value - mean over the user's items;
 *   pair.<col>.share                    categorical item column: share of the user's items in the item's category;
 *   with weights (ratings, counts): item.meanWeight, user.meanWeight and pair.weightGap (their difference);
 *   with event times: item.meanTime, item.firstTime, user.meanTime, user.lastTime, pair.timeGap
 *   (item mean - user mean), pair.afterUser (item's first time - user's last: an item that appeared
 *   after the user left is unlikely), pair.beforeUser (user's first time - item's last) and
 *   pair.nearUser (the item's interactions within `timeWindow` of the user's median time, over the
 *   mean interactions per item: what was popular while the user was active).
 * The ranker is fitted on features from generators trained on part of train and then used with
 * generators refitted on all of it, so no feature depends on the size of the table: raw scores and
 * counts grow with it (a split on `item.users > 40` would move), ranks, standardised scores and counts
 * over their mean do not.
 * `union` takes each generator's own candidate list (exact, or from its ANN index) and `write` asks each
 * generator for the scores of the candidates only (`scoreItems`), so nothing here needs a score for
 * every item of the catalogue.
 */
import { KilnError } from '../core/errors.js';
import type { CandidateGenerator } from './generator.js';
import { sortedHas } from './metrics.js';
import { userItems, type EntityAttributes, type InteractionTable, type UserItems } from './table.js';

export interface FeatureOptions {
  /** Half-width of pair.nearUser's window, in the table's time unit (default: a twentieth of the time span). */
  timeWindow?: number;
}

interface TimeStats {
  itemMean: Float32Array; itemFirst: Float32Array; itemLast: Float32Array;
  userMean: Float32Array; userFirst: Float32Array; userLast: Float32Array; userMedian: Float64Array;
  /** Each item's interaction times, sorted: offsets (nItems + 1) into times. */
  itemOffsets: Int32Array; itemTimes: Float64Array; window: number; origin: number;
}

function timeStats(t: InteractionTable, times: Float64Array, window: number | undefined): TimeStats {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of times) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
  const origin = lo;
  const itemOffsets = new Int32Array(t.nItems + 1);
  for (let k = 0; k < t.items.length; k++) itemOffsets[t.items[k]! + 1]!++;
  for (let i = 0; i < t.nItems; i++) itemOffsets[i + 1]! += itemOffsets[i]!;
  const fill = itemOffsets.slice(0, t.nItems);
  const itemTimes = new Float64Array(t.items.length);
  for (let k = 0; k < t.items.length; k++) itemTimes[fill[t.items[k]!]!++] = times[k]!;
  const itemMean = new Float32Array(t.nItems).fill(NaN);
  const itemFirst = new Float32Array(t.nItems).fill(NaN);
  const itemLast = new Float32Array(t.nItems).fill(NaN);
  for (let i = 0; i < t.nItems; i++) {
    const row = itemTimes.subarray(itemOffsets[i]!, itemOffsets[i + 1]!).sort();
    if (row.length === 0) continue;
    let s = 0;
    for (const v of row) s += v - origin;
    itemMean[i] = s / row.length;
    itemFirst[i] = row[0]! - origin;
    itemLast[i] = row[row.length - 1]! - origin;
  }
  const byUser: number[][] = Array.from({ length: t.nUsers }, () => []);
  for (let k = 0; k < t.users.length; k++) byUser[t.users[k]!]!.push(times[k]!);
  const userMean = new Float32Array(t.nUsers).fill(NaN);
  const userFirst = new Float32Array(t.nUsers).fill(NaN);
  const userLast = new Float32Array(t.nUsers).fill(NaN);
  const userMedian = new Float64Array(t.nUsers).fill(NaN);
  byUser.forEach((xs, u) => {
    if (xs.length === 0) return;
    xs.sort((a, b) => a - b);
    userMean[u] = xs.reduce((s, v) => s + v - origin, 0) / xs.length;
    userFirst[u] = xs[0]! - origin;
    userLast[u] = xs[xs.length - 1]! - origin;
    userMedian[u] = xs[xs.length >> 1]!;
  });
  const w = window ?? (hi > lo ? (hi - lo) / 20 : 1);
  if (!(w > 0) || !Number.isFinite(w)) throw new KilnError('RECS_PARAM_INVALID', `timeWindow must be a finite number > 0, got ${w}`, { path: ['timeWindow'] });
  return { itemMean, itemFirst, itemLast, userMean, userFirst, userLast, userMedian, itemOffsets, itemTimes, window: w, origin };
}

/** First index in sorted a[from..to) with a[i] >= x. */
function lowerBound(a: Float64Array, from: number, to: number, x: number): number {
  let lo = from;
  let hi = to;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (a[mid]! < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

type PairFn = (user: number, item: number) => number;

export class FeatureBuilder {
  readonly names: string[] = [];
  /** Names of the categorical features (integer codes, NaN = missing). */
  readonly categorical: string[] = [];
  private readonly static: PairFn[] = [];
  private readonly seen: UserItems;
  private itemScores = new Float32Array(0);
  private readonly seenMask: Uint8Array;
  private user = -1;

  constructor(
    train: InteractionTable,
    private readonly generators: CandidateGenerator[],
    attrs: { userAttributes?: EntityAttributes; itemAttributes?: EntityAttributes } = {},
    opts: FeatureOptions = {},
  ) {
    const names = new Set<string>();
    for (const g of generators) {
      if (names.has(g.name)) throw new KilnError('RECS_PARAM_INVALID', `two generators are named '${g.name}'; give each a distinct name`, { path: ['generators', 'name'] });
      names.add(g.name);
      this.names.push(`${g.name}.rank`, `${g.name}.z`, `${g.name}.rel`);
    }
    this.seen = userItems(train);
    const seen = this.seen;
    this.seenMask = new Uint8Array(train.nItems);
    const itemUsers = new Float32Array(train.nItems);
    for (const i of seen.items) itemUsers[i]!++;
    const activeItems = itemUsers.reduce((c, v) => c + (v > 0 ? 1 : 0), 0);
    let activeUsers = 0;
    for (let u = 0; u < train.nUsers; u++) if (seen.offsets[u + 1]! > seen.offsets[u]!) activeUsers++;
    const perItem = seen.items.length / Math.max(1, activeItems);
    const perUser = seen.items.length / Math.max(1, activeUsers);
    this.add('item.users', (_u, i) => itemUsers[i]! / perItem);
    this.add('user.items', (u) => (seen.offsets[u + 1]! - seen.offsets[u]!) / perUser);
    const ia = attrs.itemAttributes ?? {};
    const ua = attrs.userAttributes ?? {};
    for (const [n, col] of Object.entries(ia.numeric ?? {})) this.add(`item.${n}`, (_u, i) => col[i]!);
    for (const [n, col] of Object.entries(ia.categorical ?? {})) this.add(`item.${n}`, (_u, i) => (col[i]! < 0 ? NaN : col[i]!), true);
    for (const [n, col] of Object.entries(ua.numeric ?? {})) this.add(`user.${n}`, (u) => col[u]!);
    for (const [n, col] of Object.entries(ua.categorical ?? {})) this.add(`user.${n}`, (u) => (col[u]! < 0 ? NaN : col[u]!), true);
    for (const [n, col] of Object.entries(ia.numeric ?? {})) {
      const mean = new Float32Array(train.nUsers).fill(NaN);
      for (let u = 0; u < train.nUsers; u++) {
        let s = 0;
        let c = 0;
        for (let p = seen.offsets[u]!; p < seen.offsets[u + 1]!; p++) {
          const v = col[seen.items[p]!]!;
          if (v === v) { s += v; c++; }
        }
        if (c > 0) mean[u] = s / c;
      }
      this.add(`pair.${n}`, (u, i) => col[i]! - mean[u]!);
    }
    for (const [n, col] of Object.entries(ia.categorical ?? {})) {
      const shares = new Map<number, number>();
      let cachedUser = -1;
      this.add(`pair.${n}.share`, (u, i) => {
        if (u !== cachedUser) {
          shares.clear();
          const len = seen.offsets[u + 1]! - seen.offsets[u]!;
          for (let p = seen.offsets[u]!; p < seen.offsets[u + 1]!; p++) {
            const c = col[seen.items[p]!]!;
            if (c >= 0) shares.set(c, (shares.get(c) ?? 0) + 1 / len);
          }
          cachedUser = u;
        }
        return col[i]! < 0 ? NaN : shares.get(col[i]!) ?? 0;
      });
    }
    if (train.weights) {
      const mean = (ids: Int32Array, n: number): Float32Array => {
        const sum = new Float64Array(n);
        const cnt = new Float64Array(n);
        for (let k = 0; k < ids.length; k++) { sum[ids[k]!]! += train.weights![k]!; cnt[ids[k]!]!++; }
        return Float32Array.from(sum, (v, i) => (cnt[i]! > 0 ? v / cnt[i]! : NaN));
      };
      const im = mean(train.items, train.nItems);
      const um = mean(train.users, train.nUsers);
      this.add('item.meanWeight', (_u, i) => im[i]!);
      this.add('user.meanWeight', (u) => um[u]!);
      this.add('pair.weightGap', (u, i) => im[i]! - um[u]!);
    }
    if (train.times) {
      const ts = timeStats(train, train.times, opts.timeWindow);
      const perItemRows = train.items.length / Math.max(1, activeItems);
      this.add('item.meanTime', (_u, i) => ts.itemMean[i]!);
      this.add('item.firstTime', (_u, i) => ts.itemFirst[i]!);
      this.add('user.meanTime', (u) => ts.userMean[u]!);
      this.add('user.lastTime', (u) => ts.userLast[u]!);
      this.add('pair.timeGap', (u, i) => ts.itemMean[i]! - ts.userMean[u]!);
      this.add('pair.afterUser', (u, i) => ts.itemFirst[i]! - ts.userLast[u]!);
      this.add('pair.beforeUser', (u, i) => ts.userFirst[u]! - ts.itemLast[i]!);
      this.add('pair.nearUser', (u, i) => {
        const m = ts.userMedian[u]!;
        if (m !== m) return NaN;
        const a = ts.itemOffsets[i]!;
        const b = ts.itemOffsets[i + 1]!;
        return (lowerBound(ts.itemTimes, a, b, m + ts.window) - lowerBound(ts.itemTimes, a, b, m - ts.window)) / perItemRows;
      });
    }
  }

  private add(name: string, fn: PairFn, categorical = false): void {
    if (this.names.includes(name)) throw new KilnError('RECS_DATA_INVALID', `feature '${name}' would be defined twice; rename the attribute column`, { path: ['attributes', name] });
    this.names.push(name);
    this.static.push(fn);
    if (categorical) this.categorical.push(name);
  }

  /** Sets the user that `union` and `write` work for. */
  score(user: number): void {
    this.user = user;
  }

  /** The user's training items, sorted. */
  seenItems(user: number): Int32Array {
    return this.seen.items.subarray(this.seen.offsets[user]!, this.seen.offsets[user + 1]!);
  }

  /**
   * Up to n distinct unseen items: each generator's list best first, taken round-robin by rank
   * (every generator's first, then every second, ...), so each source is represented.
   */
  union(n: number, perGenerator: number): Int32Array {
    const u = this.user;
    const lists = this.generators.map((g) => g.candidates(u, Math.min(perGenerator, g.nItems)).items);
    const taken = this.seenMask;
    const out: number[] = [];
    const depth = Math.max(0, ...lists.map((l) => l.length));
    for (let r = 0; r < depth && out.length < n; r++) {
      for (const l of lists) {
        if (r >= l.length) continue;
        const i = l[r]!;
        if (taken[i]) continue;
        taken[i] = 1;
        out.push(i);
        if (out.length === n) break;
      }
    }
    for (const i of out) taken[i] = 0;
    return Int32Array.from(out);
  }

  /** Writes the features of (user, items[r]) into cols[f][offset + r]; `score(user)` must have run. */
  write(items: Int32Array, cols: Float32Array[], offset: number): void {
    const u = this.user;
    const m = items.length;
    let f = 0;
    const order = Int32Array.from({ length: m }, (_, r) => r);
    if (this.itemScores.length < m) this.itemScores = new Float32Array(m);
    const s = this.itemScores;
    for (let g = 0; g < this.generators.length; g++) {
      this.generators[g]!.scoreItems(u, items, s);
      let sum = 0;
      let sq = 0;
      for (let r = 0; r < m; r++) { const v = s[r]!; sum += v; sq += v * v; }
      const mean = m > 0 ? sum / m : 0;
      const sd = m > 1 ? Math.sqrt(Math.max(0, sq / m - mean * mean)) : 0;
      order.sort((a, b) => s[b]! - s[a]! || items[a]! - items[b]!);
      let top = 0;
      for (let r = 0; r < m; r++) top = Math.max(top, Math.abs(s[r]!));
      const rank = cols[f++]!;
      const z = cols[f++]!;
      const rel = cols[f++]!;
      for (let r = 0; r < m; r++) {
        const v = s[r]!;
        z[offset + r] = sd > 0 ? (v - mean) / sd : 0;
        rel[offset + r] = top > 0 ? v / top : 0;
      }
      for (let p = 0; p < m; p++) rank[offset + order[p]!] = p;
    }
    for (const fn of this.static) {
      const col = cols[f++]!;
      for (let r = 0; r < m; r++) col[offset + r] = fn(u, items[r]!);
    }
  }

  /** Whether item is in the user's training items. */
  hasSeen(user: number, item: number): boolean {
    return sortedHas(this.seen.items, this.seen.offsets[user]!, this.seen.offsets[user + 1]!, item);
  }
}
