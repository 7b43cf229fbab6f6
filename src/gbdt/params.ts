/**
 * Training parameters (XGBoost names and defaults, XGBoost 1.7 where versions differ). Each parameter is
 * declared once below: its zod schema carries the type, the bound, the default and the doc; the range
 * text in error messages is generated from the same declaration.
 */
import { availableParallelism } from 'node:os';
import { z } from 'zod';
import { didYouMean, KilnError } from '../core/errors.js';

export const OBJECTIVE_NAMES = ['binary:logistic', 'reg:squarederror', 'multi:softprob', 'rank:ndcg'] as const;
export type ObjectiveName = (typeof OBJECTIVE_NAMES)[number];

interface NumOpts {
  min?: number;
  max?: number;
  /** Exclusive lower bound. */
  gt?: number;
  int?: boolean;
  doc: string;
}

interface Declared<S extends z.ZodType> {
  schema: S;
  /** Human text for the allowed values, used in error messages. */
  allowed: string;
}

function rangeText(o: NumOpts): string {
  const kind = o.int ? 'an integer' : 'a number';
  const lo = o.gt !== undefined ? `(${o.gt}` : o.min !== undefined ? `[${o.min}` : undefined;
  if (lo !== undefined && o.max !== undefined) return `${kind} in ${lo}, ${o.max}]`;
  if (o.gt !== undefined) return `${kind} > ${o.gt}`;
  if (o.min !== undefined) return `${kind} >= ${o.min}`;
  if (o.max !== undefined) return `${kind} <= ${o.max}`;
  return `a finite ${kind.slice(kind.indexOf(' ') + 1)}`;
}

function numSchema(o: NumOpts): z.ZodNumber {
  let s = o.int ? z.number().int() : z.number();
  if (o.min !== undefined) s = s.min(o.min);
  if (o.gt !== undefined) s = s.gt(o.gt);
  if (o.max !== undefined) s = s.max(o.max);
  return s;
}

function num(def: number, o: NumOpts): Declared<z.ZodDefault<z.ZodNumber>> {
  return { schema: numSchema(o).default(def).describe(o.doc), allowed: rangeText(o) };
}

function optNum(o: NumOpts): Declared<z.ZodOptional<z.ZodNumber>> {
  return { schema: numSchema(o).optional().describe(o.doc), allowed: rangeText(o) };
}

function oneOf<const T extends readonly [string, ...string[]]>(values: T, def: T[number], doc: string): Declared<z.ZodDefault<z.ZodEnum<{ [K in T[number]]: K }>>> {
  return { schema: z.enum(values).default(def as never).describe(doc), allowed: `one of: ${values.join(', ')}` };
}

const Monotone = z.union([z.literal(-1), z.literal(0), z.literal(1)]);

/** The parameter table. */
export const PARAMS = {
  objective: oneOf(OBJECTIVE_NAMES, 'reg:squarederror', 'learning task and loss'),
  num_class: optNum({ min: 2, max: 1 << 16, int: true, doc: 'number of classes; required by multi:softprob' }),
  learning_rate: num(0.3, { gt: 0, max: 1, doc: 'shrinkage (eta) applied to each tree; leaf values already include it' }),
  n_estimators: num(100, { min: 1, max: 1_000_000, int: true, doc: 'boosting rounds (one tree per round, num_class trees for multi:softprob)' }),
  max_depth: num(6, { min: 0, max: 30, int: true, doc: 'maximum tree depth; 0 = no limit (lossguide with max_leaves only)' }),
  max_leaves: num(0, { min: 0, max: 1 << 20, int: true, doc: 'maximum leaves per tree; 0 = no limit' }),
  grow_policy: oneOf(['depthwise', 'lossguide'] as const, 'depthwise', 'depthwise: split level by level; lossguide: split the leaf with the highest gain first'),
  min_child_weight: num(1, { min: 0, doc: 'minimum sum of hessians in each child of a split' }),
  lambda: num(1, { min: 0, doc: 'L2 regularisation on leaf weights (reg_lambda)' }),
  alpha: num(0, { min: 0, doc: 'L1 regularisation on leaf weights (reg_alpha)' }),
  gamma: num(0, { min: 0, doc: 'minimum loss reduction to make a split (min_split_loss)' }),
  subsample: num(1, { gt: 0, max: 1, doc: 'fraction of rows sampled (without replacement, seeded) for each tree' }),
  colsample_bytree: num(1, { gt: 0, max: 1, doc: 'fraction of features sampled (seeded) for each tree' }),
  max_bin: num(256, { min: 2, max: 65536, int: true, doc: 'bins per feature including the missing-value bin; bins are uint8 up to 256, uint16 above' }),
  scale_pos_weight: num(1, { gt: 0, doc: 'weight multiplier for positive rows (binary:logistic)' }),
  base_score: num(0.5, { doc: 'initial prediction (a probability for binary:logistic, a margin otherwise), as in XGBoost 1.7' }),
  seed: num(0, { min: 0, max: 2 ** 32 - 1, int: true, doc: 'seed of every random choice (row and feature sampling, binning sample)' }),
  nthread: num(availableParallelism(), { min: 1, max: 1024, int: true, doc: 'threads for training at most (the main thread plus nthread-1 workers; small data uses fewer, see threadsFor); never changes the model' }),
  monotone_constraints: {
    schema: z.union([z.array(Monotone), z.record(z.string(), Monotone)]).optional().describe('per feature -1 (decreasing), 0 or 1 (increasing): an array in feature order or an object by feature name'),
    allowed: 'an array of -1/0/1 (one per feature) or an object mapping feature names to -1/0/1',
  },
  max_cat_to_onehot: num(4, { min: 1, max: 65536, int: true, doc: 'categorical features with fewer categories than this use one-vs-rest splits; others use sorted partitions' }),
  max_cat_threshold: num(64, { min: 1, max: 65536, int: true, doc: 'maximum categories sent right by one partition split' }),
  early_stopping_rounds: optNum({ min: 1, max: 1_000_000, int: true, doc: 'stop when the last eval_metric on `valid` has not improved for this many rounds' }),
  eval_metric: {
    schema: z.union([z.string(), z.array(z.string()).min(1)]).optional().describe('metrics reported each round (the last one drives early stopping): auc, logloss, rmse, mlogloss, ndcg, ndcg@k'),
    allowed: 'a metric name or a non-empty array of them',
  },
} as const;

