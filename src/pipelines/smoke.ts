/**
 * The smoke sample a bundle carries: at training time, a seeded pick of at most SMOKE_ROWS held-out rows
 * (the test split, or the validation split when the test split is empty) is turned back into input rows
 * as a caller would send them (numbers, category texts, null for missing) and scored by the finished
 * bundle itself, the text that will be written. Serving re-scores the rows before a version goes live:
 * the same probabilities prove that the file, the trees, the category maps and the scorer all agree.
 */
import { bundleText, ModelBundle, parseBundle, type ModelBundleBody, type SmokeSample } from './bundle.js';
import type { InputColumn, Split } from './dataset.js';

/** Rows in a bundle's smoke sample (at most). */
export const SMOKE_ROWS = 32;
/** Seed of the pick (train.ts draws it with `sampleRows`). */
export const SMOKE_SEED = 13;

/** The split's row i as an input row; null when a value cannot be written as JSON (±Infinity). */
function inputRow(split: Split, inputs: readonly InputColumn[], i: number): Record<string, number | string | null> | null {
  const row: Record<string, number | string | null> = {};
  for (let j = 0; j < inputs.length; j++) {
    const c = inputs[j]!;
    const v = split.features[j]![i]!;
    if (Number.isNaN(v)) row[c.name] = null;
    else if (!Number.isFinite(v)) return null;
    else if (c.kind === 'categorical') row[c.name] = c.categories?.[v] ?? null;
    else row[c.name] = v;
  }
  return row;
}

/** The split the smoke sample is drawn from: the test split, or the validation split when the test split is empty. */
export function smokeSplit(test: Split, valid: Split): Split {
  return test.rows > 0 ? test : valid;
}

/**
 * The body with its smoke sample: the split's rows `picked`, scored by the bundle `body` makes. The body
 * as given when no row is picked.
 */
export function withSmokeSample(body: ModelBundleBody, inputs: readonly InputColumn[], split: Split, picked: ArrayLike<number>): ModelBundleBody {
  const rows: Record<string, number | string | null>[] = [];
  for (let k = 0; k < picked.length; k++) { const r = inputRow(split, inputs, picked[k]!); if (r) rows.push(r); }
  if (rows.length === 0) return body;
  const { smoke: _s, ...rest } = body;
  const bundle = new ModelBundle(parseBundle(bundleText(rest)));
  const smoke: SmokeSample = { rows, probability: [...bundle.score(rows).probability] };
  return { ...rest, smoke };
}
