/**
 * A planted world for two-tower tests and benchmarks: `clusters` groups of users and items (user u and
 * item i in cluster u % clusters and i % clusters). Within a cluster items have Zipf-like popularity
 * (weight 1 / (rank + 1)), so a popularity ranking is a real baseline. Each user draws perUser +
 * heldOut distinct items, each from its own cluster (probability 1 - stray, by popularity) or from any
 * cluster; the last heldOut drawn are the test pairs. Features: each side has a centre per cluster,
 * N(0, 1) per coordinate, and a row is its cluster's centre plus N(0, noise^2) per coordinate, with a
 * share `missing` of values NaN. `drawUsers` makes new (cold) users from the same centres. Seeded.
 */
import { Rng } from '../core/rng.js';
import type { TwoTowerData } from './two-tower.js';

export interface PlantedWorldOptions {
  clusters?: number;
  users?: number;
  items?: number;
  perUser?: number;
  heldOut?: number;
  stray?: number;
  featureDim?: number;
  noise?: number;
  missing?: number;
  seed: number;
}

export interface PlantedWorld {
  train: TwoTowerData;
  test: { user: Int32Array; item: Int32Array };
  userCluster: Int32Array;
  itemCluster: Int32Array;
  /** n new users: their clusters (uniform) and raw features [n, featureDim]. */
  drawUsers(n: number, seed: number): { cluster: Int32Array; features: Float32Array };
}

export function plantedWorld(o: PlantedWorldOptions): PlantedWorld {
  const K = o.clusters ?? 8;
  const U = o.users ?? 400;
  const I = o.items ?? 200;
  const perUser = o.perUser ?? 12;
  const held = o.heldOut ?? 3;
  const stray = o.stray ?? 0.05;
  const F = o.featureDim ?? 8;
  const noise = o.noise ?? 0.5;
  const missing = o.missing ?? 0.05;
  const rng = new Rng(o.seed, 0x7101);
  const centres = (n: number): Float64Array => Float64Array.from({ length: n * F }, () => rng.normal());
  const uCentre = centres(K);
  const iCentre = centres(K);
  const featuresOf = (clusters: Int32Array, centre: Float64Array, r: Rng): Float32Array => {
    const x = new Float32Array(clusters.length * F);
    for (let e = 0; e < clusters.length; e++) {
      for (let f = 0; f < F; f++) x[e * F + f] = r.uniform() < missing ? NaN : centre[clusters[e]! * F + f]! + noise * r.normal();
    }
    return x;
  };
  const userCluster = Int32Array.from({ length: U }, (_, u) => u % K);
  const itemCluster = Int32Array.from({ length: I }, (_, i) => i % K);
  const members: number[][] = Array.from({ length: K }, () => []);
  for (let i = 0; i < I; i++) members[i % K]!.push(i);
  const cum = members.map((m) => {
    let s = 0;
    return m.map((_, rank) => (s += 1 / (rank + 1)));
  });
  const draw = (c: number): number => {
    const cs = cum[c]!;
    const x = rng.uniform() * cs[cs.length - 1]!;
    let j = 0;
    while (cs[j]! <= x) j++;
    return members[c]![j]!;
  };
  const train = { user: [] as number[], item: [] as number[] };
  const test = { user: [] as number[], item: [] as number[] };
  const want = Math.min(perUser + held, Math.floor(I / K));
  for (let u = 0; u < U; u++) {
    const got = new Set<number>();
    const picks: number[] = [];
    while (picks.length < want) {
      const i = rng.uniform() < stray ? draw(rng.int(K)) : draw(userCluster[u]!);
      if (!got.has(i)) { got.add(i); picks.push(i); }
    }
    picks.forEach((i, t) => {
      const to = t < want - held ? train : test;
      to.user.push(u);
      to.item.push(i);
    });
  }
  const fr = new Rng(o.seed, 0x7102);
  return {
    train: {
      users: U, items: I, user: Int32Array.from(train.user), item: Int32Array.from(train.item),
      userFeatures: featuresOf(userCluster, uCentre, fr), userFeatureDim: F, itemFeatures: featuresOf(itemCluster, iCentre, fr), itemFeatureDim: F,
    },
    test: { user: Int32Array.from(test.user), item: Int32Array.from(test.item) },
    userCluster,
    itemCluster,
    drawUsers(n, seed) {
      const r = new Rng(seed, 0x7103);
      const cluster = Int32Array.from({ length: n }, () => r.int(K));
      return { cluster, features: featuresOf(cluster, uCentre, r) };
    },
  };
}
