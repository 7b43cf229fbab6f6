/**
 * XGBoost JSON model interchange (the schema of XGBoost 1.7's `save_model('model.json')`, which 2.x
 * still loads). kiln trees already use XGBoost's layout, routing and float32 values, so both directions
 * are exact: an exported model predicts the same in `xgboost.Booster(model_file=...)`, and an imported
 * one predicts the same in kiln (margins accumulate in float32, tree by tree, in both).
 *
 * Export: base_score is written in XGBoost's space (a probability for binary:logistic, a margin
 * otherwise); best_iteration/best_score go to `attributes` when early stopping was configured (XGBoost's
 * sklearn wrapper then predicts with them; the native Booster uses every tree unless given
 * iteration_range). Import: gbtree models with one tree per class per round; objectives
 * binary:logistic (and reg:logistic), reg:squarederror (and reg:linear, reg:absoluteerror,
 * reg:pseudohubererror: identity output), multi:softprob (and multi:softmax: kiln returns the
 * probabilities), rank:pairwise/rank:ndcg/rank:map (raw scores, as kiln's rank:ndcg).
 */
import { z } from 'zod';
import { KilnError } from '../core/errors.js';
import { Booster } from './booster.js';
import { f32, MODEL_FORMAT, type GbdtModelJson, type TreeJson } from './model-json.js';
import { OBJECTIVES } from './objectives.js';
import type { ObjectiveName } from './params.js';

/** The XGBoost version whose JSON schema kiln writes. */
export const XGBOOST_SCHEMA_VERSION = [1, 7, 4] as const;
const XGB_ROOT_PARENT = 2147483647;

export interface XGBoostTreeJson extends Omit<TreeJson, 'class'> {
  id: number;
  tree_param: { num_deleted: string; num_feature: string; num_nodes: string; size_leaf_vector: string };
}

/** An XGBoost JSON model document (the fields kiln writes; XGBoost's loader accepts this shape). */
export interface XGBoostModelJson {
  learner: {
    attributes: Record<string, string>;
    feature_names: string[];
    feature_types: string[];
    gradient_booster: {
      name: 'gbtree';
      model: { gbtree_model_param: { num_parallel_tree: string; num_trees: string; size_leaf_vector: string }; tree_info: number[]; trees: XGBoostTreeJson[] };
    };
    learner_model_param: { base_score: string; boost_from_average: string; num_class: string; num_feature: string; num_target: string };
    objective: Record<string, unknown> & { name: string };
  };
  version: number[];
}

function objectiveJson(name: ObjectiveName, numClass: number): XGBoostModelJson['learner']['objective'] {
  switch (name) {
    case 'binary:logistic':
    case 'reg:squarederror':
      return { name, reg_loss_param: { scale_pos_weight: '1' } };
    case 'multi:softprob':
      return { name, softmax_multiclass_param: { num_class: String(numClass) } };
    case 'rank:ndcg':
      return { name, lambda_rank_param: { fix_list_weight: '0', num_pairsample: '1' } };
  }
}

/**
 * The booster as an XGBoost JSON model document. Write it with toXGBoostJSON: XGBoost's loader needs
 * the float arrays written as floats (0.0, not 0), which JSON.stringify does not do.
 */
export function toXGBoostModel(booster: Booster): XGBoostModelJson {
  const m = booster.toJSON();
  const F = m.features.length;
  const attributes: Record<string, string> = {};
  if (m.best_iteration !== null) {
    attributes.best_iteration = String(m.best_iteration);
    attributes.best_ntree_limit = String((m.best_iteration + 1) * m.num_outputs);
    if (m.best_score !== null) attributes.best_score = String(m.best_score);
  }
  return {
    learner: {
      attributes,
      feature_names: m.features.map((f) => f.name),
      feature_types: m.features.map((f) => (f.type === 'categorical' ? 'c' : 'float')),
      gradient_booster: {
        name: 'gbtree',
        model: {
          gbtree_model_param: { num_parallel_tree: '1', num_trees: String(m.trees.length), size_leaf_vector: '0' },
          tree_info: m.trees.map((t) => t.class),
          trees: m.trees.map(({ class: _cls, ...t }, id) => ({
            ...t, id, tree_param: { num_deleted: '0', num_feature: String(F), num_nodes: String(t.left_children.length), size_leaf_vector: '0' },
          })),
        },
      },
      learner_model_param: {
        base_score: String(f32(m.base_score)), boost_from_average: '1', num_class: m.num_outputs > 1 ? String(m.num_outputs) : '0', num_feature: String(F), num_target: '1',
      },
      objective: objectiveJson(m.objective, m.num_outputs),
    },
    version: [...XGBOOST_SCHEMA_VERSION],
  };
}

