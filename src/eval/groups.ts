/**
 * Per-input figures at width: a model over 1,800 columns lists its inputs and per-input figures
 * (importance, mean |SHAP|, reason counts) as the top N plus one row for the rest, and grouped by the
 * declaration each column comes from: a bucketed feature's columns `<feature>__<bucket>` sum under the
 * feature's name, and a family (one source, op, column and bucketing across windows) sums its features.
 * Pure functions over names and numbers; the column -> declaration mapping comes from the feature
 * registry (`originsFromFeatures`), or from the column names alone where no registry is at hand.
 */

/** Where one model input column comes from. */
export interface InputOrigin {
  column: string;
  /** The declared feature that writes the column (a spine column is its own). */
  feature: string;
  /** The feature's family: the same aggregate over other windows (a feature outside any family is its own). */
  family: string;
  /** The feature's source; null for spine columns and derived features. */
  source: string | null;
}

/** What `originsFromFeatures` reads of a resolved feature (src/features/registry.ts `ResolvedFeature`). */
export interface DeclaredFeature {
  readonly name: string;
  readonly outputs: readonly { readonly column: string }[];
  readonly source: { readonly name: string } | null;
  readonly spec: { readonly type?: string; readonly op?: string; readonly column?: string | null; readonly window?: string; readonly by?: { readonly column: string } | null; readonly where?: readonly unknown[] };
}

/** A figure summed over the columns of one group. */
export interface GroupedFigure {
  /** The feature or family name. */
  name: string;
  value: number;
  /** How many input columns the group has. */
  columns: number;
  /** Its column with the largest figure. */
  top: string;
}

/** The top `n` rows and, when more exist, one row that sums the rest. */
export interface TopRows<T> {
  top: T[];
  rest: { count: number; value: number } | null;
}

/** Default number of rows a report lists before summarising the rest. */
export const DEFAULT_TOP = 25;

/** `spend_by_category_30d` with window `30d` -> `spend_by_category_*` (the window token of the name starred). */
export function familyName(feature: string, window: string | undefined): string {
  const tokens = feature.split('_');
  const i = window !== undefined ? tokens.lastIndexOf(window) : -1;
  const j = i >= 0 ? i : findLastIndex(tokens, (t) => /^\d+[smhdwy]$/.test(t));
  if (j < 0) return feature;
  tokens[j] = '*';
  return tokens.join('_');
}

function findLastIndex<T>(xs: readonly T[], pred: (x: T) => boolean): number {
  for (let i = xs.length - 1; i >= 0; i--) if (pred(xs[i]!)) return i;
  return -1;
}

/**
 * Origins of model input columns from the registry's resolved features: each column's owning feature,
 * its family (aggregates that differ only in window share one, named after the name with the window
 * token starred, e.g. `spend_by_category_*`) and source. Columns no feature writes are their own feature.
 */
export function originsFromFeatures(columns: readonly string[], features: Iterable<DeclaredFeature>): InputOrigin[] {
  const owner = new Map<string, DeclaredFeature>();
  for (const f of features) for (const o of f.outputs) owner.set(o.column, f);
  // Family key: what the aggregate computes apart from its window; its name comes from the first member.
  const familyOfKey = new Map<string, string>();
  const familyOf = (f: DeclaredFeature): string => {
    const s = f.spec;
    if (s.type !== 'aggregate' || s.window === undefined) return f.name;
    const key = JSON.stringify([f.source?.name ?? null, s.op ?? null, s.column ?? null, s.by?.column ?? null, s.where ?? [], familyName(f.name, s.window)]);
    let name = familyOfKey.get(key);
    if (name === undefined) { name = familyName(f.name, s.window); familyOfKey.set(key, name); }
    return name;
  };
  return columns.map((column) => {
    const f = owner.get(column);
    return f ? { column, feature: f.name, family: familyOf(f), source: f.source?.name ?? null } : { column, feature: column, family: column, source: null };
  });
}

/**
 * Origins from column names alone (a model bundle or a registry signature carries no feature
 * registry): `<feature>__<bucket>` belongs to `<feature>`, families star a `_<digits><unit>` token.
 */
export function originsFromNames(columns: readonly string[]): InputOrigin[] {
  return columns.map((column) => {
    const i = column.indexOf('__');
    const feature = i > 0 ? column.slice(0, i) : column;
    return { column, feature, family: familyName(feature, undefined), source: null };
  });
}

/**
 * Sums a per-column figure by group (`by` the owning feature or its family); groups sorted by value,
 * largest first (ties by name). Columns without a figure count as 0; the groups' values sum to the
 * columns' total.
 * @example
 * groupFigures({ spend__fuel: 2, spend__grocery: 1, age: 0.5 }, originsFromNames(['spend__fuel', 'spend__grocery', 'age']));
 * // [{ name: 'spend', value: 3, columns: 2, top: 'spend__fuel' }, { name: 'age', value: 0.5, columns: 1, top: 'age' }]
 */
export function groupFigures(values: Readonly<Record<string, number>>, origins: readonly InputOrigin[], by: 'feature' | 'family' = 'feature'): GroupedFigure[] {
  const groups = new Map<string, GroupedFigure & { topValue: number }>();
  for (const o of origins) {
    const v = values[o.column] ?? 0;
    const key = by === 'feature' ? o.feature : o.family;
    const g = groups.get(key);
    if (!g) groups.set(key, { name: key, value: v, columns: 1, top: o.column, topValue: v });
    else {
      g.value += v;
      g.columns++;
      if (v > g.topValue) { g.top = o.column; g.topValue = v; }
    }
  }
  return [...groups.values()].map(({ name, value, columns, top }) => ({ name, value, columns, top }))
    .sort((a, b) => b.value - a.value || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** The first `n` rows (already sorted), and the count and summed value of the rest (null when none). */
export function topWithRest<T extends { value: number }>(rows: readonly T[], n: number = DEFAULT_TOP): TopRows<T> {
  const k = Math.max(0, Math.floor(n));
  if (rows.length <= k) return { top: [...rows], rest: null };
  let value = 0;
  for (let i = k; i < rows.length; i++) value += rows[i]!.value;
  return { top: rows.slice(0, k), rest: { count: rows.length - k, value } };
}

const count = (n: number, one: string, many = `${one}s`): string => `${n.toLocaleString('en-US')} ${n === 1 ? one : many}`;

/**
 * One line that says what a model takes, for a human: "1,818 inputs from 360 features (42 families) of
 * 1 source (transactions)"; the signature itself still lists every input.
 */
export function describeInputs(origins: readonly InputOrigin[]): string {
  const features = new Set(origins.map((o) => o.feature));
  const families = new Set(origins.map((o) => o.family));
  const sources = [...new Set(origins.map((o) => o.source).filter((s): s is string => s !== null))].sort();
  const own = origins.filter((o) => o.source === null && o.feature === o.column).length;
  let s = count(origins.length, 'input');
  if (features.size !== origins.length) s += ` from ${count(features.size, 'feature')}`;
  if (families.size !== features.size) s += ` (${count(families.size, 'family', 'families')})`;
  if (sources.length) s += ` of ${count(sources.length, 'source')} (${sources.slice(0, 5).join(', ')}${sources.length > 5 ? ', ...' : ''})`;
  if (sources.length && own) s += ` and ${count(own, 'other column')}`;
  return s;
}
