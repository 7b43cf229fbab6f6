import type { Condition, ConditionOp, Scalar, SourceColumns, SourceColumnType } from './spec.js';

/** The TypeScript value type of a declared column type. */
export type ValueOf<T extends SourceColumnType> = T extends 'double' | 'integer' | 'bigint' ? number : T extends 'boolean' ? boolean : string;

/** A filter on one column: a value (equals), a list (one of), null (is null), or an object of comparisons. */
export type ConditionInput<V> =
  | V
  | null
  | readonly V[]
  | { readonly eq?: V; readonly ne?: V; readonly gt?: V; readonly gte?: V; readonly lt?: V; readonly lte?: V;
      readonly in?: readonly V[]; readonly notIn?: readonly V[]; readonly isNull?: boolean };

/** Columns a filter may use: any declared column except timestamps and dates (windows filter on time). */
export type FilterableColumnOf<C extends SourceColumns> = { [K in keyof C & string]: C[K] extends 'timestamp' | 'date' ? never : K }[keyof C & string];

/** A feature's `where`: the AND of one condition per named column. */
export type Where<C extends SourceColumns> = { readonly [K in FilterableColumnOf<C>]?: ConditionInput<ValueOf<C[K]>> };

function compareKey(v: Scalar): string {
  return `${typeof v}:${String(v)}`;
}

/**
 * The canonical condition list of a `where` object: sorted by column and operator, `in` lists sorted and
 * de-duplicated, so that equivalent filters hash to the same version. Unknown operators pass through for
 * the validator to report.
 */
export function normaliseWhere(where: Readonly<Record<string, unknown>> | undefined): Condition[] {
  if (where === undefined || where === null) return [];
  const out: Condition[] = [];
  for (const column of Object.keys(where).sort()) {
    const c = where[column];
    if (c === undefined) continue;
    if (c === null) out.push({ column, op: 'isNull', value: null });
    else if (Array.isArray(c)) out.push({ column, op: 'in', value: canonicalList(c as Scalar[]) });
    else if (typeof c === 'object') {
      for (const op of Object.keys(c).sort()) {
        const v = (c as Record<string, unknown>)[op];
        if (v === undefined) continue;
        if (op === 'isNull') out.push({ column, op: v === false ? 'notNull' : 'isNull', value: null });
        else if (op === 'in' || op === 'notIn') out.push({ column, op, value: Array.isArray(v) ? canonicalList(v as Scalar[]) : (v as Scalar) });
        else out.push({ column, op: op as ConditionOp, value: v as Scalar });
      }
    } else out.push({ column, op: 'eq', value: c as Scalar });
  }
  return out;
}

function canonicalList(values: readonly Scalar[]): Scalar[] {
  const seen = new Map<string, Scalar>();
  for (const v of values) seen.set(compareKey(v), v);
  return [...seen.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, v]) => v);
}

/**
 * SQL semantics in JavaScript: a comparison with NULL is false (so `ne` and `notIn` drop NULLs too).
 * The DuckDB compiler emits the matching SQL; the parity tests hold the two together.
 */
export function conditionHolds(c: Condition, v: Scalar | undefined): boolean {
  const x = v === undefined ? null : v;
  if (c.op === 'isNull') return x === null;
  if (c.op === 'notNull') return x !== null;
  if (x === null) return false;
  const t = c.value;
  switch (c.op) {
    case 'eq': return x === t;
    case 'ne': return t !== null && x !== t;
    case 'gt': return t !== null && (x as number) > (t as number);
    case 'gte': return t !== null && (x as number) >= (t as number);
    case 'lt': return t !== null && (x as number) < (t as number);
    case 'lte': return t !== null && (x as number) <= (t as number);
    case 'in': return (t as readonly Scalar[]).includes(x);
    case 'notIn': return !(t as readonly Scalar[]).includes(x) && !(t as readonly Scalar[]).includes(null);
    default: return false;
  }
}
