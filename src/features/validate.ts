/**
 * Load-time validation of feature definitions: everything the compiler cannot catch (definitions from
 * plain JavaScript, names across files, windows, parameter ranges), collected in one pass so that every
 * problem is reported at once, each naming the definition and what to do.
 */
import { didYouMean } from '../core/errors.js';
import { AGGREGATORS, aggregatorOf } from './aggregators.js';
import { EXPR_ARITY, exprRefs } from './derived.js';
import {
  CONDITION_OPS, EXPR_FNS, SOURCE_COLUMN_TYPES, TIME_UNIT_SECONDS,
  type AggregateFeatureSpec, type DefinitionSpec, type DerivedFeatureSpec, type EntitySpec, type Expr, type FeatureSetSpec,
  type SourceSpec,
} from './spec.js';
import { parseWindow } from './window.js';

export interface DefinitionIssue {
  readonly path: (string | number)[];
  readonly message: string;
}

const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;
const NUMERIC = new Set(['double', 'integer', 'bigint']);
const MAX_K = 10_000;

/** A bucket value as it appears in a column name: `spend_30d__online_retail`. */
export function bucketLabel(v: string | number): string {
  return String(v).replace(/[^A-Za-z0-9_]/g, '_');
}

const isObj = (x: unknown): x is Record<string, unknown> => x !== null && typeof x === 'object' && !Array.isArray(x);
const show = (v: unknown): string => { const s = JSON.stringify(v); return s === undefined ? String(v) : s.length > 60 ? `${s.slice(0, 57)}...` : s; };
const hint = (name: string, candidates: Iterable<string>): string => { const h = didYouMean(name, candidates); return h ? `; did you mean '${h}'?` : ''; };
const list = (xs: Iterable<string>): string => [...xs].join(', ') || 'none';

export interface SortedDefinitions {
  entities: Map<string, EntitySpec>;
  sources: Map<string, SourceSpec>;
  features: Map<string, AggregateFeatureSpec | DerivedFeatureSpec>;
  sets: Map<string, FeatureSetSpec>;
}

/** Sorts raw definitions by kind, reporting anything that is not a definition and duplicate names. */
export function sortDefinitions(defs: readonly unknown[], issues: DefinitionIssue[]): SortedDefinitions {
  const out: SortedDefinitions = { entities: new Map(), sources: new Map(), features: new Map(), sets: new Map() };
  defs.forEach((d, i) => {
    const path = ['features', i];
    if (!isObj(d) || typeof d.kind !== 'string' || !['entity', 'source', 'feature', 'featureSet'].includes(d.kind)) {
      issues.push({ path, message: `features[${i}] is not a kiln definition (build it with entity, eventSource, sum, derived, featureSet...); got ${show(d)}` });
      return;
    }
    const name = d.name;
    if (typeof name !== 'string' || !IDENT.test(name) || name.startsWith('__')) {
      issues.push({ path: [...path, 'name'], message: `features[${i}] (${d.kind}): name ${show(name)} must be an identifier (letters, digits, _; not starting with a digit or __)` });
      return;
    }
    const spec = d as unknown as DefinitionSpec;
    const bucket = spec.kind === 'entity' ? out.entities : spec.kind === 'source' ? out.sources : spec.kind === 'feature' ? out.features : out.sets;
    if (bucket.has(name)) {
      issues.push({ path, message: `${spec.kind} '${name}' is defined twice (features[${i}]); names must be unique` });
      return;
    }
    (bucket as Map<string, DefinitionSpec>).set(name, spec);
  });
  for (const name of out.sets.keys()) {
    if (out.features.has(name)) issues.push({ path: ['featureSet', name], message: `feature set '${name}' has the name of a feature; rename one of them` });
  }
  return out;
}

export function validateEntity(e: EntitySpec, issues: DefinitionIssue[]): void {
  if (typeof e.key !== 'string' || !e.key) issues.push({ path: ['entity', e.name, 'key'], message: `entity '${e.name}': key must name a column` });
}

