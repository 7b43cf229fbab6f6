import { KilnError, didYouMean } from '../core/errors.js';
import { PROHIBITED_BASIS_TAG, type ModelSpec } from '../config/index.js';
import type { FeatureRegistry } from '../features/index.js';
import { resolveSelection } from '../features/index.js';
import { quoteIdent, quoteLiteral, type Project } from '../store/index.js';

export interface CheckedSpec {
  /** Feature names selected by `features` (empty for a model over the spine's own columns only). */
  features: string[];
  /** Features computed for slicing or fairness testing, never inputs. */
  extra: string[];
  /** Spine columns selected by `columns` as inputs. */
  columns: string[];
  /** The feature sources the features read (for the coverage check). */
  sources: { name: string; table: string; timestamp: string; type: 'event' | 'snapshot' }[];
}

/** Spine columns that are never inputs: the label, its availability time, the key, the time, the split column. */
export function reservedColumns(spec: ModelSpec): Set<string> {
  const out = new Set([spec.label.column]);
  for (const c of [spec.label.availableAt, spec.spine.key, spec.spine.timestamp, 'column' in spec.split ? spec.split.column : undefined]) if (c) out.add(c);
  return out;
}

/** The spine columns `columns` selects, out of the spine's columns in table order. */
export function selectColumns(spec: ModelSpec, spineCols: readonly string[]): string[] {
  const sel = spec.columns;
  if (sel === undefined) return [];
  const reserved = reservedColumns(spec);
  if (sel === 'all') return spineCols.filter((c) => !reserved.has(c));
  if (Array.isArray(sel)) return spineCols.filter((c) => sel.includes(c));
  const ex = new Set(sel.exclude);
  return spineCols.filter((c) => !reserved.has(c) && !ex.has(c));
}

/**
 * Everything that can be known wrong before any training starts, collected and reported at once:
 * prohibited-basis inputs, leakage from the label table, unknown names in constraints and reasons,
 * a spine without its label or time columns, unknown input columns. A label that is not 0/1 is
 * refused on its own (LABEL_NOT_BINARY), with the values found.
 */
export async function checkModelSpec(project: Project, name: string, spec: ModelSpec, registry: FeatureRegistry): Promise<CheckedSpec> {
  const problems: string[] = [];
  const features = spec.features === undefined ? [] : resolveSelection(registry, spec.features).features;
  const names = features.map((f) => f.name);
  for (const f of features) {
    if (f.spec.meta.tags?.includes(PROHIBITED_BASIS_TAG)) {
      problems.push(`feature '${f.name}' is tagged '${PROHIBITED_BASIS_TAG}': it may be used for fairness testing (fairness.feature) but never as a model input; remove it from the model's features`);
    }
    if (f.source && (f.source.table ?? f.source.name) === spec.spine.table) {
      problems.push(`feature '${f.name}' reads '${spec.spine.table}', the table the label comes from: its rows at or after the spine time carry the outcome (label leakage); take the feature from another source`);
    }
  }
  const sources = new Map<string, CheckedSpec['sources'][number]>();
  for (const f of features) if (f.source) sources.set(f.source.name, { name: f.source.name, table: f.source.table ?? f.source.name, timestamp: f.source.timestamp, type: f.source.type });

  const spineCols = await project.offline
    .all<{ column_name: string }>(`SELECT column_name FROM duckdb_columns() WHERE schema_name = 'main' AND table_name = ${quoteLiteral(spec.spine.table)} ORDER BY column_index`)
    .then((r) => r.map((c) => c.column_name));
  const columns = selectColumns(spec, spineCols);
  const known = new Set([...names, ...columns]);
  const check = (what: string, keys: string[], allowed: Set<string>): void => {
    for (const k of keys) if (!allowed.has(k)) {
      const hint = didYouMean(k, allowed);
      problems.push(`${what} '${k}' is not one of the model's ${spec.columns ? 'inputs' : 'features'}${hint ? `; did you mean '${hint}'?` : ''}`);
    }
  };
  check('monotone constraint on', Object.keys(spec.monotone), known);
  check('reasonGroups member', Object.values(spec.reasonGroups).flat(), known);
  check('reason text for', Object.keys(spec.reasons), new Set([...known, ...Object.keys(spec.reasonGroups)]));
  const extra: string[] = [];
  if (spec.fairness) {
    const f = registry.features.get(spec.fairness.feature);
    if (known.has(spec.fairness.feature)) {
      problems.push(`fairness.feature '${spec.fairness.feature}' is also a model input; a protected attribute is for testing, never for scoring${spec.columns ? ' (exclude it from columns)' : ''}`);
    } else if (f && spec.features !== undefined) extra.push(f.name);
    else if (!spineCols.includes(spec.fairness.feature)) {
      const hint = didYouMean(spec.fairness.feature, [...registry.features.keys(), ...spineCols]);
      problems.push(`fairness.feature '${spec.fairness.feature}' is neither a defined feature nor a column of '${spec.spine.table}'${hint ? `; did you mean '${hint}'?` : ''}`);
    }
  }
  if (spineCols.length === 0) problems.push(`spine table '${spec.spine.table}' does not exist in the offline store ('kiln tables' lists them)`);
  else {
    const split = 'column' in spec.split ? spec.split.column : undefined;
    for (const [what, col] of [['spine.timestamp', spec.spine.timestamp], ['label.column', spec.label.column], ['label.availableAt', spec.label.availableAt], ['spine.key', spec.spine.key], ['split.column', split]] as const) {
      if (col !== undefined && !spineCols.includes(col)) {
        const hint = didYouMean(col, spineCols);
        problems.push(`${what} '${col}' is not a column of '${spec.spine.table}'${hint ? `; did you mean '${hint}'?` : ''}`);
      }
    }
    const listed = Array.isArray(spec.columns) ? spec.columns : spec.columns && spec.columns !== 'all' ? spec.columns.exclude : [];
    const reserved = reservedColumns(spec);
    for (const c of listed) {
      if (!spineCols.includes(c)) {
        const hint = didYouMean(c, spineCols);
        problems.push(`columns: '${c}' is not a column of '${spec.spine.table}'${hint ? `; did you mean '${hint}'?` : ''}`);
      } else if (Array.isArray(spec.columns) && reserved.has(c)) {
        problems.push(`columns: '${c}' is the label, key, time or split column of the spine and cannot be a model input; remove it from columns`);
      }
    }
    if (spec.columns !== undefined && columns.length === 0) problems.push(`columns selects none of the columns of '${spec.spine.table}' (${spineCols.join(', ')})`);
    for (const s of spec.slices) if (!spineCols.includes(s) && !registry.features.has(s)) problems.push(`slice '${s}' is neither a column of '${spec.spine.table}' nor a feature`);
  }
  for (const s of spec.slices) if (registry.features.has(s) && spec.features !== undefined && !known.has(s) && !extra.includes(s)) extra.push(s);
  if (problems.length) {
    throw new KilnError('CONFIG_INVALID', `model '${name}' cannot be trained (${problems.length} problem${problems.length > 1 ? 's' : ''}); nothing was trained:\n${problems.map((p) => `  - ${p}`).join('\n')}`, { path: ['models', name], details: problems });
  }
  await checkBinaryLabel(project, name, spec);
  return { features: names, extra, columns, sources: [...sources.values()] };
}

