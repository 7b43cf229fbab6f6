/**
 * Adverse-action reason codes from per-row feature contributions (e.g. TreeSHAP, margin space, toward
 * default). Only contributions that push toward default (> 0) can be reasons.
 */
import { didYouMean } from '../core/errors.js';
import { ArgCheck, checkInt, checkOneOf, fail } from './validate.js';

export const REASON_DIRECTIONS = ['toward-default'] as const;
export type ReasonDirection = (typeof REASON_DIRECTIONS)[number];

export interface ReasonCodeOptions {
  /** Reasons per row at most (default 4). */
  k?: number;
  /** Text per reason (a feature name, or a group name when `groups` is given). */
  reasonText: Record<string, string>;
  /** Features whose contributions are summed into one reason; features in no group are their own reason. */
  groups?: Record<string, readonly string[]>;
  /** Only 'toward-default' (the default): positive contributions raise the predicted default risk. */
  direction?: ReasonDirection;
}

export interface ReasonCode {
  /** Feature or group name. */
  reason: string;
  /** reasonText[reason], or the name itself when no text is given. */
  text: string;
  /** Summed contribution toward default (> 0). */
  contribution: number;
  /** True when reasonText has no entry for this reason (the name is reported instead): fix the text map. */
  missingText: boolean;
}

/** What a set of options compiles to: each feature's reason, the reasons' texts and tie-break ranks. */
interface Prepared { readonly f: number; readonly k: number; readonly unitOf: Int32Array; readonly units: readonly string[]; readonly rank: Int32Array; readonly text: (string | null | undefined)[] }

function prepare(fn: string, c: ArgCheck, featureNames: readonly string[], options: ReasonCodeOptions): Prepared {
  const k = options?.k ?? 4;
  const direction = options?.direction ?? 'toward-default';
  const reasonText = options?.reasonText;
  checkInt(c, 'k', k, 1);
  checkOneOf(c, 'direction', direction, REASON_DIRECTIONS);
  if (reasonText === null || typeof reasonText !== 'object') c.add('reasonText', 'reasonText is missing; pass { featureOrGroup: "text shown to the applicant" }');
  if (!Array.isArray(featureNames) || featureNames.length === 0) return fail(fn, 'featureNames', 'featureNames must be a non-empty array of column names');
  const f = featureNames.length;
  const col = new Map<string, number>();
  featureNames.forEach((name, j) => {
    if (col.has(name)) c.add('featureNames', `featureNames has '${name}' twice (columns ${col.get(name)} and ${j}); names must be unique`);
    else col.set(name, j);
  });
  // Reasons ("units"): groups in the order given, then ungrouped features in column order.
  const unitOf = new Int32Array(f).fill(-1);
  const units: string[] = [];
  for (const [group, members] of Object.entries(options?.groups ?? {})) {
    const u = units.length;
    units.push(group);
    if (!Array.isArray(members) || members.length === 0) { c.add('groups', `group '${group}' has no features; list its feature names`); continue; }
    for (const m of members) {
      const j = col.get(m);
      if (j === undefined) {
        const hint = didYouMean(m, featureNames);
        c.add('groups', `group '${group}' lists '${m}', which is not in featureNames${hint ? ` (did you mean '${hint}'?)` : ''}`);
      } else if (unitOf[j] !== -1) c.add('groups', `feature '${m}' is in groups '${units[unitOf[j]!]}' and '${group}'; a feature can be in one group only`);
      else unitOf[j] = u;
    }
  }
  const unitIndex = new Map(units.map((u, i) => [u, i]));
  for (let j = 0; j < f; j++) {
    if (unitOf[j] !== -1) continue;
    const name = featureNames[j]!;
    if (unitIndex.has(name)) c.add('groups', `group '${name}' has the same name as an ungrouped feature; rename the group or add the feature to it`);
    unitOf[j] = units.length;
    unitIndex.set(name, units.length);
    units.push(name);
  }
  if (reasonText && typeof reasonText === 'object') {
    for (const [key, value] of Object.entries(reasonText)) {
      if (typeof value !== 'string') c.add('reasonText', `reasonText['${key}'] is ${typeof value}; expected the text shown to the applicant`);
      if (unitIndex.has(key) || col.has(key)) continue;
      const hint = didYouMean(key, units);
      c.add('reasonText', `reasonText has '${key}', which is neither a feature nor a group${hint ? ` (did you mean '${hint}'?)` : ''}`);
    }
  }
  // Problems found: the caller throws them (with any in the contributions) before anything is scored.
  if (!c.ok) return { f, k, unitOf, units, rank: new Int32Array(0), text: [] };
  const nu = units.length;
  // Tie-break rank: unit names in code-unit order, so results never depend on column order.
  const rank = new Int32Array(nu);
  units.map((u, i) => i).sort((a, b) => (units[a]! < units[b]! ? -1 : units[a]! > units[b]! ? 1 : 0)).forEach((u, r) => { rank[u] = r; });
  const text = units.map((u) => (Object.hasOwn(reasonText, u) ? reasonText[u]! : null));
  return { f, k, unitOf, units, rank, text };
}