export function validateSource(s: SourceSpec, defs: SortedDefinitions, issues: DefinitionIssue[]): void {
  const at = (field: string, message: string): void => { issues.push({ path: ['source', s.name, field], message: `source '${s.name}': ${message}` }); };
  if (s.type !== 'event' && s.type !== 'snapshot') at('type', `type must be 'event' or 'snapshot'; got ${show(s.type)}`);
  if (!defs.entities.has(s.entity)) at('entity', `entity ${show(s.entity)} is not defined${hint(String(s.entity), defs.entities.keys())} (defined: ${list(defs.entities.keys())}); add the entity to the config's features`);
  for (const f of ['table', 'key', 'timestamp'] as const) {
    if (typeof s[f] !== 'string' || !s[f]) at(f, `${f} must name a ${f === 'table' ? 'table' : 'column'}; got ${show(s[f])}`);
  }
  for (const f of ['availableAt', 'tiebreak'] as const) {
    if (s[f] !== null && (typeof s[f] !== 'string' || !s[f])) at(f, `${f} must name a column or be left out; got ${show(s[f])}`);
  }
  if (!isObj(s.columns)) { at('columns', 'columns must map column names to types'); return; }
  for (const [c, t] of Object.entries(s.columns)) {
    if (!(SOURCE_COLUMN_TYPES as readonly string[]).includes(t)) at('columns', `column '${c}' has type ${show(t)}; use one of: ${SOURCE_COLUMN_TYPES.join(', ')}`);
  }
  if (s.tiebreak !== null && typeof s.tiebreak === 'string' && !(s.tiebreak in s.columns)) {
    at('tiebreak', `tiebreak column '${s.tiebreak}' is not among the declared columns (${list(Object.keys(s.columns))})`);
  }
}

/** Checks one aggregate feature against its source and its operator's declared requirements. */
export function validateAggregate(f: AggregateFeatureSpec, defs: SortedDefinitions, issues: DefinitionIssue[]): void {
  const at = (field: string, message: string): void => { issues.push({ path: ['feature', f.name, field], message: `feature '${f.name}': ${message}` }); };
  const agg = aggregatorOf(f.op);
  if (!agg) at('op', `operator ${show(f.op)} is unknown; use one of: ${Object.keys(AGGREGATORS).join(', ')}`);
  const src = defs.sources.get(f.source);
  if (!src) {
    at('source', `source ${show(f.source)} is not defined${hint(String(f.source), defs.sources.keys())} (defined: ${list(defs.sources.keys())}); add the source to the config's features`);
  }
  const window = parseWindow(f.window);
  if ('problem' in window) at('window', window.problem);
  if (!agg || !src || !isObj(src.columns)) return;
  const cols = src.columns;
  const declared = (c: string, field: string): boolean => {
    if (c in cols) return true;
    at(field, `source '${src.name}' has no column '${c}'${hint(c, Object.keys(cols))} (declared: ${list(Object.keys(cols))})`);
    return false;
  };
  if (!agg.windowed && src.type !== 'snapshot') at('source', `operator '${f.op}' reads a snapshot source as of the spine time; '${src.name}' is an event source (use last(...) for the latest event value)`);
  if (agg.windowed && src.type !== 'event') at('source', `operator '${f.op}' aggregates events; '${src.name}' is a snapshot source (use attribute(...))`);
  if (!agg.windowed && 'seconds' in window && window.seconds !== null) at('window', `operator '${f.op}' takes no window; it reads the latest row`);
  if (agg.column === 'none' && f.column !== null) at('column', `operator '${f.op}' takes no column; got '${f.column}'`);
  if (agg.column !== 'none') {
    if (typeof f.column !== 'string') at('column', `operator '${f.op}' needs a column`);
    else if (declared(f.column, 'column') && agg.column === 'numeric' && !NUMERIC.has(cols[f.column]!)) {
      at('column', `operator '${f.op}' needs a numeric column; '${f.column}' is ${cols[f.column]}`);
    }
  }
  validateParams(f, agg.params, at, declared);
  if (!Array.isArray(f.where)) at('where', 'where must be a list of conditions');
  else for (const c of f.where) validateCondition(c, cols, at, declared);
  if (f.by !== null) validateBuckets(f, cols, at, declared);
}

