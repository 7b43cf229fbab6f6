/**
 * Checks of what `openModelSet` is given: model references ('credit@champion', 'credit@3', 'credit') and
 * challenger traffic specs (config `serve.traffic` or the admin route). Shape only; loading and
 * validating the versions is the model set's job.
 */
import { KilnError, type KilnErrorCode } from '../../core/errors.js';
import type { TrafficSpec } from '../types.js';

const NAME = /^[A-Za-z][A-Za-z0-9_.-]{0,127}$/;
const SELECTOR = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;

/** The model name of a reference; throws `code` naming `where` when the reference is malformed. */
export function refModel(ref: unknown, where: string, code: KilnErrorCode): string {
  const text = typeof ref === 'string' ? ref : '';
  const at = text.lastIndexOf('@');
  const name = at >= 0 ? text.slice(0, at) : text;
  if (NAME.test(name) && (at < 0 || SELECTOR.test(text.slice(at + 1)))) return name;
  throw new KilnError(code, `${where}: ${JSON.stringify(ref)} is not a model reference; expected 'name@alias', 'name@VERSION' or 'name' (e.g. 'credit@champion', 'credit@3')`, { path: [where] });
}

/** A checked traffic spec for model `name`, its share set (1 for shadow: every request is scored beside). */
export function checkTraffic(name: string, spec: unknown, where: string, code: KilnErrorCode): Required<TrafficSpec> {
  const bad = (field: string, what: string): KilnError => new KilnError(code, `${where}.${field}: ${what}`, { path: [where, field] });
  if (spec === null || typeof spec !== 'object' || Array.isArray(spec)) throw new KilnError(code, `${where}: expected { challenger, mode, share? }, got ${JSON.stringify(spec)}`, { path: [where] });
  const s = spec as Record<string, unknown>;
  const unknown = Object.keys(s).find((k) => !['challenger', 'mode', 'share'].includes(k));
  if (unknown) throw bad(unknown, `unknown field; a traffic spec has challenger, mode and share (canary only)`);
  const model = refModel(s.challenger, `${where}.challenger`, code);
  if (model !== name) throw bad('challenger', `'${String(s.challenger)}' is a version of '${model}'; a challenger of '${name}' must be a version of '${name}' (e.g. '${name}@challenger')`);
  if (s.mode !== 'shadow' && s.mode !== 'canary') throw bad('mode', `expected 'shadow' (scored and logged, not returned) or 'canary' (decides a share of entities), got ${JSON.stringify(s.mode)}`);
  if (s.mode === 'shadow') {
    if (s.share !== undefined) throw bad('share', `applies to canary only; a shadow challenger is scored on every request (remove share, or use mode 'canary')`);
    return { challenger: s.challenger as string, mode: 'shadow', share: 1 };
  }
  if (typeof s.share !== 'number' || !(s.share > 0 && s.share < 1)) throw bad('share', `a canary needs a share of entities strictly between 0 and 1 (e.g. 0.05), got ${JSON.stringify(s.share)}`);
  return { challenger: s.challenger as string, mode: 'canary', share: s.share };
}
