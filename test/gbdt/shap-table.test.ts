/**
 * The leaf-table TreeSHAP (shap-table.ts, the default) against the recursion (algorithm: 'recursion'),
 * on seeded random trees built node by node: numeric and categorical splits, missing values and default
 * directions, features repeated on a path, trees too deep for tables and children without cover (both
 * left to the recursion), several outputs and iteration limits. Equal to 1e-9 of the row's total
 * |contribution| (or 1e-12 absolute).
 */
import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/core/rng.js';
import { Booster, type Tree } from '../../src/gbdt/index.js';
import { TreeBuilder } from '../../src/gbdt/tree.js';
import { explain, explainPlan, explainRow } from '../../src/gbdt/shap.js';
import { buildTables, TABLE_MAX_FEATURES, LONG_MAX_FEATURES } from '../../src/gbdt/shap-table.js';
import { prepareTree } from '../../src/gbdt/shap-recursion.js';

interface Shape {
  features: number;
  /** Features from this index on are categorical (codes 0..7). */
  firstCategorical: number;
  depth: number;
  /** Chance a node below the root stops as a leaf. */
  stop: number;
  /** Chance a split gives one child no cover. */
  zeroCover: number;
  /** Deep "chain" trees: one child always a leaf, the other splits on, to `depth`. */
  chain?: boolean;
  /** Node at depth d splits on feature d mod features (a chain's features all differ up to `features`). */
  distinct?: boolean;
}

function randomTree(rng: Rng, s: Shape): Tree {
  const b = new TreeBuilder();
  b.setNode(0, 0, 100 + 1000 * rng.uniform());
  const grow = (id: number, depth: number): void => {
    if (depth === s.depth || (depth > 0 && !s.chain && rng.uniform() < s.stop)) {
      b.setLeaf(id, rng.normal());
      return;
    }
    const feature = s.distinct ? depth % s.features : rng.int(s.features);
    const categorical = feature >= s.firstCategorical;
    const codes = categorical ? Int32Array.from([0, 1, 2, 3, 4, 5, 6, 7].filter(() => rng.uniform() < 0.4)) : null;
    const route = { feature, bin: 0, missingBin: 0, defaultLeft: rng.uniform() < 0.5, catRight: null };
    const [l, r] = b.split(id, feature, categorical ? 0 : rng.normal(), route.defaultLeft, 1, route, codes && codes.length > 0 ? codes : Int32Array.of(3));
    const cover = b.cover[id]!;
    const share = rng.uniform() < s.zeroCover ? (rng.uniform() < 0.5 ? 0 : 1) : 0.05 + 0.9 * rng.uniform();
    b.setNode(l, 0, cover * share);
    b.setNode(r, 0, cover * (1 - share));
    if (s.chain && rng.uniform() < 0.5) {
      b.setLeaf(l, rng.normal());
      grow(r, depth + 1);
    } else if (s.chain) {
      grow(l, depth + 1);
      b.setLeaf(r, rng.normal());
    } else {
      grow(l, depth + 1);
      grow(r, depth + 1);
    }
  };
  grow(0, 0);
  return b.finish();
}

function randomBooster(seed: number, shapes: Shape[], rounds: number, outputs = 1): Booster {
  const rng = new Rng(seed, 17);
  const F = shapes[0]!.features;
  const trees: Tree[] = [];
  const group: number[] = [];
  for (let r = 0; r < rounds; r++) {
    for (let k = 0; k < outputs; k++) {
      trees.push(randomTree(rng, shapes[(r * outputs + k) % shapes.length]!));
      group.push(k);
    }
  }
  return new Booster({
    objective: outputs > 1 ? 'multi:softprob' : 'reg:squarederror', numClass: outputs, featureNames: Array.from({ length: F }, (_, j) => `f${j}`),
    categorical: Array.from({ length: F }, (_, j) => j >= shapes[0]!.firstCategorical), baseScore: 0.5, params: {}, trees, treeGroup: group, rounds, best: null,
  });
}

/** Columns of random rows: normals (15% missing); categorical columns get codes -1..9, an odd 2.5 and -1e-50 (float32 -0: still not a code). */
function randomRows(seed: number, n: number, F: number, firstCategorical: number): Float64Array[] {
  const rng = new Rng(seed, 23);
  return Array.from({ length: F }, (_, j) => Float64Array.from({ length: n }, () => {
    if (rng.uniform() < 0.15) return NaN;
    if (j < firstCategorical) return rng.normal();
    const u = rng.uniform();
    return u < 0.05 ? 2.5 : u < 0.08 ? -1e-50 : rng.int(11) - 1;
  }));
}

/** Largest |table - recursion| over rows and outputs, in units of max(1e-12, 1e-9 · the row's Σ|contribution|): must be <= 1. */
function worstError(b: Booster, cols: Float64Array[], iterations?: number): number {
  const fast = explain(b, cols, { iterations });
  const ref = explain(b, cols, { iterations, algorithm: 'recursion' });
  expect(fast.expectedValues).toEqual(ref.expectedValues);
  const F = b.numFeatures;
  let worst = 0;
  for (let r = 0; r < fast.numRows * fast.numOutputs; r++) {
    let scale = 0;
    for (let j = 0; j < F; j++) scale += Math.abs(ref.contributions[r * (F + 1) + j]!);
    const tol = Math.max(1e-12, 1e-9 * scale);
    for (let j = 0; j <= F; j++) worst = Math.max(worst, Math.abs(fast.contributions[r * (F + 1) + j]! - ref.contributions[r * (F + 1) + j]!) / tol);
  }
  return worst;
}