type At = (field: string, message: string) => void;
type Declared = (c: string, field: string) => boolean;

function validateParams(f: AggregateFeatureSpec, wanted: readonly string[], at: At, declared: Declared): void {
  const p = isObj(f.params) ? f.params : {};
  for (const k of Object.keys(p)) if (!wanted.includes(k)) at(`params.${k}`, `operator '${f.op}' takes no parameter '${k}'`);
  if (wanted.includes('k') && !(Number.isInteger(p.k) && (p.k as number) >= 1 && (p.k as number) <= MAX_K)) at('params.k', `k must be an integer from 1 to ${MAX_K}; got ${show(p.k)}`);
  if (wanted.includes('p') && !(typeof p.p === 'number' && p.p >= 0 && p.p <= 1)) at('params.p', `p must be a number from 0 to 1; got ${show(p.p)}`);
  if (wanted.includes('unit') && !(typeof p.unit === 'string' && Object.hasOwn(TIME_UNIT_SECONDS, p.unit))) at('params.unit', `unit must be one of: ${Object.keys(TIME_UNIT_SECONDS).join(', ')}; got ${show(p.unit)}`);
  if (wanted.includes('fields')) {
    const fields = p.fields;
    if (!Array.isArray(fields) || fields.length === 0) at('params.fields', 'fields must list at least one column');
    else {
      for (const c of fields) if (typeof c !== 'string') at('params.fields', `fields must be column names; got ${show(c)}`); else declared(c, 'params.fields');
      if (new Set(fields).size !== fields.length) at('params.fields', 'fields lists a column twice');
      if (fields.includes('ts')) at('params.fields', "'ts' is the event time of each element already; leave it out of fields");
    }
  }
}

function valueFits(v: unknown, type: string): boolean {
  if (NUMERIC.has(type)) return typeof v === 'number' && Number.isFinite(v);
  if (type === 'boolean') return typeof v === 'boolean';
  return typeof v === 'string';
}

function validateCondition(c: AggregateFeatureSpec['where'][number], cols: Record<string, string>, at: At, declared: Declared): void {
  if (!isObj(c) || typeof c.column !== 'string') { at('where', `a condition must name a column; got ${show(c)}`); return; }
  if (!declared(c.column, 'where')) return;
  const type = cols[c.column]!;
  if (type === 'timestamp' || type === 'date') { at('where', `column '${c.column}' is a ${type}; filter on time with the window, not with where`); return; }
  if (!(CONDITION_OPS as readonly string[]).includes(c.op)) { at('where', `condition on '${c.column}': operator '${String(c.op)}' is unknown; use one of: eq, ne, gt, gte, lt, lte, in, notIn, isNull`); return; }
  if (c.op === 'isNull' || c.op === 'notNull') return;
  const values = c.op === 'in' || c.op === 'notIn' ? c.value : [c.value];
  if (!Array.isArray(values) || values.length === 0) { at('where', `condition ${c.op} on '${c.column}' needs a non-empty list`); return; }
  for (const v of values) if (!valueFits(v, type)) at('where', `condition ${c.op} on '${c.column}' (${type}) compares with ${show(v)}, which is not a ${type} value`);
  if (['gt', 'gte', 'lt', 'lte'].includes(c.op) && type === 'boolean') at('where', `condition ${c.op} on boolean '${c.column}' is not meaningful; use eq`);
}