function checkContributions(c: ArgCheck, contributions: ArrayLike<number>, featureNames: readonly string[]): void {
  const f = featureNames.length;
  if (contributions == null || typeof contributions.length !== 'number') c.add('contributions', 'contributions is missing; pass an n × f row-major array');
  else if (contributions.length % f !== 0) c.add('contributions', `contributions has ${contributions.length} values, not a multiple of ${f} features; pass n × ${f} row-major (without a bias column)`);
  else {
    let bad = 0, first = -1;
    for (let i = 0; i < contributions.length; i++) if (!Number.isFinite(contributions[i]!) && bad++ === 0) first = i;
    if (bad) c.add('contributions', `contributions at row ${Math.floor(first / f)}, feature '${featureNames[first % f]}' is ${String(contributions[first])}${bad > 1 ? ` (and ${bad - 1} more)` : ''}; contributions must be finite`);
  }
}

/**
 * Top-k reasons per row among reasons whose (summed) contribution is > 0, largest first; equal
 * contributions are ordered by reason name (code-unit order). `contributions` is n × f row-major, with
 * one column per feature in `featureNames` order (drop any bias/base-value column first).
 * @example reasonCodes(shap, ['util', 'dti', 'age'], { reasonText: { util: 'Revolving utilisation is high', dti: 'Debt is high relative to income' } })
 * // [[{ reason: 'util', text: 'Revolving utilisation is high', contribution: 0.42, missingText: false }], …]
 */
export function reasonCodes(contributions: ArrayLike<number>, featureNames: readonly string[], options: ReasonCodeOptions): ReasonCode[][] {
  const c = new ArgCheck('reasonCodes');
  const p = prepare('reasonCodes', c, featureNames, options);
  checkContributions(c, contributions, featureNames);
  c.done();
  return apply(p, contributions);
}

/**
 * `reasonCodes` with the options checked and compiled once: the serving path calls the returned
 * function per request (the same results as reasonCodes with the same arguments).
 */
export function reasonCoder(featureNames: readonly string[], options: ReasonCodeOptions): (contributions: ArrayLike<number>) => ReasonCode[][] {
  const c = new ArgCheck('reasonCodes');
  const p = prepare('reasonCodes', c, featureNames, options);
  c.done();
  return (contributions) => {
    const cc = new ArgCheck('reasonCodes');
    checkContributions(cc, contributions, featureNames);
    cc.done();
    return apply(p, contributions);
  };
}

function apply(p: Prepared, contributions: ArrayLike<number>): ReasonCode[][] {
  const { f, k, unitOf, units, rank, text } = p;
  const nu = units.length;
  const n = contributions.length / f;
  const sums = new Float64Array(nu);
  const top = new Int32Array(k);
  const out: ReasonCode[][] = new Array(n);
  for (let r = 0; r < n; r++) {
    sums.fill(0);
    for (let j = 0; j < f; j++) sums[unitOf[j]!]! += contributions[r * f + j]!;
    let size = 0;
    for (let u = 0; u < nu; u++) {
      const v = sums[u]!;
      if (!(v > 0)) continue;
      // insertion into the sorted top-k (descending value, then ascending name rank)
      let p = size;
      while (p > 0) {
        const q = top[p - 1]!;
        const vq = sums[q]!;
        if (vq > v || (vq === v && rank[q]! < rank[u]!)) break;
        p--;
      }
      if (p >= k) continue;
      for (let s = Math.min(size, k - 1); s > p; s--) top[s] = top[s - 1]!;
      top[p] = u;
      if (size < k) size++;
    }
    const row: ReasonCode[] = new Array(size);
    for (let s = 0; s < size; s++) {
      const u = top[s]!;
      const t = text[u];
      row[s] = { reason: units[u]!, text: t ?? units[u]!, contribution: sums[u]!, missingText: t === null || t === undefined };
    }
    out[r] = row;
  }
  return out;
}
