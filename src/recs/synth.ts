/**
 * A synthetic marketplace for tests and for the second shape of the benches: items in categories with
 * a popularity (log-normal), a price and a release time; users with a favourite category, a price
 * level and an activity window. Each interaction happens at a time inside the user's window and picks
 * (by popularity) an item already released, from the favourite category with probability `focus`,
 * otherwise from the whole catalogue, a cheaper-than-usual item being likelier for thrifty users.
 * So category, price and time all carry signal beyond co-occurrence. Seeded: same options, same bytes.
 */
import { Rng } from '../core/rng.js';
import { throwIssues, type EntityAttributes, type InteractionTable } from './table.js';

export interface MarketplaceOptions {
  users?: number;
  items?: number;
  categories?: number;
  /** Mean interactions per user (at least 5 each). */
  perUser?: number;
  /** Probability that an interaction is in the user's favourite category. */
  focus?: number;
  seed?: number;
}

export interface Marketplace {
  table: InteractionTable;
  userAttributes: EntityAttributes;
  itemAttributes: EntityAttributes;
  /** The favourite category of each user (the truth the features should find). */
  favourite: Int32Array;
}

export function syntheticMarketplace(opts: MarketplaceOptions = {}): Marketplace {
  const nUsers = opts.users ?? 400;
  const nItems = opts.items ?? 300;
  const C = opts.categories ?? 6;
  const perUser = opts.perUser ?? 20;
  const focus = opts.focus ?? 0.7;
  const seed = opts.seed ?? 1;
  const posInt = (name: string, v: number): { path: string[]; message: string }[] => (Number.isInteger(v) && v >= 1 ? [] : [{ path: [name], message: `must be a positive integer, got ${v}` }]);
  throwIssues('RECS_PARAM_INVALID', 'synthetic marketplace options', [
    ...posInt('users', nUsers), ...posInt('items', nItems), ...posInt('categories', C), ...posInt('seed', seed + 1),
    ...(perUser >= 5 && perUser < nItems / 2 ? [] : [{ path: ['perUser'], message: `must be in [5, items / 2), got ${perUser}` }]),
    ...(focus >= 0 && focus <= 1 ? [] : [{ path: ['focus'], message: `must be in [0, 1], got ${focus}` }]),
  ]);
  const rng = new Rng(seed, 0x3a7);
  const T = 1000;
  const category = new Int32Array(nItems);
  const weight = new Float64Array(nItems);
  const price = new Float32Array(nItems);
  const release = new Float64Array(nItems);
  for (let i = 0; i < nItems; i++) {
    category[i] = rng.int(C);
    weight[i] = rng.lognormal(0, 1.2);
    price[i] = Math.round(rng.lognormal(3, 0.6) * 100) / 100;
    release[i] = rng.uniform() * 0.8 * T;
  }
  const favourite = new Int32Array(nUsers);
  const thrift = new Float32Array(nUsers);
  const users: number[] = [];
  const items: number[] = [];
  const times: number[] = [];
  for (let u = 0; u < nUsers; u++) {
    favourite[u] = rng.int(C);
    thrift[u] = rng.uniform();
    const start = rng.uniform() * T;
    const span = 20 + rng.uniform() * 200;
    const n = Math.max(5, rng.poisson(perUser));
    const taken = new Set<number>();
    for (let k = 0; k < n; k++) {
      const t = start + rng.uniform() * span;
      const inFav = rng.bernoulli(focus);
      let total = 0;
      const w = new Float64Array(nItems);
      for (let i = 0; i < nItems; i++) {
        if (taken.has(i) || release[i]! > t || (inFav && category[i] !== favourite[u])) continue;
        w[i] = weight[i]! * (price[i]! < 20 ? 1 + 2 * thrift[u]! : 1);
        total += w[i]!;
      }
      if (total === 0) continue;
      let x = rng.uniform() * total;
      let pick = -1;
      for (let i = 0; i < nItems && pick < 0; i++) {
        x -= w[i]!;
        if (x < 0 && w[i]! > 0) pick = i;
      }
      if (pick < 0) continue;
      taken.add(pick);
      users.push(u);
      items.push(pick);
      times.push(Math.round(t * 1000) / 1000);
    }
  }
  return {
    table: { nUsers, nItems, users: Int32Array.from(users), items: Int32Array.from(items), times: Float64Array.from(times) },
    userAttributes: { numeric: { thrift } },
    itemAttributes: { numeric: { price }, categorical: { category } },
    favourite,
  };
}
