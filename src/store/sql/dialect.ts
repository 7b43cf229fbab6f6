import { KilnError } from '../../core/errors.js';

/**
 * Rewrites kiln's portable SQL (written for SQLite, in the subset PostgreSQL shares) into PostgreSQL:
 * - placeholders: `?` (positional) and `@name` / `:name` / `$name` (named, bound from one object) become
 *   `$1..$n`; a name used twice binds the same value;
 * - `LIKE` becomes `ILIKE` (SQLite's LIKE ignores ASCII case; kiln's searches rely on it);
 * - camelCase column aliases (`AS firstSeen`) are quoted, so PostgreSQL keeps their case;
 * - the column `window` (a reserved word in PostgreSQL) is quoted.
 * String literals, quoted identifiers and comments are left as they are.
 */
export interface PgStatementText {
  text: string;
  /** For positional SQL, null; for named, the name bound to each $i. */
  names: string[] | null;
  positional: number;
}

export function toPostgres(sql: string): PgStatementText {
  let out = '';
  let positional = 0;
  const names: string[] = [];
  let sawNamed = false;
  const n = sql.length;
  let i = 0;
  while (i < n) {
    const c = sql[i]!;
    if (c === "'" || c === '"') {
      const end = closing(sql, i, c);
      out += sql.slice(i, end);
      i = end;
      continue;
    }
    if (c === '-' && sql[i + 1] === '-') {
      const end = sql.indexOf('\n', i);
      const stop = end < 0 ? n : end;
      out += sql.slice(i, stop);
      i = stop;
      continue;
    }
    if (c === '?') {
      positional++;
      out += `$${positional}`;
      i++;
      continue;
    }
    if ((c === '@' || c === ':' || c === '$') && /[A-Za-z_]/.test(sql[i + 1] ?? '') && !(c === ':' && sql[i - 1] === ':')) {
      let j = i + 1;
      while (j < n && /[A-Za-z0-9_]/.test(sql[j]!)) j++;
      const name = sql.slice(i + 1, j);
      let k = names.indexOf(name);
      if (k < 0) { names.push(name); k = names.length - 1; }
      sawNamed = true;
      out += `$${k + 1}`;
      i = j;
      continue;
    }
    if (/[A-Za-z_]/.test(c) && !/[A-Za-z0-9_$]/.test(sql[i - 1] ?? ' ')) {
      let j = i + 1;
      while (j < n && /[A-Za-z0-9_]/.test(sql[j]!)) j++;
      const word = sql.slice(i, j);
      const lower = word.toLowerCase();
      if (lower === 'like') out += 'ILIKE';
      else if (lower === 'window') out += '"window"';
      else if (lower === 'as' && /^\s+[a-z_][A-Za-z0-9_]*[A-Z]/.test(sql.slice(j))) {
        const m = /^(\s+)([A-Za-z_][A-Za-z0-9_]*)/.exec(sql.slice(j))!;
        out += `${word}${m[1]}"${m[2]}"`;
        j += m[0].length;
      } else out += word;
      i = j;
      continue;
    }
    out += c;
    i++;
  }
  if (sawNamed && positional > 0) throw new KilnError('INTERNAL', `SQL mixes positional and named parameters: ${sql}`);
  return { text: out, names: sawNamed ? names : null, positional };
}

function closing(sql: string, start: number, quote: string): number {
  let i = start + 1;
  while (i < sql.length) {
    if (sql[i] === quote) {
      if (sql[i + 1] === quote) { i += 2; continue; }
      return i + 1;
    }
    i++;
  }
  return sql.length;
}

/** The values for $1..$n from better-sqlite3-style arguments: positional values, or one object of named ones. */
export function bindValues(stmt: PgStatementText, params: unknown[], sql: string): unknown[] {
  if (stmt.names) {
    const obj = params[0];
    if (params.length !== 1 || obj === null || typeof obj !== 'object') throw new KilnError('INTERNAL', `SQL with named parameters needs one object of values: ${sql}`);
    return stmt.names.map((name) => {
      if (!(name in (obj as Record<string, unknown>))) throw new KilnError('INTERNAL', `SQL parameter @${name} has no value: ${sql}`);
      return pgValue((obj as Record<string, unknown>)[name]);
    });
  }
  const flat = params.length === 1 && Array.isArray(params[0]) ? (params[0] as unknown[]) : params;
  if (flat.length !== stmt.positional) throw new KilnError('INTERNAL', `SQL expects ${stmt.positional} values, got ${flat.length}: ${sql}`);
  return flat.map(pgValue);
}

function pgValue(v: unknown): unknown {
  if (v === undefined) return null;
  if (typeof v === 'bigint') return v.toString();
  if (typeof v === 'number' && !Number.isFinite(v)) return Number.isNaN(v) ? 'NaN' : v > 0 ? 'Infinity' : '-Infinity';
  return v;
}
