/**
 * Derived features: expressions over other features, as plain data. `evaluateExpr` (JavaScript) and the
 * DuckDB compiler implement the same semantics: NULL propagates through arithmetic, division by zero and
 * roots or logs outside their domain give NULL, least/greatest skip NULLs, coalesce takes the first value.
 */
import { freezeSpec, metaOf } from './define.js';
import type { DefinitionMeta, DerivedFeatureSpec, Expr, ExprFn } from './spec.js';
import type { AggregateFeatureDef, DerivedFeatureDef, NumericFeatureDef } from './types.js';

/** What an expression argument may be: a numeric feature, a bucket of one, another expression, a number. */
export type Operand = NumericFeatureDef | Expr | number;

function toExpr(x: Operand): Expr {
  if (typeof x === 'number') return { lit: x };
  if ('kind' in x && x.kind === 'feature') return { ref: x.name };
  return x as Expr;
}
const call = (fn: ExprFn, args: readonly Operand[]): Expr => ({ fn, args: args.map(toExpr) });

export const add = (...args: [Operand, Operand, ...Operand[]]): Expr => call('add', args);
export const sub = (a: Operand, b: Operand): Expr => call('sub', [a, b]);
export const mul = (...args: [Operand, Operand, ...Operand[]]): Expr => call('mul', args);
/** a / b; NULL when b is 0. @example div(spend30d, income) */
export const div = (a: Operand, b: Operand): Expr => call('div', [a, b]);
export const neg = (a: Operand): Expr => call('neg', [a]);
export const abs = (a: Operand): Expr => call('abs', [a]);
/** ln(1 + a); NULL when a ≤ −1. */
export const ln1p = (a: Operand): Expr => call('ln1p', [a]);
/** √a; NULL when a < 0. */
export const sqrt = (a: Operand): Expr => call('sqrt', [a]);
export const least = (...args: [Operand, Operand, ...Operand[]]): Expr => call('least', args);
export const greatest = (...args: [Operand, Operand, ...Operand[]]): Expr => call('greatest', args);
/** The first non-NULL argument. @example coalesce(avgTicket, 0) */
export const coalesce = (...args: [Operand, Operand, ...Operand[]]): Expr => call('coalesce', args);

/** One bucket of a bucketed numeric feature as an operand. @example div(bucket(spendByCat, 'gambling'), spend30d) */
export function bucket<const B extends string | number>(feature: AggregateFeatureDef<string, number | null, B>, value: NoInfer<B>): Expr {
  return { ref: feature.name, bucket: value };
}

/**
 * A feature computed from other features by an expression, identically offline and online.
 * @example derived('spend_to_income', div(spend30d, income), { description: '30-day spend over stated income' })
 */
export function derived<const N extends string>(name: N, expr: Operand, opts: DefinitionMeta = {}): DerivedFeatureDef<N> {
  const spec: DerivedFeatureSpec = { kind: 'feature', type: 'derived', name, expr: toExpr(expr), meta: metaOf(opts) };
  return freezeSpec(spec) as DerivedFeatureDef<N>;
}

/** The features (and buckets) an expression reads. */
export function exprRefs(e: Expr, out: { ref: string; bucket?: string | number }[] = []): { ref: string; bucket?: string | number }[] {
  if ('ref' in e) out.push(e.bucket === undefined ? { ref: e.ref } : { ref: e.ref, bucket: e.bucket });
  else if ('fn' in e) for (const a of e.args) exprRefs(a, out);
  return out;
}

/** Minimum and maximum argument counts of each function, checked by the validator. */
export const EXPR_ARITY: Readonly<Record<ExprFn, readonly [number, number]>> = {
  add: [2, Infinity], sub: [2, 2], mul: [2, Infinity], div: [2, 2], neg: [1, 1], abs: [1, 1], ln1p: [1, 1], sqrt: [1, 1],
  least: [2, Infinity], greatest: [2, Infinity], coalesce: [2, Infinity],
};

const finite = (x: number): number | null => (Number.isFinite(x) ? x : null);

/** Evaluates an expression over resolved operand values (`lookup` returns a feature's, or a bucket's, value). */
export function evaluateExpr(e: Expr, lookup: (ref: string, bucket?: string | number) => number | null): number | null {
  if ('lit' in e) return e.lit;
  if ('ref' in e) return lookup(e.ref, e.bucket);
  // Loops rather than map/filter: this runs for every derived feature of every online read.
  const args = e.args;
  if (e.fn === 'coalesce') {
    for (let i = 0; i < args.length; i++) { const x = evaluateExpr(args[i]!, lookup); if (x !== null) return x; }
    return null;
  }
  if (e.fn === 'least' || e.fn === 'greatest') {
    let best: number | null = null;
    for (let i = 0; i < args.length; i++) {
      const x = evaluateExpr(args[i]!, lookup);
      if (x !== null && (best === null || (e.fn === 'least' ? x < best : x > best))) best = x;
    }
    return best;
  }
  const a = evaluateExpr(args[0]!, lookup);
  if (a === null) return null;
  const b = args.length > 1 ? evaluateExpr(args[1]!, lookup) : 0;
  if (b === null) return null;
  switch (e.fn) {
    case 'add':
    case 'mul': {
      let acc = e.fn === 'add' ? a + b : a * b;
      for (let i = 2; i < args.length; i++) {
        const x = evaluateExpr(args[i]!, lookup);
        if (x === null) return null;
        acc = e.fn === 'add' ? acc + x : acc * x;
      }
      return finite(args.length === 1 ? a : acc);
    }
    case 'sub': return finite(a - b);
    case 'div': return b === 0 ? null : finite(a / b);
    case 'neg': return -a;
    case 'abs': return Math.abs(a);
    case 'ln1p': return a > -1 ? Math.log(1 + a) : null;
    case 'sqrt': return a >= 0 ? Math.sqrt(a) : null;
    default: return null;
  }
}
