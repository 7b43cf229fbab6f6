/**
 * LightGBM text models (`booster.save_model('model.txt')`, format version v2-v4) imported as kiln
 * boosters. LightGBM's leaf values already include the shrinkage, and it has no base score (the
 * average is boosted into the first tree), so kiln's base margin is 0.
 *
 * Routing is converted exactly for float32 inputs (kiln, like XGBoost, rounds inputs to float32):
 * - numeric `x <= t` (double t) becomes `x < T` with T = the next float32 above the largest float32
 *   <= t, so every float32 x goes the same way (an input that is not a float32 may differ when it lies
 *   within one float32 step of t); T is clamped to +-FLT_MAX.
 * - decision_type bit 1 is default_left, bits 2-3 the missing type. None: NaN is read as 0, so it goes
 *   where 0 goes. NaN: NaN goes to the default child. Zero: NaN and |x| <= 1e-35f go to the default
 *   child; when 0's own side differs, the node becomes two or three numeric nodes and a child subtree
 *   is copied (predictions stay exact; that copy gets cover 0, so TreeSHAP treats the zero band as
 *   holding all of the default child's training rows).
 * - categorical (bit 0): categories in the `cat_threshold` bitset go left in LightGBM and everything
 *   else (NaN, negative, unseen) right; kiln sends its set right, so children are swapped and NaN
 *   defaults to kiln's left.
 * Node covers are LightGBM's data counts (what LightGBM's own TreeSHAP uses). Unsupported features
 * (linear trees, average_output forests, unknown objectives) are refused with the field named.
 */
import { KilnError } from '../core/errors.js';
import { Booster } from './booster.js';
import { f32, MODEL_FORMAT, type GbdtModelJson, type TreeJson } from './model-json.js';
import type { ObjectiveName } from './params.js';

const ZERO_BAND = Math.fround(1e-35);
const FLT_MAX = 3.4028234663852886e38;
const MISSING_NONE = 0;
const MISSING_ZERO = 1;

/** LightGBM objectives kiln can serve, and the kiln objective with the same output transform. */
export const LIGHTGBM_IMPORT_OBJECTIVES = {
  binary: 'binary:logistic',
  cross_entropy: 'binary:logistic',
  xentropy: 'binary:logistic',
  regression: 'reg:squarederror',
  regression_l2: 'reg:squarederror',
  regression_l1: 'reg:squarederror',
  huber: 'reg:squarederror',
  fair: 'reg:squarederror',
  quantile: 'reg:squarederror',
  mape: 'reg:squarederror',
  multiclass: 'multi:softprob',
  lambdarank: 'rank:ndcg',
  rank_xendcg: 'rank:ndcg',
} as const satisfies Record<string, ObjectiveName>;

function bad(message: string, path: (string | number)[]): KilnError {
  return new KilnError('MODEL_FORMAT_INVALID', `cannot import this LightGBM model: ${message}`, { path });
}

/** True when the text looks like a LightGBM text model (first line 'tree', a version= line). */
export function isLightGBMText(text: string): boolean {
  return /^tree\r?\n/.test(text) && /^version=/m.test(text);
}

const f32buf = new Float32Array(1);
const u32buf = new Uint32Array(f32buf.buffer);

/** The float32 after (dir 1) or before (dir -1) a finite float32 v. */
function nextF32(v: number, dir: 1 | -1): number {
  if (v === 0) return dir * 1.401298464324817e-45;
  f32buf[0] = v;
  u32buf[0] = u32buf[0]! + ((v > 0) === (dir > 0) ? 1 : -1);
  return f32buf[0]!;
}

/** The float32 T such that, for every float32 x, x < T exactly when x <= t. */
export function lightgbmThreshold(t: number): number {
  if (t >= FLT_MAX) return FLT_MAX;
  if (t < -FLT_MAX) return -FLT_MAX;
  let down = Math.fround(t);
  if (down > t) down = nextF32(down, -1);
  return down >= FLT_MAX ? FLT_MAX : nextF32(down, 1);
}

interface Header {
  fields: Map<string, string>;
  trees: Map<string, string>[];
}

function parseBlocks(text: string): Header {
  const lines = text.split(/\r?\n/);
  const fields = new Map<string, string>();
  const trees: Map<string, string>[] = [];
  let cur: Map<string, string> | null = null;
  for (const line of lines) {
    if (line === 'end of trees') break;
    if (line.startsWith('Tree=')) { cur = new Map(); trees.push(cur); continue; }
    const eq = line.indexOf('=');
    if (eq < 0) { if (line.trim() === 'average_output') fields.set('average_output', '1'); continue; }
    (cur ?? fields).set(line.slice(0, eq), line.slice(eq + 1));
  }
  return { fields, trees };
}