function repeatsOnPath(t: Tree): boolean {
  for (let i = 0; i < t.feature.length; i++) {
    for (let p = t.parent[i]!; p >= 0 && t.feature[i]! >= 0; p = t.parent[p]!) if (t.feature[p] === t.feature[i]) return true;
  }
  return false;
}

describe('TreeSHAP leaf tables against the recursion', () => {
  it('numeric trees with few features (many repeats on a path) and missing values', () => {
    const shape: Shape = { features: 4, firstCategorical: 4, depth: 7, stop: 0.15, zeroCover: 0 };
    const b = randomBooster(1, [shape], 40);
    expect(b.trees.filter(repeatsOnPath).length).toBeGreaterThan(30);
    const plan = explainPlan(b);
    expect(plan).toMatchObject({ tableTrees: 40, recursionTrees: 0 });
    expect(worstError(b, randomRows(2, 400, 4, 4))).toBeLessThanOrEqual(1);
  });

  it('categorical splits, codes outside every set, negative and fractional codes', () => {
    const shape: Shape = { features: 8, firstCategorical: 4, depth: 6, stop: 0.1, zeroCover: 0 };
    const b = randomBooster(3, [shape], 30);
    expect(b.trees.some((t) => t.catNodes.length > 0)).toBe(true);
    expect(explainPlan(b).tableTrees).toBe(30);
    expect(worstError(b, randomRows(4, 400, 8, 4))).toBeLessThanOrEqual(1);
  });

  it('paths past TABLE_MAX_FEATURES unique features take long leaves; past LONG_MAX_FEATURES, and children without cover, fall back tree by tree', () => {
    const normal: Shape = { features: 24, firstCategorical: 20, depth: 6, stop: 0.1, zeroCover: 0 };
    const deep: Shape = { features: 24, firstCategorical: 20, depth: TABLE_MAX_FEATURES + 8, stop: 0, zeroCover: 0, chain: true };
    const zero: Shape = { features: 24, firstCategorical: 20, depth: 5, stop: 0.1, zeroCover: 0.3 };
    const b = randomBooster(5, [normal, deep, zero], 30);
    const plan = explainPlan(b);
    // normal and deep trees on tables (the deep ones' far leaves as long leaves), the zero-cover ones on the recursion
    expect(plan.tableTrees).toBeGreaterThanOrEqual(20);
    expect(plan.recursionTrees).toBeGreaterThanOrEqual(5);
    expect(plan.tableTrees + plan.recursionTrees).toBe(30);
    expect(worstError(b, randomRows(6, 300, 24, 20))).toBeLessThanOrEqual(1);
    // Chains of more than LONG_MAX_FEATURES unique features: the recursion.
    const long: Shape = { features: 44, firstCategorical: 40, depth: LONG_MAX_FEATURES - 2, stop: 0, zeroCover: 0, chain: true, distinct: true };
    const veryDeep: Shape = { features: 44, firstCategorical: 40, depth: LONG_MAX_FEATURES + 4, stop: 0, zeroCover: 0, chain: true, distinct: true };
    const c = randomBooster(7, [long, veryDeep], 10);
    expect(explainPlan(c)).toMatchObject({ tableTrees: 5, recursionTrees: 5 });
    expect(worstError(c, randomRows(8, 200, 44, 20))).toBeLessThanOrEqual(1);
  });

  it('multi:softprob (3 outputs) and iteration limits', () => {
    const shape: Shape = { features: 6, firstCategorical: 5, depth: 5, stop: 0.2, zeroCover: 0 };
    const b = randomBooster(7, [shape], 12, 3);
    const cols = randomRows(8, 300, 6, 5);
    expect(worstError(b, cols)).toBeLessThanOrEqual(1);
    expect(worstError(b, cols, 5)).toBeLessThanOrEqual(1);
    expect(worstError(b, cols, 0)).toBeLessThanOrEqual(1);
    const e = explain(b, cols, { iterations: 5 });
    const out = new Float64Array(3 * 7);
    for (let i = 0; i < 20; i++) {
      explainRow(b, cols.map((c) => c[i]!), out, { iterations: 5 });
      expect(Array.from(out)).toEqual(Array.from(e.contributions.subarray(i * 21, i * 21 + 21)));
    }
  });

  it('the table budget: trees past it (in order) use the recursion', () => {
    const shape: Shape = { features: 10, firstCategorical: 10, depth: 6, stop: 0, zeroCover: 0 };
    const b = randomBooster(9, [shape], 10);
    const trees = b.trees.map(prepareTree);
    const all = buildTables(trees, 10);
    expect(all.plan.tableTrees).toBe(10);
    const bytesPerTree = all.plan.tableBytes / 10;
    const some = buildTables(trees, 10, Math.floor(bytesPerTree * 3.5));
    expect(some.plan).toMatchObject({ tableTrees: 3, recursionTrees: 7 });
    expect(some.trees.map((t) => t !== null)).toEqual([true, true, true, ...new Array<boolean>(7).fill(false)]);
  });

  it('a tree that is one leaf contributes nothing and needs no table', () => {
    const leaf = new TreeBuilder();
    leaf.setNode(0, 0, 10);
    leaf.setLeaf(0, 0.7);
    const b = new Booster({ objective: 'reg:squarederror', numClass: 1, featureNames: ['a'], categorical: [false], baseScore: 0.5, params: {}, trees: [leaf.finish()], treeGroup: [0], rounds: 1, best: null });
    expect(explainPlan(b)).toMatchObject({ tableTrees: 0, recursionTrees: 0 });
    expect(Array.from(explainRow(b, [1]))).toEqual([0, 0.5 + Math.fround(0.7)]);
    expect(() => explainRow(b, [1], undefined, { algorithm: 'fast' as 'auto' })).toThrow(/algorithm = "fast" is not one of 'auto', 'recursion'/);
  });
});
