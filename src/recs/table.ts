/**
 * The data a recommender reads, whatever table it came from: interactions as typed arrays over dense
 * ids (user 0..nUsers-1, item 0..nItems-1), with an optional event time and weight per row, and
 * optional user and item attributes as named columns (numeric: one float per entity, NaN = missing;
 * categorical: one integer code per entity, -1 = missing). `indexInteractions` turns raw keys (strings
 * or numbers from any table) into dense ids, so nothing here knows MovieLens's columns.
 * Checks collect every problem and throw one RECS_DATA_INVALID naming the fields.
 */
import { KilnError } from '../core/errors.js';

export interface InteractionTable {
  nUsers: number;
  nItems: number;
  /** Row k is (users[k], items[k]). */
  users: Int32Array;
  items: Int32Array;
  /** Event time of each row in any increasing unit (seconds, ms); enables time features and time-ordered sequences. */
  times?: Float64Array;
  /** Interaction strength (finite, >= 0); generators that read weights take it, others treat rows as 1. */
  weights?: Float32Array;
}

/** Named attribute columns of one entity kind (users or items), one value per entity. */
export interface EntityAttributes {
  /** NaN = missing. */
  numeric?: Record<string, Float32Array>;
  /** Integer codes >= 0; -1 = missing. */
  categorical?: Record<string, Int32Array>;
}

export interface Issue {
  path: (string | number)[];
  message: string;
}

/** Throws one KilnError listing every issue, or returns. */
export function throwIssues(code: 'RECS_DATA_INVALID' | 'RECS_PARAM_INVALID', what: string, issues: Issue[]): void {
  if (issues.length === 0) return;
  const text = issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
  throw new KilnError(code, `${what}: ${text}`, { path: issues[0]!.path, details: issues });
}

export function interactionIssues(t: InteractionTable, where = 'interactions'): Issue[] {
  const issues: Issue[] = [];
  if (t === null || typeof t !== 'object') return [{ path: [where], message: 'must be an object { nUsers, nItems, users, items }' }];
  for (const f of ['nUsers', 'nItems'] as const) {
    if (!Number.isInteger(t[f]) || t[f] < 1) issues.push({ path: [where, f], message: `must be a positive integer, got ${String(t[f])}` });
  }
  if (!(t.users instanceof Int32Array)) issues.push({ path: [where, 'users'], message: 'must be an Int32Array of dense user ids' });
  if (!(t.items instanceof Int32Array)) issues.push({ path: [where, 'items'], message: 'must be an Int32Array of dense item ids' });
  if (issues.length > 0) return issues;
  const n = t.users.length;
  if (t.items.length !== n) issues.push({ path: [where, 'items'], message: `has ${t.items.length} rows; users has ${n} (one per interaction)` });
  for (const [f, ids, max] of [['users', t.users, t.nUsers], ['items', t.items, t.nItems]] as const) {
    for (let k = 0; k < ids.length; k++) {
      const v = ids[k]!;
      if (v < 0 || v >= max) { issues.push({ path: [where, f, k], message: `id ${v} is outside 0..${max - 1}; map raw keys to dense ids (indexInteractions)` }); break; }
    }
  }
  if (t.times !== undefined) {
    if (!(t.times instanceof Float64Array)) issues.push({ path: [where, 'times'], message: 'must be a Float64Array' });
    else if (t.times.length !== n) issues.push({ path: [where, 'times'], message: `has ${t.times.length} rows; users has ${n}` });
    else {
      const bad = t.times.findIndex((v) => !Number.isFinite(v));
      if (bad >= 0) issues.push({ path: [where, 'times', bad], message: `is ${t.times[bad]}; times must be finite` });
    }
  }
  if (t.weights !== undefined) {
    if (!(t.weights instanceof Float32Array)) issues.push({ path: [where, 'weights'], message: 'must be a Float32Array' });
    else if (t.weights.length !== n) issues.push({ path: [where, 'weights'], message: `has ${t.weights.length} rows; users has ${n}` });
    else {
      const bad = t.weights.findIndex((v) => !(v >= 0) || !Number.isFinite(v));
      if (bad >= 0) issues.push({ path: [where, 'weights', bad], message: `is ${t.weights[bad]}; weights must be finite and >= 0` });
    }
  }
  return issues;
}

export function attributeIssues(a: EntityAttributes | undefined, rows: number, where: string): Issue[] {
  if (a === undefined) return [];
  const issues: Issue[] = [];
  for (const [name, col] of Object.entries(a.numeric ?? {})) {
    if (!(col instanceof Float32Array)) issues.push({ path: [where, 'numeric', name], message: 'must be a Float32Array (NaN = missing)' });
    else if (col.length !== rows) issues.push({ path: [where, 'numeric', name], message: `has ${col.length} values; expected ${rows} (one per id)` });
  }
  for (const [name, col] of Object.entries(a.categorical ?? {})) {
    if (!(col instanceof Int32Array)) issues.push({ path: [where, 'categorical', name], message: 'must be an Int32Array of codes (-1 = missing)' });
    else if (col.length !== rows) issues.push({ path: [where, 'categorical', name], message: `has ${col.length} values; expected ${rows} (one per id)` });
    else {
      const bad = col.findIndex((v) => v < -1);
      if (bad >= 0) issues.push({ path: [where, 'categorical', name, bad], message: `code ${col[bad]} is below -1; codes are >= 0, -1 = missing` });
    }
  }
  const both = Object.keys(a.numeric ?? {}).filter((k) => k in (a.categorical ?? {}));
  for (const name of both) issues.push({ path: [where, name], message: 'is both numeric and categorical; give each column once' });
  return issues;
}