function nums(m: Map<string, string>, key: string, count: number, where: (string | number)[], required = true): number[] {
  const raw = m.get(key);
  if (raw === undefined) {
    if (required && count > 0) throw bad(`${where.join(' ')} has no '${key}' line`, [...where, key]);
    return [];
  }
  const v = raw.trim() === '' ? [] : raw.trim().split(/\s+/).map(Number);
  if (!required && v.length === 0) return v;
  if (v.length !== count || v.some((x) => Number.isNaN(x))) throw bad(`${where.join(' ')}: '${key}' should have ${count} numbers, got '${raw.slice(0, 80)}'`, [...where, key]);
  return v;
}

/** A node to emit: an original LightGBM node (>= 0 internal, < 0 leaf ~i) or a synthetic numeric split. */
type Item =
  | { node: number; weight: number }
  | { feature: number; threshold: number; defaultLeft: boolean; left: Item; right: Item; gain?: number; value?: number };

interface LgbTree {
  feature: number[]; threshold: number[]; decision: number[]; left: number[]; right: number[];
  leafValue: number[]; leafCount: number[]; internalCount: number[]; gain: number[]; internalValue: number[];
  catBoundaries: number[]; catThreshold: number[];
}

/**
 * The kiln split(s) for LightGBM numeric node i: one node, or for a Zero-missing node whose default
 * side is not 0's own side, a chain that sends [-1e-35, 1e-35] and NaN to the default child.
 */
function numericItem(t: LgbTree, i: number, weight: number): Item {
  const f = t.feature[i]!;
  const T = lightgbmThreshold(t.threshold[i]!);
  const dt = t.decision[i]!;
  const missing = (dt >> 2) & 3;
  const dflLeft = (dt & 2) !== 0;
  const L = (w: number): Item => ({ node: t.left[i]!, weight: w });
  const R = (w: number): Item => ({ node: t.right[i]!, weight: w });
  const split = (thr: number, defaultLeft: boolean, left: Item, right: Item): Item => ({ feature: f, threshold: thr, defaultLeft, left, right });
  const stats = { gain: t.gain[i] ?? 0, value: t.internalValue[i] ?? 0 };
  if (missing === MISSING_NONE) return { ...split(T, 0 < T, L(weight), R(weight)), ...stats };
  if (missing !== MISSING_ZERO || (dflLeft ? ZERO_BAND < T : -ZERO_BAND >= T)) return { ...split(T, dflLeft, L(weight), R(weight)), ...stats };
  // Each child keeps its training count on one copy (the band copy for the default child), 0 on the other.
  const edge = nextF32(ZERO_BAND, 1);
  const band = dflLeft ? L(weight) : R(weight);
  const below = !dflLeft ? L(weight) : T >= -ZERO_BAND ? L(0) : split(T, false, L(0), R(0)); // x < -1e-35
  const above = dflLeft ? R(weight) : T <= edge ? R(0) : split(T, false, L(0), R(0)); // x > 1e-35
  return { ...split(-ZERO_BAND, false, below, split(edge, true, band, above)), ...stats };
}

/** Counts of the node's training rows (leaf_count / internal_count). */
function countOf(t: LgbTree, node: number): number {
  return node < 0 ? t.leafCount[~node] ?? 0 : t.internalCount[node] ?? 0;
}

