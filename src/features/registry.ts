/**
 * The feature registry: the validated, resolved view of a config's definitions: each feature with its
 * entity, source, version, output columns and dependents. Built once at the edge; engines trust it.
 */
import { KilnError, didYouMean } from '../core/errors.js';
import { aggregatorOf } from './aggregators.js';
import { exprRefs } from './derived.js';
import type {
  AggregateFeatureSpec, DerivedFeatureSpec, EntitySpec, FeatureSetSpec, FeatureSpec, OutputKind, SourceColumnType, SourceSpec,
} from './spec.js';
import {
  bucketLabel, sortDefinitions, validateAggregate, validateDerived, validateEntity, validateSet, validateSource,
  type DefinitionIssue,
} from './validate.js';
import { aggregateVersion, derivedVersion, setVersion } from './version.js';

/** One column a feature writes: the feature's name, or `<name>__<label>` per bucket. */
export interface FeatureOutput {
  readonly column: string;
  readonly bucket: string | number | null;
}

export interface ResolvedFeature {
  readonly spec: FeatureSpec;
  readonly name: string;
  readonly version: string;
  readonly entity: EntitySpec;
  /** The source of an aggregate feature; null for derived features. */
  readonly source: SourceSpec | null;
  readonly outputs: readonly FeatureOutput[];
  readonly outputKind: OutputKind;
  /** The declared type of the value for 'value' outputs (min/max/first/last/attributes). */
  readonly valueType: SourceColumnType | null;
  /** Features a derived feature reads. */
  readonly inputs: readonly string[];
  /** Feature sets and derived features that read this feature. */
  readonly usedBy: readonly string[];
}

export interface ResolvedSet {
  readonly spec: FeatureSetSpec;
  readonly name: string;
  readonly version: string;
  readonly entity: EntitySpec | null;
}

export interface FeatureRegistry {
  readonly entities: ReadonlyMap<string, EntitySpec>;
  readonly sources: ReadonlyMap<string, SourceSpec>;
  /** In dependency order: a derived feature comes after the features it reads. */
  readonly features: ReadonlyMap<string, ResolvedFeature>;
  readonly sets: ReadonlyMap<string, ResolvedSet>;
}

/** Formats collected issues as one CONFIG_INVALID error. */
export function definitionsError(issues: readonly DefinitionIssue[], source = 'feature definitions'): KilnError {
  const n = issues.length;
  return new KilnError('FEATURE_DEFINITION_INVALID', `${source}: ${n} problem${n > 1 ? 's' : ''}:\n${issues.map((i) => `  - ${i.message}`).join('\n')}`, {
    path: issues.length === 1 ? issues[0]!.path : ['features'], details: issues,
  });
}

/** Validates definitions (all problems at once) and returns the issues; empty when they are sound. */
export function validateDefinitions(defs: readonly unknown[]): DefinitionIssue[] {
  const issues: DefinitionIssue[] = [];
  build(defs, issues);
  return issues;
}

/**
 * Builds the registry from a config's `features` array, or throws one CONFIG_INVALID error listing every
 * problem.
 * @example const registry = loadFeatureRegistry(project.config.features);
 */
export function loadFeatureRegistry(defs: readonly unknown[]): FeatureRegistry {
  const issues: DefinitionIssue[] = [];
  const registry = build(defs, issues);
  if (issues.length) throw definitionsError(issues);
  return registry;
}

