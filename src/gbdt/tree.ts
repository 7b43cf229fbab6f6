/**
 * One regression tree in XGBoost's layout (node 0 is the root; children are added in pairs, left then
 * right, so node ids match what XGBoost would number). Numeric nodes send x left when
 * fround(x) < threshold; categorical nodes send x right when its category is in the node's set (XGBoost
 * 1.7's `categories`, split_type 1), every other value left; missing values follow defaultLeft.
 * Leaf values already include the learning rate.
 */

export interface Tree {
  left: Int32Array;
  right: Int32Array;
  parent: Int32Array;
  /** Split feature, -1 for leaves. */
  feature: Int32Array;
  /** Numeric split threshold (float32); 0 for leaves and categorical nodes. */
  threshold: Float32Array;
  defaultLeft: Uint8Array;
  /** 1 for categorical splits (XGBoost split_type). */
  categorical: Uint8Array;
  /** Leaf value (with learning rate) for leaves, 0 for internal nodes. */
  leafValue: Float32Array;
  /** Node weight before the learning rate (XGBoost base_weights). */
  baseWeight: Float32Array;
  /** Loss reduction of the split (XGBoost loss_changes); 0 for leaves. */
  gain: Float32Array;
  /** Sum of hessians of the node's training rows (XGBoost sum_hessian). */
  cover: Float32Array;
  /** Categorical nodes (ascending ids) and, for each, its slice of `catCodes` (XGBoost categories_*). */
  catNodes: Int32Array;
  catSegments: Int32Array;
  catSizes: Int32Array;
  /** Category codes that go right, ascending within each node. */
  catCodes: Int32Array;
}

/** Split of an internal node in bin space, kept while training to route rows that were not sampled. */
export interface BinRoute {
  feature: number;
  bin: number;
  missingBin: number;
  defaultLeft: boolean;
  catRight: Uint8Array | null;
}

/** Grows a tree node by node. */
export class TreeBuilder {
  readonly left: number[] = [-1];
  readonly right: number[] = [-1];
  readonly parent: number[] = [-1];
  readonly feature: number[] = [-1];
  readonly threshold: number[] = [0];
  readonly defaultLeft: number[] = [0];
  readonly leafValue: number[] = [0];
  readonly baseWeight: number[] = [0];
  readonly gain: number[] = [0];
  readonly cover: number[] = [0];
  readonly categories = new Map<number, Int32Array>();
  readonly routes: (BinRoute | null)[] = [null];

  get size(): number {
    return this.left.length;
  }

  setNode(id: number, baseWeight: number, cover: number): void {
    this.baseWeight[id] = Math.fround(baseWeight) + 0;
    this.cover[id] = Math.fround(cover);
  }

  /** Turns leaf `id` into a split and returns the new (left, right) ids. */
  split(id: number, feature: number, threshold: number, defaultLeft: boolean, gain: number, route: BinRoute, catCodes: Int32Array | null): [number, number] {
    const l = this.size;
    for (let k = 0; k < 2; k++) {
      this.left.push(-1); this.right.push(-1); this.parent.push(id); this.feature.push(-1); this.threshold.push(0);
      this.defaultLeft.push(0); this.leafValue.push(0); this.baseWeight.push(0); this.gain.push(0); this.cover.push(0);
      this.routes.push(null);
    }
    this.left[id] = l;
    this.right[id] = l + 1;
    this.feature[id] = feature;
    this.threshold[id] = catCodes ? 0 : Math.fround(threshold);
    this.defaultLeft[id] = defaultLeft ? 1 : 0;
    this.gain[id] = Math.fround(gain);
    this.leafValue[id] = 0;
    this.routes[id] = route;
    if (catCodes) this.categories.set(id, catCodes);
    return [l, l + 1];
  }

  setLeaf(id: number, value: number): void {
    this.leafValue[id] = Math.fround(value) + 0; // +0 folds -0 (from -G with G = 0) into 0
  }

  /** Leaf reached by a row of the bin matrix. */
  leafOfBinnedRow(bins: Uint8Array | Uint16Array, rowOffset: number): number {
    let n = 0;
    for (let r = this.routes[0]; r; r = this.routes[n]) {
      const b = bins[rowOffset + r.feature]!;
      const goLeft = b === r.missingBin ? r.defaultLeft : r.catRight ? r.catRight[b] === 0 : b <= r.bin;
      n = goLeft ? this.left[n]! : this.right[n]!;
    }
    return n;
  }

  finish(): Tree {
    const ids = [...this.categories.keys()].sort((a, b) => a - b);
    const catSegments = new Int32Array(ids.length);
    const catSizes = new Int32Array(ids.length);
    const codes: number[] = [];
    ids.forEach((id, k) => {
      const c = this.categories.get(id)!;
      catSegments[k] = codes.length;
      catSizes[k] = c.length;
      codes.push(...c);
    });
    const categorical = new Uint8Array(this.size);
    for (const id of ids) categorical[id] = 1;
    return {
      left: Int32Array.from(this.left), right: Int32Array.from(this.right), parent: Int32Array.from(this.parent),
      feature: Int32Array.from(this.feature), threshold: Float32Array.from(this.threshold),
      defaultLeft: Uint8Array.from(this.defaultLeft), categorical, leafValue: Float32Array.from(this.leafValue),
      baseWeight: Float32Array.from(this.baseWeight), gain: Float32Array.from(this.gain), cover: Float32Array.from(this.cover),
      catNodes: Int32Array.from(ids), catSegments, catSizes, catCodes: Int32Array.from(codes),
    };
  }
}

/** Category codes (right branch) of node `id`, or null for numeric nodes. */
export function nodeCategories(t: Tree, id: number): Int32Array | null {
  if (!t.categorical[id]) return null;
  let lo = 0;
  let hi = t.catNodes.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const v = t.catNodes[mid]!;
    if (v === id) return t.catCodes.subarray(t.catSegments[mid]!, t.catSegments[mid]! + t.catSizes[mid]!);
    if (v < id) lo = mid + 1;
    else hi = mid - 1;
  }
  return null;
}

export function numLeaves(t: Tree): number {
  let k = 0;
  for (let i = 0; i < t.feature.length; i++) if (t.feature[i]! < 0) k++;
  return k;
}
