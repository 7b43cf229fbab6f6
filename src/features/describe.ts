/** Human-readable text of definitions, for `kiln features list|describe`. */
import type { FeatureRegistry, ResolvedFeature } from './registry.js';
import type { Condition, Expr, Scalar } from './spec.js';
import { shortVersion } from './version.js';

const lit = (v: Scalar | readonly Scalar[]): string =>
  Array.isArray(v) ? `(${v.map((x) => lit(x as Scalar)).join(', ')})` : typeof v === 'string' ? `'${v}'` : String(v);

const OPS: Readonly<Record<string, string>> = { eq: '=', ne: '!=', gt: '>', gte: '>=', lt: '<', lte: '<=', in: 'in', notIn: 'not in' };

export function formatCondition(c: Condition): string {
  if (c.op === 'isNull') return `${c.column} is null`;
  if (c.op === 'notNull') return `${c.column} is not null`;
  return `${c.column} ${OPS[c.op] ?? c.op} ${lit(c.value)}`;
}

const INFIX: Readonly<Record<string, string>> = { add: ' + ', sub: ' - ', mul: ' * ', div: ' / ' };

export function formatExpr(e: Expr): string {
  if ('lit' in e) return String(e.lit);
  if ('ref' in e) return e.bucket === undefined ? e.ref : `${e.ref}[${lit(e.bucket)}]`;
  const args = e.args.map(formatExpr);
  const infix = INFIX[e.fn];
  if (infix) return `(${args.join(infix)})`;
  return e.fn === 'neg' ? `-${args[0]}` : `${e.fn}(${args.join(', ')})`;
}

/** One line saying what a feature computes: `sum(amount) over 30d where category = 'gambling'`. */
export function formatFeature(f: ResolvedFeature): string {
  const s = f.spec;
  if (s.type === 'derived') return formatExpr(s.expr);
  const p = s.params;
  const args = [s.column, p.k !== undefined ? `k=${p.k}` : null, p.fields ? `fields=${p.fields.join('|')}` : null, p.p !== undefined ? `p=${p.p}` : null, p.unit ? `unit=${p.unit}` : null]
    .filter((x) => x !== null).join(', ');
  const parts = [`${s.op}(${args})`];
  if (s.window !== 'lifetime' || f.source?.type === 'event') parts.push(`over ${s.window}`);
  else parts.push('as of');
  if (s.where.length) parts.push(`where ${s.where.map(formatCondition).join(' and ')}`);
  if (s.by) parts.push(`by ${s.by.column} [${s.by.values.length}]`);
  return parts.join(' ');
}

/** Rows for `kiln features list`. */
export function listRows(registry: FeatureRegistry): string[][] {
  return [...registry.features.values()].map((f) => [
    f.name, formatFeature(f), f.source?.name ?? '(derived)', shortVersion(f.version), f.usedBy.join(', ') || '-',
    f.spec.meta.owner ?? '-', f.spec.meta.description ?? '',
  ]);
}

/** The full description of one feature or feature set as plain data (also the `--json` output). */
export function describeDefinition(registry: FeatureRegistry, name: string): Record<string, unknown> | undefined {
  const f = registry.features.get(name);
  if (f) {
    const src = f.source;
    return {
      kind: 'feature', name, version: f.version, entity: f.entity.name, computes: formatFeature(f),
      source: src ? { name: src.name, type: src.type, table: src.table, key: src.key, timestamp: src.timestamp, availableAt: src.availableAt } : null,
      columns: f.outputs.map((o) => o.column), inputs: f.inputs, usedBy: f.usedBy,
      owner: f.spec.meta.owner ?? null, description: f.spec.meta.description ?? null, spec: f.spec,
    };
  }
  const s = registry.sets.get(name);
  if (s) {
    return {
      kind: 'featureSet', name, version: s.version, entity: s.entity?.name ?? null,
      features: s.spec.features.map((n) => ({ name: n, version: registry.features.get(n)?.version ?? null })),
      owner: s.spec.meta.owner ?? null, description: s.spec.meta.description ?? null,
    };
  }
  return undefined;
}