function build(defs: readonly unknown[], issues: DefinitionIssue[]): FeatureRegistry {
  const sorted = sortDefinitions(defs, issues);
  for (const e of sorted.entities.values()) validateEntity(e, issues);
  for (const s of sorted.sources.values()) validateSource(s, sorted, issues);
  for (const f of sorted.features.values()) {
    if (f.type === 'aggregate') validateAggregate(f, sorted, issues);
    else if (f.type === 'derived') validateDerived(f, sorted, issues);
    else issues.push({ path: ['feature', (f as FeatureSpec).name, 'type'], message: `feature '${(f as FeatureSpec).name}': type must be 'aggregate' or 'derived'` });
  }
  for (const s of sorted.sets.values()) validateSet(s, sorted, issues);

  const features = new Map<string, ResolvedFeature>();
  const usedBy = new Map<string, string[]>();
  const use = (dep: string, by: string): void => { const u = usedBy.get(dep) ?? []; if (!u.includes(by)) u.push(by); usedBy.set(dep, u); };
  const state = new Map<string, 'visiting' | 'done'>();

  const resolve = (name: string, trail: string[]): ResolvedFeature | undefined => {
    if (state.get(name) === 'done') return features.get(name);
    const spec = sorted.features.get(name);
    if (!spec) return undefined;
    if (state.get(name) === 'visiting') {
      issues.push({ path: ['feature', name, 'expr'], message: `feature '${name}': derived features refer to each other in a cycle: ${[...trail, name].join(' -> ')}` });
      return undefined;
    }
    state.set(name, 'visiting');
    const r = spec.type === 'aggregate' ? resolveAggregate(spec) : spec.type === 'derived' ? resolveDerived(spec, [...trail, name]) : undefined;
    state.set(name, 'done');
    if (r) features.set(name, r);
    return r;
  };

  const resolveAggregate = (f: AggregateFeatureSpec): ResolvedFeature | undefined => {
    const source = sorted.sources.get(f.source);
    const entity = source ? sorted.entities.get(source.entity) : undefined;
    const agg = aggregatorOf(f.op);
    if (!source || !entity || !agg) return undefined;
    const outputs: FeatureOutput[] = f.by && Array.isArray(f.by.values)
      ? f.by.values.map((b) => ({ column: `${f.name}__${bucketLabel(b)}`, bucket: b }))
      : [{ column: f.name, bucket: null }];
    const valueType = agg.output === 'input' && f.column ? source.columns[f.column] ?? null : null;
    return {
      spec: f, name: f.name, version: aggregateVersion(f, source, entity), entity, source, outputs,
      outputKind: agg.output === 'input' ? 'value' : agg.output, valueType, inputs: [], usedBy: [],
    };
  };

  const resolveDerived = (f: DerivedFeatureSpec, trail: string[]): ResolvedFeature | undefined => {
    const refs = f.expr && typeof f.expr === 'object' ? exprRefs(f.expr) : [];
    const inputs = [...new Set(refs.map((r) => r.ref))];
    const deps = inputs.map((n) => resolve(n, trail));
    if (deps.some((d) => d === undefined)) return undefined;
    const entities = [...new Set(deps.map((d) => d!.entity.name))];
    if (entities.length !== 1) {
      issues.push({ path: ['feature', f.name, 'expr'], message: entities.length === 0
        ? `feature '${f.name}': an expression must read at least one feature`
        : `feature '${f.name}': reads features of different entities (${entities.join(', ')}); a derived feature describes one entity` });
      return undefined;
    }
    for (const n of inputs) use(n, f.name);
    const versions = Object.fromEntries(deps.map((d) => [d!.name, d!.version]));
    return {
      spec: f, name: f.name, version: derivedVersion(f, versions), entity: deps[0]!.entity, source: null,
      outputs: [{ column: f.name, bucket: null }], outputKind: 'number', valueType: null, inputs, usedBy: [],
    };
  };

  for (const name of sorted.features.keys()) resolve(name, []);

  const columns = new Map<string, string>();
  for (const f of features.values()) {
    for (const o of f.outputs) {
      const other = columns.get(o.column);
      if (other !== undefined && other !== f.name) issues.push({ path: ['feature', f.name], message: `features '${other}' and '${f.name}' both write column '${o.column}'; rename one` });
      columns.set(o.column, f.name);
    }
  }

  const sets = new Map<string, ResolvedSet>();
  for (const s of sorted.sets.values()) {
    const members = (Array.isArray(s.features) ? s.features : []).map((n) => features.get(n)).filter((f): f is ResolvedFeature => f !== undefined);
    for (const m of members) use(m.name, s.name);
    const entities = [...new Set(members.map((m) => m.entity.name))];
    if (entities.length > 1) issues.push({ path: ['featureSet', s.name], message: `feature set '${s.name}': mixes entities (${entities.join(', ')}); a training set reads one entity per row` });
    sets.set(s.name, { spec: s, name: s.name, version: setVersion(s, members.map((m) => m.version)), entity: members[0]?.entity ?? null });
  }
  for (const [name, f] of features) features.set(name, { ...f, usedBy: usedBy.get(name) ?? [] });
  return { entities: sorted.entities, sources: sorted.sources, features, sets };
}

/**
 * The features a selection names, with derived features' inputs added first (marked `hidden` unless also
 * selected). A selection is a feature set's name or a list of feature (or set) names.
 */
export function resolveSelection(registry: FeatureRegistry, selection: string | readonly string[]): { features: ResolvedFeature[]; selected: Set<string> } {
  const names = typeof selection === 'string' ? [selection] : [...selection];
  if (names.length === 0) throw new KilnError('USAGE', 'no features selected; name a feature set or list feature names');
  const selected = new Set<string>();
  const unknown: string[] = [];
  for (const n of names) {
    const set = registry.sets.get(n);
    if (set) for (const m of set.spec.features) selected.add(m);
    else if (registry.features.has(n)) selected.add(n);
    else unknown.push(n);
  }
  if (unknown.length) {
    const all = [...registry.sets.keys(), ...registry.features.keys()];
    const msgs = unknown.map((u) => { const h = didYouMean(u, all); return `'${u}'${h ? ` (did you mean '${h}'?)` : ''}`; });
    throw new KilnError('FEATURE_NOT_FOUND', `unknown feature or feature set ${msgs.join(', ')}; defined sets: ${[...registry.sets.keys()].join(', ') || 'none'}; run 'kiln features list' to see all`, { details: { unknown } });
  }
  const needed = new Set<string>();
  const add = (n: string): void => {
    if (needed.has(n)) return;
    for (const i of registry.features.get(n)!.inputs) add(i);
    needed.add(n);
  };
  for (const n of selected) add(n);
  // Registry order is dependency order, so inputs come before the derived features that read them.
  return { features: [...registry.features.values()].filter((f) => needed.has(f.name)), selected };
}
