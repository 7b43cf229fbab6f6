/** SQL text for filters and derived expressions: the same semantics as where.ts and derived.ts in JS. */
import { COLUMN_TYPES } from '../../config/index.js';
import { quoteIdent, quoteLiteral } from '../../store/index.js';
import type { Condition, Expr, Scalar, SourceColumnType } from '../spec.js';

export { quoteIdent, quoteLiteral };

/** The DuckDB type a declared column type is read as (ENUMs become VARCHAR). */
export function duckType(t: SourceColumnType): string {
  return COLUMN_TYPES[t];
}

export function sqlLiteral(v: Scalar): string {
  if (v === null) return 'NULL';
  if (typeof v === 'boolean') return v ? 'TRUE' : 'FALSE';
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : `${v}::DOUBLE`;
  return quoteLiteral(v);
}

const CMP: Readonly<Record<string, string>> = { eq: '=', ne: '<>', gt: '>', gte: '>=', lt: '<', lte: '<=' };

/** One condition over a column expression; NULL never satisfies a comparison (as in conditionHolds). */
export function conditionSql(c: Condition, col: string): string {
  switch (c.op) {
    case 'isNull': return `(${col} IS NULL)`;
    case 'notNull': return `(${col} IS NOT NULL)`;
    case 'in': return `(${col} IN (${(c.value as Scalar[]).map(sqlLiteral).join(', ')}))`;
    case 'notIn': return `(${col} NOT IN (${(c.value as Scalar[]).map(sqlLiteral).join(', ')}))`;
    default: return `(${col} ${CMP[c.op]} ${sqlLiteral(c.value as Scalar)})`;
  }
}

/** A derived expression over finished feature columns (`column(ref, bucket)` names the column). */
export function exprSql(e: Expr, column: (ref: string, bucket?: string | number) => string): string {
  if ('lit' in e) return `CAST(${e.lit} AS DOUBLE)`;
  if ('ref' in e) return `CAST(${column(e.ref, e.bucket)} AS DOUBLE)`;
  const a = e.args.map((x) => exprSql(x, column));
  switch (e.fn) {
    case 'add': return `(${a.join(' + ')})`;
    case 'mul': return `(${a.join(' * ')})`;
    case 'sub': return `(${a[0]} - ${a[1]})`;
    case 'div': return `(CASE WHEN ${a[1]} = 0 THEN NULL ELSE ${a[0]} / ${a[1]} END)`;
    case 'neg': return `(-${a[0]})`;
    case 'abs': return `abs(${a[0]})`;
    case 'ln1p': return `(CASE WHEN ${a[0]} > -1 THEN ln(1 + ${a[0]}) END)`;
    case 'sqrt': return `(CASE WHEN ${a[0]} >= 0 THEN sqrt(${a[0]}) END)`;
    case 'least': return `least(${a.join(', ')})`;
    case 'greatest': return `greatest(${a.join(', ')})`;
    case 'coalesce': return `coalesce(${a.join(', ')})`;
    default: throw new Error(`internal: unknown expression function ${String((e as { fn: unknown }).fn)}`);
  }
}
