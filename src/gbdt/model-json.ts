/**
 * The model artifact, `kiln.gbdt@1`: self-describing JSON whose trees use XGBoost's JSON field names and
 * conventions (XGBoost 1.7 `learner.gradient_booster.model.trees[i]`), so export is a re-wrapping.
 *
 * Per tree: node 0 is the root and children come in pairs (right = left + 1); left_children /
 * right_children are -1 for leaves; parents[0] = 2147483647. A numeric node sends x left when
 * fround(x) < split_conditions[i] (float32 on both sides), a categorical node (split_type 1) sends x
 * right when trunc(x) is in its `categories` slice (categories_nodes / _segments / _sizes), every other
 * value left; NaN follows default_left. For leaves split_indices is 0 and split_conditions is the leaf
 * value, learning rate included. base_weights are node weights before the learning rate, loss_changes
 * the split gains, sum_hessian the covers. `class` is the output a tree adds to (multi:softprob: tree
 * i of round r is class i). The margin is base_margin (float32; logit(base_score) for binary:logistic)
 * plus the leaves, summed in float32 in tree order. Float32 values are written as the shortest decimal
 * that reads back to the same float32. num_rounds counts boosting rounds (trees = num_rounds x
 * num_outputs); best_iteration is set when early stopping was configured.
 */
import { z } from 'zod';
import { KilnError } from '../core/errors.js';
import { OBJECTIVE_NAMES } from './params.js';
import { OBJECTIVES } from './objectives.js';
import { buildForest, type Forest } from './predict.js';
import type { Tree } from './tree.js';

export const MODEL_FORMAT = 'kiln.gbdt@1';
const FORMAT_VERSION = 1;
const XGB_ROOT_PARENT = 2147483647;

const nums = z.array(z.number());
const ints = z.array(z.number().int());

const TreeJson = z.object({
  class: z.number().int().min(0),
  left_children: ints,
  right_children: ints,
  parents: ints,
  split_indices: ints,
  split_conditions: nums,
  default_left: ints,
  split_type: ints,
  base_weights: nums,
  loss_changes: nums,
  sum_hessian: nums,
  categories_nodes: ints,
  categories_segments: ints,
  categories_sizes: ints,
  categories: ints,
});
export type TreeJson = z.infer<typeof TreeJson>;

export const ModelJsonSchema = z.object({
  format: z.literal(MODEL_FORMAT),
  objective: z.enum(OBJECTIVE_NAMES),
  /** Outputs per row: num_class for multi:softprob, else 1. */
  num_outputs: z.number().int().min(1),
  base_score: z.number(),
  /** base_score in margin space (float32), what every prediction starts from. */
  base_margin: z.number(),
  features: z.array(z.object({ name: z.string().min(1), type: z.enum(['numeric', 'categorical']) })).min(1),
  /** Training parameters after defaults (runtime-only ones such as nthread left out). */
  params: z.record(z.string(), z.unknown()),
  num_rounds: z.number().int().min(0),
  /** Set when early stopping was configured: predictions use rounds 0..best_iteration by default. */
  best_iteration: z.number().int().min(0).nullable(),
  best_score: z.number().nullable(),
  best_metric: z.string().nullable(),
  trees: z.array(TreeJson),
});
export type GbdtModelJson = z.infer<typeof ModelJsonSchema>;

/** Shortest decimal that reads back as the same float32 (what XGBoost writes). */
export function f32(x: number): number {
  const v = Math.fround(x);
  if (!Number.isFinite(v) || Number.isInteger(v)) return v;
  for (let p = 1; p < 10; p++) {
    const s = Number(v.toPrecision(p));
    if (Math.fround(s) === v) return s;
  }
  return v;
}

export function treeToJson(t: Tree, cls: number): TreeJson {
  const n = t.feature.length;
  const leaf = (i: number): boolean => t.left[i]! < 0;
  return {
    class: cls,
    left_children: Array.from(t.left),
    right_children: Array.from(t.right),
    parents: Array.from(t.parent, (q, i) => (i === 0 ? XGB_ROOT_PARENT : q)),
    split_indices: Array.from({ length: n }, (_, i) => (leaf(i) ? 0 : t.feature[i]!)),
    split_conditions: Array.from({ length: n }, (_, i) => f32(leaf(i) ? t.leafValue[i]! : t.threshold[i]!)),
    default_left: Array.from(t.defaultLeft),
    split_type: Array.from(t.categorical),
    base_weights: Array.from(t.baseWeight, f32),
    loss_changes: Array.from(t.gain, f32),
    sum_hessian: Array.from(t.cover, f32),
    categories_nodes: Array.from(t.catNodes),
    categories_segments: Array.from(t.catSegments),
    categories_sizes: Array.from(t.catSizes),
    categories: Array.from(t.catCodes),
  };
}