function validateBuckets(f: AggregateFeatureSpec, cols: Record<string, string>, at: At, declared: Declared): void {
  const by = f.by!;
  if (!isObj(by) || typeof by.column !== 'string') { at('by', 'by must name a column and list its values'); return; }
  if (!declared(by.column, 'by')) return;
  const type = cols[by.column]!;
  if (type === 'timestamp' || type === 'date' || type === 'double') at('by', `column '${by.column}' is a ${type}; buckets need a categorical column (varchar, integer, bigint, boolean)`);
  if (!Array.isArray(by.values) || by.values.length === 0) { at('by', `by '${by.column}' needs a non-empty list of values (list them, or discover them with discoverBuckets and paste the list)`); return; }
  const labels = new Map<string, unknown>();
  for (const v of by.values) {
    if (!valueFits(v, type)) at('by', `bucket value ${show(v)} is not a ${type} value of '${by.column}'`);
    const l = bucketLabel(v);
    if (labels.has(l)) at('by', `bucket values ${show(labels.get(l))} and ${show(v)} both become column '${f.name}__${l}'`);
    labels.set(l, v);
  }
}

/** Checks a derived feature's expression: functions, arity, literals and references. */
export function validateDerived(f: DerivedFeatureSpec, defs: SortedDefinitions, issues: DefinitionIssue[]): void {
  const at = (message: string): void => { issues.push({ path: ['feature', f.name, 'expr'], message: `feature '${f.name}': ${message}` }); };
  const walk = (e: Expr): void => {
    if (!isObj(e)) { at(`expression node ${show(e)} is not an expression`); return; }
    if ('lit' in e) { if (typeof e.lit !== 'number' || !Number.isFinite(e.lit)) at(`literal ${show(e.lit)} must be a finite number`); return; }
    if ('ref' in e) return;
    if (!('fn' in e) || !(EXPR_FNS as readonly string[]).includes(e.fn)) { at(`function ${show((e as { fn?: unknown }).fn)} is unknown; use one of: ${EXPR_FNS.join(', ')}`); return; }
    const [lo, hi] = EXPR_ARITY[e.fn];
    if (!Array.isArray(e.args) || e.args.length < lo || e.args.length > hi) { at(`${e.fn} takes ${lo === hi ? lo : `${lo} or more`} arguments`); return; }
    for (const a of e.args) walk(a);
  };
  walk(f.expr);
  if (!isObj(f.expr)) return;
  for (const r of exprRefs(f.expr)) {
    const dep = defs.features.get(r.ref);
    if (!dep) { at(`refers to unknown feature '${r.ref}'${hint(r.ref, defs.features.keys())}`); continue; }
    if (dep.type !== 'aggregate') { if (r.bucket !== undefined) at(`'${r.ref}' has no buckets`); continue; }
    const agg = aggregatorOf(dep.op);
    const src = defs.sources.get(dep.source);
    const colType = dep.column && src && isObj(src.columns) ? src.columns[dep.column] : undefined;
    const numeric = agg?.output === 'number' || (agg?.output === 'input' && colType !== undefined && NUMERIC.has(colType));
    if (agg && !numeric) at(`'${r.ref}' is not numeric (${dep.op}${colType ? ` of ${colType} '${dep.column}'` : ''}); expressions read numbers`);
    const buckets = dep.by && Array.isArray(dep.by.values) ? dep.by.values : null;
    if (buckets && r.bucket === undefined) at(`'${r.ref}' has one column per bucket; read one with bucket(${r.ref}, value) (values: ${buckets.join(', ')})`);
    if (!buckets && r.bucket !== undefined) at(`'${r.ref}' has no buckets`);
    if (buckets && r.bucket !== undefined && !buckets.includes(r.bucket)) at(`'${r.ref}' has no bucket ${show(r.bucket)} (values: ${buckets.join(', ')})`);
  }
}

export function validateSet(s: FeatureSetSpec, defs: SortedDefinitions, issues: DefinitionIssue[]): void {
  const at = (message: string): void => { issues.push({ path: ['featureSet', s.name, 'features'], message: `feature set '${s.name}': ${message}` }); };
  if (!Array.isArray(s.features) || s.features.length === 0) { at('lists no features'); return; }
  const seen = new Set<string>();
  for (const n of s.features) {
    if (typeof n !== 'string' || !defs.features.has(n)) at(`feature ${show(n)} is not defined${typeof n === 'string' ? hint(n, defs.features.keys()) : ''}`);
    if (seen.has(n)) at(`lists '${n}' twice`);
    seen.add(n);
  }
}
