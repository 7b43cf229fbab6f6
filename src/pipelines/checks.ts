import { KilnError, didYouMean } from '../core/errors.js';
import { PROHIBITED_BASIS_TAG, type ModelSpec } from '../config/index.js';
import type { FeatureRegistry } from '../features/index.js';
import { resolveSelection } from '../features/index.js';
import type { Project } from '../store/index.js';

/**
 * Everything that can be known wrong before any training starts, collected and reported at once:
 * prohibited-basis inputs, leakage from the label table, unknown names in constraints and reasons,
 * a spine without its label or time columns.
 */
export async function checkModelSpec(project: Project, name: string, spec: ModelSpec, registry: FeatureRegistry): Promise<{ features: string[]; extra: string[] }> {
  const problems: string[] = [];
  const { features } = resolveSelection(registry, spec.features);
  const names = features.map((f) => f.name);
  for (const f of features) {
    if (f.spec.meta.tags?.includes(PROHIBITED_BASIS_TAG)) {
      problems.push(`feature '${f.name}' is tagged '${PROHIBITED_BASIS_TAG}': it may be used for fairness testing (fairness.feature) but never as a model input; remove it from the model's features`);
    }
    if (f.source && (f.source.table ?? f.source.name) === spec.spine.table) {
      problems.push(`feature '${f.name}' reads '${spec.spine.table}', the table the label comes from: its rows at or after the spine time carry the outcome (label leakage); take the feature from another source`);
    }
  }
  const known = new Set(names);
  const check = (what: string, keys: string[], allowed: Set<string>): void => {
    for (const k of keys) if (!allowed.has(k)) {
      const hint = didYouMean(k, allowed);
      problems.push(`${what} '${k}' is not one of the model's features${hint ? `; did you mean '${hint}'?` : ''}`);
    }
  };
  check('monotone constraint on', Object.keys(spec.monotone), known);
  check('reasonGroups member', Object.values(spec.reasonGroups).flat(), known);
  check('reason text for', Object.keys(spec.reasons), new Set([...known, ...Object.keys(spec.reasonGroups)]));
  const extra: string[] = [];
  if (spec.fairness) {
    const f = registry.features.get(spec.fairness.feature);
    if (!f) {
      const hint = didYouMean(spec.fairness.feature, registry.features.keys());
      problems.push(`fairness.feature '${spec.fairness.feature}' is not a defined feature${hint ? `; did you mean '${hint}'?` : ''}`);
    } else if (known.has(f.name)) {
      problems.push(`fairness.feature '${f.name}' is also a model input; a protected attribute is for testing, never for scoring`);
    } else extra.push(f.name);
  }
  const spineCols = await project.offline
    .all<{ column_name: string }>(`SELECT column_name FROM duckdb_columns() WHERE schema_name = 'main' AND table_name = '${spec.spine.table.replace(/'/g, "''")}'`)
    .then((r) => r.map((c) => c.column_name));
  if (spineCols.length === 0) problems.push(`spine table '${spec.spine.table}' does not exist in the offline store ('kiln tables' lists them)`);
  else {
    for (const [what, col] of [['spine.timestamp', spec.spine.timestamp], ['label.column', spec.label.column], ['label.availableAt', spec.label.availableAt], ['spine.key', spec.spine.key]] as const) {
      if (col !== undefined && !spineCols.includes(col)) {
        const hint = didYouMean(col, spineCols);
        problems.push(`${what} '${col}' is not a column of '${spec.spine.table}'${hint ? `; did you mean '${hint}'?` : ''}`);
      }
    }
    for (const s of spec.slices) if (!spineCols.includes(s) && !registry.features.has(s)) problems.push(`slice '${s}' is neither a column of '${spec.spine.table}' nor a feature`);
  }
  for (const s of spec.slices) if (registry.features.has(s) && !known.has(s) && !extra.includes(s)) extra.push(s);
  if (problems.length) {
    throw new KilnError('CONFIG_INVALID', `model '${name}' cannot be trained (${problems.length} problem${problems.length > 1 ? 's' : ''}); nothing was trained:\n${problems.map((p) => `  - ${p}`).join('\n')}`, { path: ['models', name], details: problems });
  }
  return { features: names, extra };
}
