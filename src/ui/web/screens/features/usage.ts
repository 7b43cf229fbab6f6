/**
 * Which models use each feature: models of the config whose `features` select it (a set, names, and the
 * features derived ones read), and registered versions whose input signature holds one of its columns.
 */
import { resolveSelection, type FeatureRegistry } from '../../../../features/index.js';
import type { Project } from '../../../../store/index.js';

export interface FeatureUse {
  /** Models of the config that select the feature. */
  readonly config: string[];
  /** Registered versions whose signature reads one of its columns: 'credit@3', with a note when trained on another definition. */
  readonly versions: { model: string; version: number; sameDefinition: boolean }[];
}

/** Uses by feature name and by feature-set name. */
export function featureUses(project: Project, registry: FeatureRegistry): Map<string, FeatureUse> {
  const uses = new Map<string, FeatureUse>();
  const of = (name: string): FeatureUse => {
    let u = uses.get(name);
    if (!u) uses.set(name, (u = { config: [], versions: [] }));
    return u;
  };
  for (const [model, spec] of Object.entries(project.config.models ?? {})) {
    const selection = (spec as { features?: string | readonly string[] }).features;
    if (selection === undefined) continue;
    let names: string[];
    try {
      names = resolveSelection(registry, selection).features.map((f) => f.name);
    } catch {
      continue; // a model naming a feature that is not defined: `kiln train` says so; nothing uses it here
    }
    for (const n of names) if (!of(n).config.includes(model)) of(n).config.push(model);
    for (const s of typeof selection === 'string' ? [selection] : selection) if (registry.sets.has(s) && !of(s).config.includes(model)) of(s).config.push(model);
  }
  // Output column -> feature (a bucketed feature has a column per bucket).
  const byColumn = new Map<string, { name: string; version: string }>();
  for (const f of registry.features.values()) for (const o of f.outputs) byColumn.set(o.column, { name: f.name, version: f.version });
  for (const m of project.registry.listModels()) {
    for (const v of project.registry.listVersions(m.name)) {
      const seen = new Set<string>();
      for (const input of v.signature.features) {
        const f = byColumn.get(input.name);
        if (!f || seen.has(f.name)) continue;
        if (input.version && input.version.startsWith('column:')) continue;
        seen.add(f.name);
        of(f.name).versions.push({ model: v.model, version: v.version, sameDefinition: !input.version || input.version === f.version });
      }
    }
  }
  return uses;
}

/** The versions as short text: credit@1, credit@2 (older definition). */
export function versionsText(u: FeatureUse | undefined): string {
  if (!u || !u.versions.length) return '';
  return u.versions.map((v) => `${v.model}@${v.version}${v.sameDefinition ? '' : ' (older definition)'}`).join(', ');
}

