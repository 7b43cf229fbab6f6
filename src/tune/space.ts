import { Rng } from '../core/index.js';
import { KilnError } from '../core/errors.js';
import { checkParams, PARAM_NAMES } from '../gbdt/index.js';

/**
 * A hyperparameter search space, JSON: each GBDT parameter maps to
 * - `[lo, hi]` of whole numbers: a whole number drawn uniformly from lo..hi (inclusive);
 * - `{ "uniform": [lo, hi] }`: a number drawn uniformly;
 * - `{ "log": [lo, hi] }`: a number drawn uniformly in log space (learning rates, regularisation);
 * - `{ "choice": [a, b, ...] }`: one of the values.
 * Draws come from a seeded generator: the same space and seed give the same trials.
 */
export type Dimension =
  | { kind: 'int'; lo: number; hi: number }
  | { kind: 'uniform'; lo: number; hi: number }
  | { kind: 'log'; lo: number; hi: number }
  | { kind: 'choice'; values: unknown[] };

export type SearchSpace = Record<string, Dimension>;

const bad = (where: string, key: string, what: string): KilnError => new KilnError('USAGE', `${where}: ${key}: ${what}`, { path: [where, key] });

export function parseSpace(input: unknown, where = '--space'): SearchSpace {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) throw new KilnError('USAGE', `${where}: expected a JSON object of parameter: range, e.g. {"max_depth": [3, 8], "learning_rate": {"log": [0.01, 0.3]}}`, { path: [where] });
  const space: SearchSpace = {};
  const pair = (key: string, v: unknown, what: string): [number, number] => {
    if (!Array.isArray(v) || v.length !== 2 || !v.every((x) => typeof x === 'number' && Number.isFinite(x)) || v[0] > v[1]) throw bad(where, key, `${what}: expected [lo, hi] with lo <= hi`);
    return [v[0], v[1]];
  };
  for (const [key, v] of Object.entries(input as Record<string, unknown>)) {
    if (!(PARAM_NAMES as readonly string[]).includes(key)) {
      throw bad(where, key, `not a GBDT parameter (parameters: ${PARAM_NAMES.join(', ')})`);
    }
    if (Array.isArray(v)) {
      const [lo, hi] = pair(key, v, 'a range of whole numbers');
      if (!Number.isInteger(lo) || !Number.isInteger(hi)) throw bad(where, key, `[${lo}, ${hi}] is a range of whole numbers: use {"uniform": [${lo}, ${hi}]} for any number in it`);
      space[key] = { kind: 'int', lo, hi };
    } else if (v && typeof v === 'object' && 'uniform' in v) {
      const [lo, hi] = pair(key, (v as { uniform: unknown }).uniform, 'uniform');
      space[key] = { kind: 'uniform', lo, hi };
    } else if (v && typeof v === 'object' && 'log' in v) {
      const [lo, hi] = pair(key, (v as { log: unknown }).log, 'log');
      if (lo <= 0) throw bad(where, key, `log: the range must be above 0 (got ${lo})`);
      space[key] = { kind: 'log', lo, hi };
    } else if (v && typeof v === 'object' && 'choice' in v && Array.isArray((v as { choice: unknown }).choice) && (v as { choice: unknown[] }).choice.length > 0) {
      space[key] = { kind: 'choice', values: (v as { choice: unknown[] }).choice };
    } else {
      throw bad(where, key, 'expected [lo, hi] (whole numbers), {"uniform": [lo, hi]}, {"log": [lo, hi]} or {"choice": [...]}');
    }
  }
  if (Object.keys(space).length === 0) throw new KilnError('USAGE', `${where}: the space has no parameter to search`, { path: [where] });
  return space;
}

/** `n` parameter sets drawn from the space with `seed`; each is checked as GBDT parameters. */
export function sampleSpace(space: SearchSpace, n: number, seed: number): Record<string, unknown>[] {
  const rng = new Rng(seed, 17);
  const out: Record<string, unknown>[] = [];
  for (let i = 0; i < n; i++) {
    const p: Record<string, unknown> = {};
    for (const [key, d] of Object.entries(space)) {
      const u = rng.uniform();
      p[key] = d.kind === 'int' ? d.lo + Math.min(d.hi - d.lo, Math.floor(u * (d.hi - d.lo + 1)))
        : d.kind === 'uniform' ? d.lo + u * (d.hi - d.lo)
          : d.kind === 'log' ? Math.exp(Math.log(d.lo) + u * (Math.log(d.hi) - Math.log(d.lo)))
            : d.values[Math.min(d.values.length - 1, Math.floor(u * d.values.length))];
    }
    const { issues } = checkParams(p);
    if (issues.length) throw new KilnError('USAGE', `the search space draws parameters the GBDT refuses: ${issues.map((x) => `${x.param}: ${x.message}`).join('; ')}`);
    out.push(p);
  }
  return out;
}

/** The rungs of successive halving: configurations and rounds per rung (Jamieson & Talwalkar 2016). */
export function halvingRungs(trials: number, eta: number, minRounds: number, maxRounds: number): { configs: number; rounds: number }[] {
  const rungs: { configs: number; rounds: number }[] = [];
  let n = trials;
  let r = minRounds;
  for (;;) {
    rungs.push({ configs: n, rounds: Math.min(r, maxRounds) });
    const next = Math.floor(n / eta);
    if (next < 1 || r >= maxRounds) break;
    n = next;
    r = Math.min(maxRounds, Math.round(r * eta));
  }
  return rungs;
}