const FLOAT_ARRAYS = new Set(['split_conditions', 'base_weights', 'loss_changes', 'sum_hessian']);

function floatText(x: number): string {
  return Number.isInteger(x) ? x.toFixed(1) : String(x);
}

/**
 * The booster as XGBoost JSON text, for `xgboost.Booster(model_file='model.json')`. Categorical features
 * get feature type 'c'.
 * @example
 * writeFileSync('model.json', toXGBoostJSON(booster));
 */
export function toXGBoostJSON(booster: Booster): string {
  const doc = toXGBoostModel(booster);
  const trees = doc.learner.gradient_booster.model.trees.map((t) => `{${Object.entries(t)
    .map(([k, v]) => `${JSON.stringify(k)}:${FLOAT_ARRAYS.has(k) ? `[${(v as number[]).map(floatText).join(',')}]` : JSON.stringify(v)}`)
    .join(',')}}`);
  const text = JSON.stringify(doc, (k, v: unknown) => (k === 'trees' ? '\u0000TREES' : v));
  return text.replace('"\\u0000TREES"', `[${trees.join(',')}]`);
}

/** XGBoost objective names kiln can serve, and the kiln objective that predicts the same. */
export const XGBOOST_IMPORT_OBJECTIVES = {
  'binary:logistic': 'binary:logistic',
  'reg:logistic': 'binary:logistic',
  'reg:squarederror': 'reg:squarederror',
  'reg:linear': 'reg:squarederror',
  'reg:absoluteerror': 'reg:squarederror',
  'reg:pseudohubererror': 'reg:squarederror',
  'multi:softprob': 'multi:softprob',
  'multi:softmax': 'multi:softprob',
  'rank:pairwise': 'rank:ndcg',
  'rank:ndcg': 'rank:ndcg',
  'rank:map': 'rank:ndcg',
} as const satisfies Record<string, ObjectiveName>;

/**
 * Parses XGBoost's JSON text, which writes NaN for the split condition of categorical nodes (and may
 * write Infinity): outside strings those become null and +-1e999 before JSON.parse.
 */
export function parseXGBoostText(text: string): unknown {
  let out = '';
  let last = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (inString) {
      if (ch === '\\') i++;
      else if (ch === '"') inString = false;
      continue;
    }
    if (ch === '"') inString = true;
    else if (ch === 'N' && text.startsWith('NaN', i)) { out += text.slice(last, i) + 'null'; i += 2; last = i + 1; }
    else if (ch === 'I' && text.startsWith('Infinity', i)) { out += text.slice(last, i) + '1e999'; i += 7; last = i + 1; }
  }
  out += text.slice(last);
  try {
    return JSON.parse(out);
  } catch (e) {
    throw new KilnError('MODEL_FORMAT_INVALID', `model JSON does not parse: ${(e as Error).message} (XGBoost binary .ubj models are not read; save them with a .json file name)`, { cause: e });
  }
}

const strNum = z.union([z.string(), z.number()]).transform((v, ctx) => {
  const x = Number(String(v).replace(/^\[|\]$/g, ''));
  if (!Number.isFinite(x)) ctx.addIssue({ code: 'custom', message: `expected a number, got '${String(v)}'` });
  return x;
});
const flags = z.array(z.union([z.number(), z.boolean()]).transform(Number));
const XgbTree = z.object({
  left_children: z.array(z.number().int()),
  right_children: z.array(z.number().int()),
  split_indices: z.array(z.number().int()),
  split_conditions: z.array(z.number().nullable()),
  default_left: flags,
  split_type: flags.optional(),
  base_weights: z.array(z.number().nullable()),
  loss_changes: z.array(z.number().nullable()),
  sum_hessian: z.array(z.number().nullable()),
  categories: z.array(z.number().int()).optional(),
  categories_nodes: z.array(z.number().int()).optional(),
  categories_segments: z.array(z.number().int()).optional(),
  categories_sizes: z.array(z.number().int()).optional(),
});
const XgbModel = z.object({
  learner: z.object({
    attributes: z.record(z.string(), z.string()).optional(),
    feature_names: z.array(z.string()).optional(),
    feature_types: z.array(z.string()).optional(),
    gradient_booster: z.object({
      name: z.string(),
      model: z.object({
        gbtree_model_param: z.object({ num_parallel_tree: strNum.optional(), num_trees: strNum.optional(), size_leaf_vector: strNum.optional() }).optional(),
        tree_info: z.array(z.number().int()),
        trees: z.array(XgbTree),
      }).optional(),
    }),
    learner_model_param: z.object({ base_score: strNum, num_class: strNum.optional(), num_feature: strNum, num_target: strNum.optional() }),
    objective: z.object({ name: z.string() }),
  }),
  version: z.array(z.number()).optional(),
});

