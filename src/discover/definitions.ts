/**
 * Candidate plans as kiln definitions (built with the DSL's own builders, so they validate and version
 * like hand-written ones), and the meaning keys of existing features, to skip candidates already there.
 */
import {
  attribute, count, countDistinct, derived, div, max, mean, min, stddev, sum, timeSinceLast,
  type AnyFeatureDef, type EventSourceDef, type Expr, type FeatureRegistry, type SnapshotSourceDef, type SourceSpec,
} from '../features/index.js';
import { planInputs, planKey, type AggregatePlan, type Plan } from './candidates.js';

type AnySource = EventSourceDef<string, Record<string, never>>;

function aggregateDefinition(p: AggregatePlan, source: SourceSpec): AnyFeatureDef {
  const src = source as unknown as AnySource;
  const where = p.where ? { [p.where.column]: p.where.value } : undefined;
  const opts = { name: p.name, window: p.window, ...(where ? { where } : {}) } as never;
  switch (p.op) {
    case 'count': return count(src, opts);
    case 'sum': return sum(src, p.column as never, opts);
    case 'mean': return mean(src, p.column as never, opts);
    case 'min': return min(src, p.column as never, opts);
    case 'max': return max(src, p.column as never, opts);
    case 'stddev': return stddev(src, p.column as never, opts);
    case 'countDistinct': return countDistinct(src, p.column as never, opts);
    case 'timeSinceLast': return timeSinceLast(src, { name: p.name, unit: 'd', ...(where ? { where } : {}) } as never);
    case 'attribute': return attribute(source as unknown as SnapshotSourceDef<string, Record<string, never>>, p.column as never, { name: p.name } as never);
  }
}

/**
 * The definitions a set of plans needs, each once, inputs before the ratios that read them, less those
 * in `defined` (already in the config with the same meaning).
 * @example planDefinitions([share], txns) // [count_90d_category_gambling, count_90d, share_90d_category_gambling]
 */
export function planDefinitions(plans: readonly Plan[], source: SourceSpec, defined: ReadonlySet<string> = new Set()): AnyFeatureDef[] {
  const out = new Map<string, AnyFeatureDef>();
  const refs = new Map<string, AnyFeatureDef>();
  for (const plan of plans) {
    for (const p of planInputs(plan)) if (!refs.has(p.name)) refs.set(p.name, aggregateDefinition(p, source));
    if (plan.type === 'ratio' && !refs.has(plan.name)) {
      const num = refs.get(plan.num.name) as never, den = refs.get(plan.den.name) as never;
      refs.set(plan.name, derived(plan.name, plan.scale === 1 ? div(num, den) : div(num, div(den, plan.scale))));
    }
  }
  // Names the config already defines with the same meaning are read from the config, not defined twice.
  for (const [name, def] of refs) if (!defined.has(name)) out.set(name, def);
  return [...out.values()];
}

/**
 * The meaning key (as `planKey` writes it) of each feature over `source` that a candidate could equal:
 * one-condition aggregates and `a / b` or `a / (b / k)` ratios of them. Other features get no key.
 */
export function registryKeys(registry: FeatureRegistry, source: string): Map<string, string> {
  const keys = new Map<string, string>();
  const aggKey = (name: string): string | null => {
    const f = registry.features.get(name);
    if (!f || f.spec.type !== 'aggregate' || f.spec.source !== source || f.spec.by || f.spec.where.length > 1) return null;
    const s = f.spec;
    const w = s.where[0];
    if (w && w.op !== 'eq') return null;
    if (s.op === 'timeSinceLast' && s.params.unit !== 'd') return null;
    const op = s.op === 'latest' ? 'attribute' : s.op;
    return planKey({ type: 'aggregate', name, op: op as AggregatePlan['op'], column: s.column, window: s.window, where: w ? { column: w.column, value: w.value as string } : null });
  };
  const refOf = (e: Expr): string | null => ('ref' in e && e.bucket === undefined ? aggKey(e.ref) : null);
  for (const f of registry.features.values()) {
    let key: string | null = null;
    if (f.spec.type === 'aggregate') key = aggKey(f.name);
    else if ('fn' in f.spec.expr && f.spec.expr.fn === 'div') {
      const [a, b] = f.spec.expr.args;
      const num = a ? refOf(a) : null;
      let den: string | null = null, scale = 1;
      if (b && 'ref' in b) den = refOf(b);
      else if (b && 'fn' in b && b.fn === 'div' && b.args[0] && b.args[1] && 'lit' in b.args[1]) { den = refOf(b.args[0]); scale = b.args[1].lit; }
      if (num && den) key = `ratio(${num},${den},${scale})`;
    }
    if (key) keys.set(f.name, key);
  }
  return keys;
}
