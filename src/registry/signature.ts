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

/**
 * A signature for a human: every input when there are at most `top` (name type@version), else one line
 * that counts inputs and declared features and names the first `top` features with their column counts
 * (`spend_by_category_30d (11)`). The signature itself keeps every input; `--json` prints it.
 * @example
 * describeSignature(v.signature); // '1,818 inputs from 360 features: txn_count_1d, spend_by_category_1d (11), ... and 335 more features'
 */
export function describeSignature(sig: ModelSignature, top = 25): string {
  const fs = sig.features;
  if (fs.length <= top) return fs.map((f) => `${f.name} ${f.type}${f.version ? `@${f.version}` : ''}`).join(', ');
  // The CLI loads this without the eval stage, so the `<feature>__<bucket>` rule is read here directly.
  const counts = new Map<string, number>();
  for (const f of fs) {
    const i = f.name.indexOf('__');
    const owner = i > 0 ? f.name.slice(0, i) : f.name;
    counts.set(owner, (counts.get(owner) ?? 0) + 1);
  }
  const types = new Map<string, number>();
  for (const f of fs) types.set(f.type, (types.get(f.type) ?? 0) + 1);
  const shown = [...counts].slice(0, top).map(([name, n]) => (n > 1 ? `${name} (${n})` : name));
  const more = counts.size - shown.length;
  const typeText = [...types].sort((a, b) => b[1] - a[1]).map(([t, n]) => `${n.toLocaleString('en-US')} ${t}`).join(', ');
  const from = counts.size < fs.length ? ` from ${counts.size.toLocaleString('en-US')} features` : '';
  return `${fs.length.toLocaleString('en-US')} inputs${from} [${typeText}]: ${shown.join(', ')}${more > 0 ? ` and ${more.toLocaleString('en-US')} more features` : ''}`;
}