function convertTree(t: LgbTree, k: number, cls: number, scale: number, categorical: boolean[], isCatNode: boolean[]): TreeJson {
  const j: TreeJson = {
    class: cls, left_children: [], right_children: [], parents: [], split_indices: [], split_conditions: [], default_left: [], split_type: [],
    base_weights: [], loss_changes: [], sum_hessian: [], categories_nodes: [], categories_segments: [], categories_sizes: [], categories: [],
  };
  const cover = (it: Item): number => ('node' in it ? countOf(t, it.node) * it.weight : cover(it.left) + cover(it.right));
  const queue: { item: Item; parent: number }[] = [{ item: { node: t.left.length === 0 ? -1 : 0, weight: 1 }, parent: -1 }];
  for (let q = 0; q < queue.length; q++) {
    let { item } = queue[q]!;
    if ('node' in item && item.node >= 0 && !isCatNode[item.node]) item = numericItem(t, item.node, item.weight);
    j.parents.push(q === 0 ? 2147483647 : queue[q]!.parent);
    j.sum_hessian.push(f32(cover(item)));
    if ('node' in item && item.node < 0) {
      const v = f32((t.leafValue[~item.node] ?? 0) * scale);
      j.left_children.push(-1); j.right_children.push(-1); j.split_indices.push(0); j.split_conditions.push(v);
      j.default_left.push(0); j.split_type.push(0); j.base_weights.push(v); j.loss_changes.push(0);
      continue;
    }
    const l = queue.length;
    j.left_children.push(l); j.right_children.push(l + 1);
    if ('node' in item) {
      // LightGBM categorical node: its set goes left there, right in kiln; NaN and the rest go kiln-left.
      const i = item.node;
      const c = t.threshold[i]!;
      const lo = t.catBoundaries[c];
      const hi = t.catBoundaries[c + 1];
      if (!Number.isInteger(c) || lo === undefined || hi === undefined || hi > t.catThreshold.length) throw bad(`tree ${k}: categorical node ${i} points to cat_boundaries entry ${c}, which does not exist`, ['Tree', k, 'cat_boundaries']);
      const codes: number[] = [];
      for (let w = lo; w < hi; w++) for (let b = 0; b < 32; b++) if ((t.catThreshold[w]! >>> b) & 1) codes.push((w - lo) * 32 + b);
      j.categories_nodes.push(q); j.categories_segments.push(j.categories.length); j.categories_sizes.push(codes.length); j.categories.push(...codes);
      j.split_indices.push(t.feature[i]!); j.split_conditions.push(0); j.default_left.push(1); j.split_type.push(1);
      j.base_weights.push(f32(t.internalValue[i] ?? 0)); j.loss_changes.push(f32(t.gain[i] ?? 0));
      queue.push({ item: { node: t.right[i]!, weight: item.weight }, parent: q }, { item: { node: t.left[i]!, weight: item.weight }, parent: q });
      categorical[t.feature[i]!] = true;
      continue;
    }
    j.split_indices.push(item.feature); j.split_conditions.push(item.threshold); j.default_left.push(item.defaultLeft ? 1 : 0); j.split_type.push(0);
    j.base_weights.push(f32(item.value ?? 0)); j.loss_changes.push(f32(item.gain ?? 0));
    queue.push({ item: item.left, parent: q }, { item: item.right, parent: q });
  }
  return j;
}

function readTree(m: Map<string, string>, k: number, F: number): LgbTree {
  const where = ['Tree', k];
  if (m.get('is_linear') !== undefined && m.get('is_linear') !== '0') throw bad(`tree ${k} is a linear tree (is_linear=${m.get('is_linear')}); kiln serves constant leaves only (train without linear_tree)`, [...where, 'is_linear']);
  const L = Number(m.get('num_leaves'));
  if (!Number.isInteger(L) || L < 1) throw bad(`tree ${k}: num_leaves is '${m.get('num_leaves') ?? ''}'`, [...where, 'num_leaves']);
  const numCat = Number(m.get('num_cat') ?? 0);
  const t: LgbTree = {
    feature: nums(m, 'split_feature', L - 1, where), threshold: nums(m, 'threshold', L - 1, where), decision: nums(m, 'decision_type', L - 1, where),
    left: nums(m, 'left_child', L - 1, where), right: nums(m, 'right_child', L - 1, where), leafValue: nums(m, 'leaf_value', L, where),
    leafCount: nums(m, 'leaf_count', L, where, false), internalCount: nums(m, 'internal_count', L - 1, where, false),
    gain: nums(m, 'split_gain', L - 1, where, false), internalValue: nums(m, 'internal_value', L - 1, where, false),
    catBoundaries: numCat > 0 ? nums(m, 'cat_boundaries', numCat + 1, where) : [],
    catThreshold: numCat > 0 ? (m.get('cat_threshold') ?? '').trim().split(/\s+/).map(Number) : [],
  };
  for (let i = 0; i < L - 1; i++) {
    const f = t.feature[i]!;
    if (!Number.isInteger(f) || f < 0 || f >= F) throw bad(`tree ${k}: node ${i} splits on feature ${f} but the model has ${F} (max_feature_idx)`, [...where, 'split_feature']);
    for (const side of ['left', 'right'] as const) {
      const c = t[side][i]!;
      if (!Number.isInteger(c) || c >= L - 1 || ~c >= L || (c >= 0 && c <= i)) throw bad(`tree ${k}: node ${i} has ${side}_child ${c}, which is out of range`, [...where, `${side}_child`]);
    }
  }
  return t;
}

