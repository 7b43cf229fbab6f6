import { Rng } from '../../src/core/rng.js';
import type { EvalSet } from '../../src/loop/gates/index.js';

/** A seeded credit world: a latent risk, a champion and a sharper challenger, regions and a protected attribute. */
export function world(seed: number, n: number, opts: { unknownShare?: number } = {}): EvalSet {
  const r = new Rng(seed);
  const label = new Float64Array(n), championPd = new Float64Array(n), challengerPd = new Float64Array(n);
  const region: (string | null)[] = [], sex: (string | null)[] = [];
  const sig = (x: number): number => 1 / (1 + Math.exp(-x));
  for (let i = 0; i < n; i++) {
    const z = r.normal();
    const reg = ['coastal', 'inland', 'north'][r.int(3)]!;
    region.push(r.uniform() < 0.02 ? null : reg);
    sex.push(r.uniform() < 0.03 ? null : r.uniform() < 0.5 ? 'F' : 'M');
    label[i] = r.uniform() < sig(-2 + z) ? 1 : 0;
    if (r.uniform() < (opts.unknownShare ?? 0)) label[i] = NaN;
    championPd[i] = sig(-2 + 0.6 * z + 0.7 * r.normal());
    challengerPd[i] = sig(-2 + 0.85 * z + 0.4 * r.normal());
  }
  return { label, championPd, challengerPd, slices: { region }, group: { column: 'sex', values: sex }, championCutoff: 0.12, challengerCutoff: 0.13 };
}

