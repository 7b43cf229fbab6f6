/**
 * A synthetic corpus with planted clusters, for item2vec's tests and benchmark: `clusters` groups of
 * `perCluster` items (item i is in cluster floor(i / perCluster)); each sequence picks one cluster
 * uniformly and draws `length` items from it, mostly (probability 1 - noise) uniformly within the
 * cluster, otherwise uniformly from all items. So items co-occur within their cluster, and a good
 * embedding puts an item's nearest neighbours in its own cluster. Seeded: same seed, same corpus.
 */
import { Rng } from '../core/rng.js';

export interface ClusteredCorpus {
  tokens: Int32Array;
  offsets: Int32Array;
  items: number;
  /** Cluster of each item. */
  cluster: Int32Array;
}

export function clusteredCorpus(o: { clusters: number; perCluster: number; sequences: number; length: number; noise?: number; seed: number }): ClusteredCorpus {
  const items = o.clusters * o.perCluster;
  const rng = new Rng(o.seed, 0);
  const noise = o.noise ?? 0.05;
  const tokens = new Int32Array(o.sequences * o.length);
  const offsets = new Int32Array(o.sequences + 1);
  let n = 0;
  for (let s = 0; s < o.sequences; s++) {
    const c = rng.int(o.clusters);
    for (let i = 0; i < o.length; i++) tokens[n++] = rng.uniform() < noise ? rng.int(items) : c * o.perCluster + rng.int(o.perCluster);
    offsets[s + 1] = n;
  }
  const cluster = new Int32Array(items);
  for (let i = 0; i < items; i++) cluster[i] = Math.floor(i / o.perCluster);
  return { tokens, offsets, items, cluster };
}