function bad(message: string, path: (string | number)[]): KilnError {
  return new KilnError('MODEL_FORMAT_INVALID', `cannot import this XGBoost model: ${message}`, { path });
}

/** True when a parsed JSON document looks like an XGBoost model (has learner.gradient_booster). */
export function isXGBoostJSON(doc: unknown): boolean {
  const l = (doc as { learner?: { gradient_booster?: unknown } } | null)?.learner;
  return typeof l === 'object' && l !== null && 'gradient_booster' in l;
}

/** One XGBoost tree renumbered breadth-first from the root (deleted and unreachable nodes dropped). */
function convertTree(t: z.infer<typeof XgbTree>, k: number, cls: number, F: number, categorical: boolean[]): TreeJson {
  const n = t.left_children.length;
  const where = ['learner', 'gradient_booster', 'model', 'trees', k];
  const arrays = ['right_children', 'split_indices', 'split_conditions', 'default_left', 'base_weights', 'loss_changes', 'sum_hessian'] as const;
  for (const key of arrays) if (t[key].length !== n) throw bad(`tree ${k}: ${key} has ${t[key].length} entries but left_children has ${n}`, [...where, key]);
  const catOf = new Map<number, number[]>();
  const cn = t.categories_nodes ?? [];
  cn.forEach((node, c) => {
    const s = t.categories_segments?.[c] ?? 0;
    catOf.set(node, (t.categories ?? []).slice(s, s + (t.categories_sizes?.[c] ?? 0)).sort((a, b) => a - b));
  });
  const order = [0];
  const parent = [XGB_ROOT_PARENT];
  const kid: [number, number][] = [];
  for (let q = 0; q < order.length; q++) {
    const o = order[q]!;
    const l = t.left_children[o]!;
    const r = t.right_children[o]!;
    if (l < 0 && r < 0) { kid.push([-1, -1]); continue; }
    if (l < 0 || r < 0 || l >= n || r >= n || order.length > n) throw bad(`tree ${k}: node ${o} has bad children (${l}, ${r})`, where);
    kid.push([order.length, order.length + 1]);
    order.push(l, r);
    parent.push(q, q);
  }
  const j: TreeJson = {
    class: cls, left_children: [], right_children: [], parents: parent, split_indices: [], split_conditions: [], default_left: [], split_type: [],
    base_weights: [], loss_changes: [], sum_hessian: [], categories_nodes: [], categories_segments: [], categories_sizes: [], categories: [],
  };
  order.forEach((o, q) => {
    const [l, r] = kid[q]!;
    const leaf = l < 0;
    const f = t.split_indices[o]!;
    const isCat = !leaf && (t.split_type?.[o] ?? 0) === 1;
    if (!leaf && (f < 0 || f >= F)) throw bad(`tree ${k}: node ${o} splits on feature ${f} but the model has ${F} (learner_model_param.num_feature)`, [...where, 'split_indices', o]);
    const cond = t.split_conditions[o] ?? NaN;
    if ((leaf || !isCat) && !Number.isFinite(cond)) throw bad(`tree ${k}: node ${o} has split condition ${cond}; only categorical nodes may have NaN`, [...where, 'split_conditions', o]);
    j.left_children.push(l); j.right_children.push(r);
    j.split_indices.push(leaf ? 0 : f);
    j.split_conditions.push(isCat ? 0 : cond + 0); // + 0: -0 leaves (XGBoost writes -0E0) read as 0, as kiln grows them
    j.default_left.push(t.default_left[o] ? 1 : 0);
    j.split_type.push(isCat ? 1 : 0);
    j.base_weights.push((t.base_weights[o] ?? 0) + 0); j.loss_changes.push(t.loss_changes[o] ?? 0); j.sum_hessian.push(t.sum_hessian[o] ?? 0);
    if (isCat) {
      const codes = catOf.get(o);
      if (!codes) throw bad(`tree ${k}: categorical node ${o} is missing from categories_nodes`, [...where, 'categories_nodes']);
      j.categories_nodes.push(q); j.categories_segments.push(j.categories.length); j.categories_sizes.push(codes.length); j.categories.push(...codes);
      categorical[f] = true;
    }
  });
  return j;
}