function corrupt(message: string, path: (string | number)[]): KilnError {
  return new KilnError('MODEL_FORMAT_INVALID', `not a valid ${MODEL_FORMAT} model: ${message}`, { path });
}

export function treeFromJson(j: TreeJson, k: number, nFeatures: number): Tree {
  const n = j.left_children.length;
  const where = ['trees', k];
  for (const key of ['right_children', 'parents', 'split_indices', 'split_conditions', 'default_left', 'split_type', 'base_weights', 'loss_changes', 'sum_hessian'] as const) {
    if (j[key].length !== n) throw corrupt(`tree ${k}: ${key} has ${j[key].length} entries, left_children has ${n}`, [...where, key]);
  }
  const m = j.categories_nodes.length;
  if (j.categories_segments.length !== m || j.categories_sizes.length !== m) throw corrupt(`tree ${k}: categories_* arrays differ in length`, where);
  const feature = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const l = j.left_children[i]!;
    const r = j.right_children[i]!;
    if ((l < 0) !== (r < 0) || l >= n || r >= n || (l >= 0 && (l <= i || r <= i))) throw corrupt(`tree ${k}: node ${i} has bad children (${l}, ${r})`, where);
    const f = j.split_indices[i]!;
    if (l >= 0 && (f < 0 || f >= nFeatures)) throw corrupt(`tree ${k}: node ${i} splits on feature ${f} but the model has ${nFeatures}`, where);
    feature[i] = l < 0 ? -1 : f;
  }
  const categorical = Uint8Array.from(j.split_type);
  for (let c = 0; c < m; c++) {
    const node = j.categories_nodes[c]!;
    const end = j.categories_segments[c]! + j.categories_sizes[c]!;
    if (node < 0 || node >= n || categorical[node] !== 1 || end > j.categories.length) throw corrupt(`tree ${k}: categories entry ${c} is inconsistent`, where);
  }
  const isLeaf = (i: number): boolean => j.left_children[i]! < 0;
  return {
    left: Int32Array.from(j.left_children),
    right: Int32Array.from(j.right_children),
    parent: Int32Array.from(j.parents, (q, i) => (i === 0 ? -1 : q)),
    feature,
    threshold: Float32Array.from(j.split_conditions, (v, i) => (isLeaf(i) || categorical[i] ? 0 : v)),
    defaultLeft: Uint8Array.from(j.default_left),
    categorical,
    leafValue: Float32Array.from(j.split_conditions, (v, i) => (isLeaf(i) ? v : 0)),
    baseWeight: Float32Array.from(j.base_weights),
    gain: Float32Array.from(j.loss_changes),
    cover: Float32Array.from(j.sum_hessian),
    catNodes: Int32Array.from(j.categories_nodes),
    catSegments: Int32Array.from(j.categories_segments),
    catSizes: Int32Array.from(j.categories_sizes),
    catCodes: Int32Array.from(j.categories),
  };
}

/** Parses and checks a model (object or JSON text); a newer format gets its own message. */
export function parseModelJson(input: unknown): GbdtModelJson {
  let obj = input;
  if (typeof input === 'string') {
    try {
      obj = JSON.parse(input);
    } catch (e) {
      throw new KilnError('MODEL_FORMAT_INVALID', `model JSON does not parse: ${(e as Error).message}`, { cause: e });
    }
  }
  const format = (obj as { format?: unknown } | null)?.format;
  if (typeof format === 'string' && format !== MODEL_FORMAT) {
    const m = /^kiln\.gbdt@(\d+)$/.exec(format);
    if (m && Number(m[1]) > FORMAT_VERSION) throw new KilnError('MODEL_FORMAT_TOO_NEW', `model format ${format} is newer than this kiln (reads @${FORMAT_VERSION}); upgrade kiln to load it`, { path: ['format'] });
    throw new KilnError('MODEL_FORMAT_INVALID', `model format '${format}' is not a kiln GBDT model (expected ${MODEL_FORMAT})`, { path: ['format'] });
  }
  const r = ModelJsonSchema.safeParse(obj);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    throw corrupt(`${issue.path.join('.') || '(root)'}: ${issue.message}`, issue.path.map((x) => (typeof x === 'symbol' ? String(x) : x)));
  }
  return r.data;
}

/** The prediction forest of a model (what a prediction thread rebuilds from the model text). */
export function forestFromModel(json: GbdtModelJson | string): Forest {
  const m = parseModelJson(json);
  const F = m.features.length;
  const base = Math.fround(OBJECTIVES[m.objective].baseMargin(m.base_score));
  return buildForest(m.trees.map((t, k) => treeFromJson(t, k, F)), m.trees.map((t) => t.class), m.num_outputs, F, base);
}