type Table = typeof PARAMS;
export type ParamName = keyof Table;
/** Parameters as a caller writes them. */
export type GbdtParams = { [K in ParamName]?: z.input<Table[K]['schema']> };
/** Parameters after defaults. */
export type ResolvedParams = { [K in ParamName]: z.output<Table[K]['schema']> };

export const PARAM_NAMES = Object.keys(PARAMS) as ParamName[];

/** Parameters that change how training runs but never the model, so they are left out of the artifact. */
export const RUNTIME_ONLY_PARAMS: readonly ParamName[] = ['nthread'];

/** One problem found in the parameters. */
export interface ParamIssue {
  param: string;
  message: string;
}

function show(v: unknown): string {
  if (typeof v === 'string') return `'${v}'`;
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
}

/** Validates every parameter and returns all problems at once; the caller throws. */
export function checkParams(input: unknown): { params: ResolvedParams; issues: ParamIssue[] } {
  const issues: ParamIssue[] = [];
  const out: Record<string, unknown> = {};
  if (input === null || typeof input !== 'object' || Array.isArray(input)) {
    issues.push({ param: 'params', message: `params must be an object of XGBoost-style parameters, got ${show(input)}` });
    return { params: out as ResolvedParams, issues };
  }
  const given = input as Record<string, unknown>;
  for (const key of Object.keys(given)) {
    if (key in PARAMS) continue;
    const hint = didYouMean(key, PARAM_NAMES);
    issues.push({ param: key, message: `unknown parameter '${key}'${hint ? `; did you mean '${hint}'?` : `; known parameters: ${PARAM_NAMES.join(', ')}`}` });
  }
  for (const name of PARAM_NAMES) {
    const decl = PARAMS[name] as Declared<z.ZodType>;
    const value = given[name];
    const r = decl.schema.safeParse(value);
    if (r.success) out[name] = r.data;
    else issues.push({ param: name, message: `parameter '${name}' = ${show(value)} is invalid: must be ${decl.allowed}` });
  }
  return { params: out as ResolvedParams, issues };
}

/** Cross-parameter rules that need no data. */
export function checkParamCombinations(p: ResolvedParams): ParamIssue[] {
  const issues: ParamIssue[] = [];
  if (p.objective === 'multi:softprob' && p.num_class === undefined) {
    issues.push({ param: 'num_class', message: `objective 'multi:softprob' needs num_class (an integer >= 2)` });
  }
  if (p.objective !== 'multi:softprob' && p.num_class !== undefined) {
    issues.push({ param: 'num_class', message: `num_class is only used by 'multi:softprob', not by '${p.objective}'; remove it` });
  }
  if (p.max_depth === 0 && (p.grow_policy !== 'lossguide' || p.max_leaves === 0)) {
    issues.push({ param: 'max_depth', message: `max_depth = 0 (no depth limit) needs grow_policy 'lossguide' and max_leaves > 0` });
  }
  if (p.objective === 'binary:logistic' && !(p.base_score > 0 && p.base_score < 1)) {
    issues.push({ param: 'base_score', message: `parameter 'base_score' = ${p.base_score} is invalid for 'binary:logistic': must be a probability in (0, 1)` });
  }
  return issues;
}

export function throwIssues(issues: ParamIssue[], what = 'invalid GBDT parameters'): never {
  const message = issues.length === 1 ? issues[0]!.message : `${what}:\n  - ${issues.map((i) => i.message).join('\n  - ')}`;
  throw new KilnError('GBDT_PARAM_INVALID', message, { path: issues.length === 1 ? ['params', issues[0]!.param] : ['params'], details: issues });
}

/** Validates parameters, throwing one KilnError that lists every problem. */
export function resolveParams(input: unknown): ResolvedParams {
  const { params, issues } = checkParams(input);
  if (issues.length === 0) issues.push(...checkParamCombinations(params));
  if (issues.length > 0) throwIssues(issues);
  return params;
}