/** The kiln.gbdt@1 document of an XGBoost JSON model (object or text). */
export function xgboostToKilnJSON(input: unknown): GbdtModelJson {
  const doc = typeof input === 'string' ? parseXGBoostText(input) : input;
  if (!isXGBoostJSON(doc)) throw bad('the document has no learner.gradient_booster; is it an XGBoost JSON model (save_model with a .json name)?', ['learner']);
  const r = XgbModel.safeParse(doc);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    throw bad(`${issue.path.join('.')}: ${issue.message}`, issue.path.map((p) => (typeof p === 'symbol' ? String(p) : p)));
  }
  const { learner, version } = r.data;
  const gb = learner.gradient_booster;
  if (gb.name !== 'gbtree' || !gb.model) {
    throw bad(`gradient_booster '${gb.name}' is not supported; kiln serves gbtree models (dart's tree weights and gblinear are not read)`, ['learner', 'gradient_booster', 'name']);
  }
  const parallel = gb.model.gbtree_model_param?.num_parallel_tree ?? 1;
  if (parallel !== 1) throw bad(`num_parallel_tree = ${parallel}: boosted random forests are not supported (kiln needs one tree per class per round)`, ['learner', 'gradient_booster', 'model', 'gbtree_model_param', 'num_parallel_tree']);
  const objName = learner.objective.name;
  const objective = (XGBOOST_IMPORT_OBJECTIVES as Record<string, ObjectiveName>)[objName];
  if (!objective) throw bad(`objective '${objName}' is not supported; use one of: ${Object.keys(XGBOOST_IMPORT_OBJECTIVES).join(', ')}`, ['learner', 'objective', 'name']);
  const mp = learner.learner_model_param;
  if ((mp.num_target ?? 1) > 1) throw bad(`num_target = ${mp.num_target}: multi-target models are not supported`, ['learner', 'learner_model_param', 'num_target']);
  const K = Math.max(1, mp.num_class ?? 0);
  if ((objective === 'multi:softprob') !== K > 1) throw bad(`objective '${objName}' with num_class = ${mp.num_class ?? 0} is inconsistent`, ['learner', 'learner_model_param', 'num_class']);
  const F = mp.num_feature;
  const names = learner.feature_names?.length ? learner.feature_names : Array.from({ length: F }, (_, i) => `f${i}`);
  if (names.length !== F) throw bad(`feature_names has ${names.length} names but num_feature is ${F}`, ['learner', 'feature_names']);
  const categorical = names.map((_, i) => learner.feature_types?.[i] === 'c');
  const { trees: xt, tree_info: info } = gb.model;
  if (info.length !== xt.length) throw bad(`tree_info has ${info.length} entries for ${xt.length} trees`, ['learner', 'gradient_booster', 'model', 'tree_info']);
  if (xt.length % K !== 0) throw bad(`${xt.length} trees is not a whole number of rounds of ${K} classes`, ['learner', 'gradient_booster', 'model', 'trees']);
  const trees = xt.map((t, i) => {
    if (info[i] !== i % K) throw bad(`tree ${i} is for class ${info[i]} but kiln expects round-major order (class ${i % K})`, ['learner', 'gradient_booster', 'model', 'tree_info', i]);
    return convertTree(t, i, i % K, F, categorical);
  });
  const base = mp.base_score;
  if (objective === 'binary:logistic' && !(base > 0 && base < 1)) throw bad(`base_score = ${base} must be a probability in (0, 1) for '${objName}'`, ['learner', 'learner_model_param', 'base_score']);
  const attrs = learner.attributes ?? {};
  // xgboost.train records best_iteration even without early stopping; best_score marks a real one.
  const best = attrs.best_score !== undefined && attrs.best_iteration !== undefined ? Number(attrs.best_iteration) : null;
  return {
    format: MODEL_FORMAT,
    objective,
    num_outputs: K,
    base_score: base,
    base_margin: f32(OBJECTIVES[objective].baseMargin(base)),
    features: names.map((name, i) => ({ name, type: categorical[i] ? 'categorical' : 'numeric' })),
    params: { objective: objName, imported_from: `xgboost ${version?.join('.') ?? '(unknown version)'}` },
    num_rounds: xt.length / K,
    best_iteration: best !== null && Number.isInteger(best) && best >= 0 && best < xt.length / K ? best : null,
    best_score: best !== null ? Number(attrs.best_score) : null,
    best_metric: best !== null ? '' : null,
    trees,
  };
}

/**
 * A kiln Booster from an XGBoost JSON model (object or text), e.g. one trained in Python with
 * `bst.save_model('model.json')`.
 * @example
 * const booster = fromXGBoostJSON(readFileSync('model.json', 'utf8'));
 */
export function fromXGBoostJSON(input: unknown): Booster {
  return Booster.fromJSON(xgboostToKilnJSON(input));
}