/** Checks interactions (and attributes, when given); throws RECS_DATA_INVALID listing every problem. */
export function checkInteractions(t: InteractionTable, attrs: { users?: EntityAttributes; items?: EntityAttributes } = {}, where = 'interactions'): void {
  const issues = interactionIssues(t, where);
  if (issues.length === 0) {
    issues.push(...attributeIssues(attrs.users, t.nUsers, 'userAttributes'), ...attributeIssues(attrs.items, t.nItems, 'itemAttributes'));
  }
  throwIssues('RECS_DATA_INVALID', 'recommender data', issues);
}

/** The rows `rows` of a table (same id spaces). */
export function subsetInteractions(t: InteractionTable, rows: Int32Array): InteractionTable {
  const pick = <A extends Int32Array | Float32Array | Float64Array>(a: A): A => {
    const out = new (a.constructor as new (n: number) => A)(rows.length);
    for (let k = 0; k < rows.length; k++) out[k] = a[rows[k]!]!;
    return out;
  };
  const out: InteractionTable = { nUsers: t.nUsers, nItems: t.nItems, users: pick(t.users), items: pick(t.items) };
  if (t.times) out.times = pick(t.times);
  if (t.weights) out.weights = pick(t.weights);
  return out;
}

/** Each user's distinct items, sorted ascending: offsets (nUsers + 1) into items. */
export interface UserItems {
  offsets: Int32Array;
  items: Int32Array;
}

export function userItems(t: InteractionTable): UserItems {
  const counts = new Int32Array(t.nUsers + 1);
  for (let k = 0; k < t.users.length; k++) counts[t.users[k]! + 1]!++;
  for (let u = 0; u < t.nUsers; u++) counts[u + 1]! += counts[u]!;
  const fill = counts.slice(0, t.nUsers);
  const raw = new Int32Array(t.users.length);
  for (let k = 0; k < t.users.length; k++) raw[fill[t.users[k]!]!++] = t.items[k]!;
  const offsets = new Int32Array(t.nUsers + 1);
  let w = 0;
  for (let u = 0; u < t.nUsers; u++) {
    const row = raw.subarray(counts[u]!, counts[u + 1]!).sort();
    for (let p = 0; p < row.length; p++) if (p === 0 || row[p] !== row[p - 1]) raw[w++] = row[p]!;
    offsets[u + 1] = w;
  }
  return { offsets, items: raw.slice(0, w) };
}

/** Dense ids for raw keys: first appearance order. */
export interface IndexedInteractions {
  table: InteractionTable;
  userKeys: (string | number)[];
  itemKeys: (string | number)[];
}

/**
 * Maps raw user and item keys (any table's columns) to dense ids in order of first appearance.
 * @example
 * const { table, itemKeys } = indexInteractions(['ann', 'bob', 'ann'], ['m1', 'm2', 'm2'], { times: [3, 1, 2] });
 */
export function indexInteractions(
  userCol: ArrayLike<string | number>, itemCol: ArrayLike<string | number>,
  opts: { times?: ArrayLike<number>; weights?: ArrayLike<number>; itemKeys?: (string | number)[] } = {},
): IndexedInteractions {
  if (userCol.length !== itemCol.length) {
    throw new KilnError('RECS_DATA_INVALID', `user column has ${userCol.length} rows but item column has ${itemCol.length}`, { path: ['items'] });
  }
  const dense = (col: ArrayLike<string | number>, keys: (string | number)[]): Int32Array => {
    const ids = new Map<string | number, number>(keys.map((k, i) => [k, i]));
    const out = new Int32Array(col.length);
    for (let k = 0; k < col.length; k++) {
      const key = col[k]!;
      let id = ids.get(key);
      if (id === undefined) { id = keys.length; ids.set(key, id); keys.push(key); }
      out[k] = id;
    }
    return out;
  };
  const userKeys: (string | number)[] = [];
  const itemKeys: (string | number)[] = [...(opts.itemKeys ?? [])];
  const users = dense(userCol, userKeys);
  const items = dense(itemCol, itemKeys);
  const table: InteractionTable = { nUsers: Math.max(1, userKeys.length), nItems: Math.max(1, itemKeys.length), users, items };
  if (opts.times) table.times = Float64Array.from(opts.times);
  if (opts.weights) table.weights = Float32Array.from(opts.weights);
  checkInteractions(table);
  return { table, userKeys, itemKeys };
}
