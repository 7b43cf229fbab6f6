import { KilnError } from '../core/errors.js';
import type { ModelSignature, ModelVersion } from './models.js';

/**
 * Checks that the features offered for scoring match the version's signature: every feature present,
 * with the same type and (when the signature pins one) the same definition version. Extra features are
 * allowed and ignored. Every mismatch is listed at once.
 */
export function checkSignature(mv: ModelVersion, offered: ModelSignature['features']): void {
  const byName = new Map(offered.map((f) => [f.name, f]));
  const problems: string[] = [];
  for (const f of mv.signature.features) {
    const o = byName.get(f.name);
    if (!o) { problems.push(`feature '${f.name}' is missing`); continue; }
    if (o.type !== f.type) problems.push(`feature '${f.name}' is ${o.type}, the model was trained on ${f.type}`);
    if (f.version && o.version && o.version !== f.version) {
      problems.push(`feature '${f.name}' is at definition version ${o.version}, the model was trained on ${f.version} (the feature's meaning changed)`);
    }
  }
  if (problems.length) {
    throw new KilnError(
      'SIGNATURE_MISMATCH',
      `${mv.model} version ${mv.version} cannot score this input (${problems.length} problem${problems.length > 1 ? 's' : ''}):\n${problems.map((p) => `  - ${p}`).join('\n')}`,
      { details: problems },
    );
  }
}