/** The label must be 0/1 (or boolean): a count or an amount as label would train a meaningless model. */
async function checkBinaryLabel(project: Project, name: string, spec: ModelSpec): Promise<void> {
  const col = quoteIdent(spec.label.column);
  const table = quoteIdent(spec.spine.table);
  const positive = spec.label.positive;
  if (positive) {
    // A coded label: some row must hold a positive value, and some row another value.
    const [c] = await project.offline.all<{ pos: number; neg: number }>(
      `SELECT count(*) FILTER (WHERE ${col}::VARCHAR IN (${positive.map((v) => quoteLiteral(String(v))).join(', ')}))::BIGINT AS pos, count(*) FILTER (WHERE ${col} IS NOT NULL)::BIGINT AS neg FROM ${table}`);
    if (Number(c!.pos) > 0 && Number(c!.neg) > Number(c!.pos)) return;
    const all = await project.offline.all<{ v: string; n: number }>(`SELECT ${col}::VARCHAR AS v, count(*)::BIGINT AS n FROM ${table} WHERE ${col} IS NOT NULL GROUP BY 1 ORDER BY n DESC, v LIMIT 8`);
    throw new KilnError('LABEL_NOT_BINARY',
      `model '${name}': label.positive ${JSON.stringify(positive)} ${Number(c!.pos) === 0 ? 'matches no row' : 'matches every labelled row'} of '${spec.spine.table}'.${spec.label.column}; its values are ${all.map((r) => `'${r.v}' (${Number(r.n)} rows)`).join(', ') || 'all NULL'}`,
      { path: ['models', name, 'label', 'positive'] });
  }
  const [type] = await project.offline.all<{ t: string }>(`SELECT data_type AS t FROM duckdb_columns() WHERE schema_name = 'main' AND table_name = ${quoteLiteral(spec.spine.table)} AND column_name = ${quoteLiteral(spec.label.column)}`);
  if (type?.t === 'BOOLEAN') return;
  const bad = await project.offline.all<{ v: string; n: number }>(
    `SELECT ${col}::VARCHAR AS v, count(*)::BIGINT AS n FROM ${table} WHERE ${col} IS NOT NULL AND coalesce(TRY_CAST(${col} AS DOUBLE) NOT IN (0, 1), true) GROUP BY 1 ORDER BY n DESC, v`);
  if (bad.length === 0) return;
  const all = await project.offline.all<{ v: string; n: number }>(`SELECT ${col}::VARCHAR AS v, count(*)::BIGINT AS n FROM ${table} WHERE ${col} IS NOT NULL GROUP BY 1 ORDER BY n DESC, v LIMIT 8`);
  const [d] = await project.offline.all<{ k: number }>(`SELECT count(DISTINCT ${col})::BIGINT AS k FROM ${table}`);
  const shown = all.map((r) => `${r.v} (${Number(r.n)} rows)`).join(', ');
  throw new KilnError('LABEL_NOT_BINARY',
    `model '${name}': label.column '${spec.label.column}' of '${spec.spine.table}' is not binary: it has ${Number(d!.k)} distinct values, e.g. ${shown}; ${bad.length} value(s) are neither 0 nor 1 (first: '${bad[0]!.v}'). ` +
    `A binary model needs 1 = the bad outcome and 0 = good: derive such a column (e.g. CASE WHEN days_past_due >= 90 THEN 1 ELSE 0 END) and name it in label.column, or list the bad values in label.positive`,
    { path: ['models', name, 'label', 'column'], details: { distinct: Number(d!.k), values: all.map((r) => ({ value: r.v, count: Number(r.n) })) } });
}