/** The kiln.gbdt@1 document of a LightGBM text model. */
export function lightgbmToKilnJSON(text: string): GbdtModelJson {
  if (typeof text !== 'string' || !isLightGBMText(text)) throw bad(`the text does not start with a 'tree' line and a 'version=' line; is it a LightGBM model saved with save_model()?`, ['version']);
  const { fields, trees: blocks } = parseBlocks(text);
  if (fields.has('average_output')) throw bad(`average_output is set (a random forest, boosting=rf); kiln serves boosted sums only`, ['average_output']);
  const objText = (fields.get('objective') ?? '').trim();
  const [objName = '', ...objArgs] = objText.split(/\s+/);
  const objective = (LIGHTGBM_IMPORT_OBJECTIVES as Record<string, ObjectiveName>)[objName];
  if (!objective) throw bad(`objective '${objText || '(none)'}' is not supported; use one of: ${Object.keys(LIGHTGBM_IMPORT_OBJECTIVES).join(', ')}`, ['objective']);
  const arg = (name: string): string | undefined => objArgs.find((a) => a.startsWith(`${name}:`))?.slice(name.length + 1);
  if (objArgs.includes('sqrt')) throw bad(`objective '${objText}' trains on sqrt(label) and squares predictions; kiln cannot serve that transform`, ['objective']);
  const sigmoid = objName === 'binary' ? Number(arg('sigmoid') ?? 1) : 1;
  if (!(sigmoid > 0)) throw bad(`objective '${objText}' has sigmoid ${arg('sigmoid')}`, ['objective']);
  const K = Number(fields.get('num_class') ?? 1);
  const perIter = Number(fields.get('num_tree_per_iteration') ?? K);
  if (objective === 'multi:softprob' ? !(K >= 2 && perIter === K) : perIter !== 1) throw bad(`num_class = ${K} with num_tree_per_iteration = ${perIter} does not fit objective '${objName}'`, ['num_tree_per_iteration']);
  const F = Number(fields.get('max_feature_idx')) + 1;
  if (!Number.isInteger(F) || F < 1) throw bad(`max_feature_idx is '${fields.get('max_feature_idx') ?? ''}'`, ['max_feature_idx']);
  const names = (fields.get('feature_names') ?? '').trim().split(/\s+/).filter((s) => s.length > 0);
  if (names.length !== F) throw bad(`feature_names has ${names.length} names but max_feature_idx says ${F} features`, ['feature_names']);
  const infos = (fields.get('feature_infos') ?? '').trim().split(/\s+/);
  const categorical = names.map((_, i) => /^-?\d+(:-?\d+)*$/.test(infos[i] ?? ''));
  if (blocks.length % perIter !== 0) throw bad(`${blocks.length} trees is not a whole number of rounds of ${perIter}`, ['tree_sizes']);
  const trees = blocks.map((m, k) => {
    const t = readTree(m, k, F);
    const isCatNode = t.decision.map((d) => (d & 1) === 1);
    isCatNode.forEach((c, i) => { if (!c && categorical[t.feature[i]!]) throw bad(`tree ${k}: node ${i} is a numeric split on categorical feature '${names[t.feature[i]!]}'`, ['Tree', k, 'decision_type']); });
    return convertTree(t, k, k % perIter, sigmoid, categorical, isCatNode);
  });
  const version = fields.get('version') ?? '';
  return {
    format: MODEL_FORMAT,
    objective,
    num_outputs: objective === 'multi:softprob' ? K : 1,
    base_score: objective === 'binary:logistic' ? 0.5 : 0,
    base_margin: 0,
    features: names.map((name, i) => ({ name, type: categorical[i] ? 'categorical' : 'numeric' })),
    params: { objective: objText, imported_from: `lightgbm ${version}`, ...(sigmoid !== 1 ? { sigmoid } : {}) },
    num_rounds: blocks.length / perIter,
    best_iteration: null,
    best_score: null,
    best_metric: null,
    trees,
  };
}

/**
 * A kiln Booster from a LightGBM text model (binary, regression, multiclass, ranking).
 * @example
 * const booster = fromLightGBMText(readFileSync('model.txt', 'utf8'));
 */
export function fromLightGBMText(text: string): Booster {
  return Booster.fromJSON(lightgbmToKilnJSON(text));
}
