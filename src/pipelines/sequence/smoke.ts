/**
 * The smoke sample of a sequence bundle: a seeded pick of held-out rows (test, else validation) with the
 * probability the version gives each. Building it also proves the bundle reproduces the trained network:
 * the bundle alone must score the rows as the trainer's replica did (to 1e-5), or training fails loudly
 * rather than registering a version that serves different numbers.
 */
import { KilnError } from '../../core/errors.js';
import type { SequenceSpec as SeqConfig } from '../../config/index.js';
import type { ModelDataset } from '../dataset.js';
import { SMOKE_ROWS, SMOKE_SEED, smokeSplit } from '../smoke.js';
import { sampleRows } from '../sample.js';
import { SequenceModel, type SequenceBundleJson } from './bundle.js';
import type { VariantResult } from './fit-variant.js';

export function withSequenceSmoke(body: SequenceBundleJson, data: ModelDataset, cfg: SeqConfig, trained: VariantResult): SequenceBundleJson {
  const split = smokeSplit(data.splits.test, data.splits.valid);
  if (split.rows === 0) return body;
  const picked = sampleRows(split.rows, SMOKE_ROWS, SMOKE_SEED);
  const cols = body.tabular;
  const rows = Array.from(picked, (i) => ({
    events: (split.sequences[cfg.input]![i] ?? []) as unknown[],
    at: split.timeMs![i]! * 1000,
    features: Object.fromEntries(cols.map((c) => {
      const j = data.inputs.findIndex((x) => x.name === c.name);
      const v = split.features[j]![i]!;
      const input = data.inputs[j]!;
      return [c.name, v !== v ? null : input.kind === 'categorical' ? input.categories![v] ?? null : v];
    })) as Record<string, number | string | null>,
  }));
  const model = new SequenceModel(body);
  const scores = model.scoreMany(rows);
  const want = split.name === 'test' ? trained.score.test : trained.score.valid;
  scores.forEach((s, k) => {
    const p = 1 / (1 + Math.exp(-s.raw));
    const w = want[picked[k]!]!;
    if (!(Math.abs(p - w) <= 1e-5 + 1e-4 * Math.abs(w))) {
      throw new KilnError('INTERNAL', `the sequence bundle scores held-out row ${picked[k]} at ${p}, but the trained network gave ${w}: the bundle does not reproduce the network; nothing was registered`);
    }
  });
  return { ...body, smoke: { rows, pd: scores.map((s) => s.pd) } };
}
