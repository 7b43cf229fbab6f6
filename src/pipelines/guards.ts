/**
 * Guards against silent modelling mistakes: windows without rows, reasons without text, and models that
 * learned nothing. Each refuses with a KilnError that says what is wrong and what to do.
 */
import { KilnError } from '../core/errors.js';
import type { ModelSpec } from '../config/index.js';
import type { InputColumn, ModelDataset } from './dataset.js';

/** An AUC at or below this is no better than chance whatever the sample size. */
export const CHANCE_AUC = 0.51;

/**
 * The AUC a model with no skill exceeds with probability about 2.5%: 0.5 plus two standard errors of
 * the Mann-Whitney statistic under the null, sqrt((n1 + n0 + 1) / (12 n1 n0)); at least CHANCE_AUC.
 */
export function chanceAuc(rows: number, positives: number): number {
  const n1 = positives, n0 = rows - positives;
  if (n1 <= 0 || n0 <= 0) return CHANCE_AUC;
  return Math.max(CHANCE_AUC, 0.5 + 2 * Math.sqrt((n1 + n0 + 1) / (12 * n1 * n0)));
}

/** Every window must have labelled rows, enough positives and some negatives. */
export function checkSplits(name: string, spec: ModelSpec, data: ModelDataset): void {
  const empty = Object.values(data.splits).filter((s) => s.rows === 0);
  const range = data.fingerprint.from !== null ? `the spine's time runs from ${data.fingerprint.from} to ${data.fingerprint.to}` : `the spine has ${data.fingerprint.rows} rows`;
  if (empty.length) {
    const windows = empty.map((s) => `${s.name}${windowText(spec, s.name)}`).join(', ');
    throw new KilnError('SPLIT_EMPTY',
      `model '${name}': the ${windows} window${empty.length > 1 ? 's have' : ' has'} no labelled rows; ${range} (${data.fingerprint.rows} rows, ${data.unlabelled} without a known label). ` +
      `Move the split dates inside that range (models.${name}.split); nothing was trained`,
      { path: ['models', name, 'split'], details: { empty: empty.map((s) => s.name), from: data.fingerprint.from, to: data.fingerprint.to } });
  }
  const problems: string[] = [];
  for (const s of Object.values(data.splits)) {
    if (s.positives < spec.minPositives) problems.push(`the ${s.name} window has ${s.positives} positives (${spec.label.column} = 1) among ${s.rows} rows; at least ${spec.minPositives} are needed (minPositives)`);
    else if (s.positives === s.rows) problems.push(`the ${s.name} window has only positives`);
  }
  if (problems.length) {
    throw new KilnError('SPLIT_EMPTY', `model '${name}': the split ${JSON.stringify(spec.split)} does not give usable windows; nothing was trained:\n${problems.map((p) => `  - ${p}`).join('\n')}`, { path: ['models', name, 'split'] });
  }
}

function windowText(spec: ModelSpec, w: 'train' | 'valid' | 'test'): string {
  const s = spec.split;
  if (!('testFrom' in s)) return '';
  const [from, to] = w === 'train' ? [s.trainFrom ?? '(start)', s.validFrom] : w === 'valid' ? [s.validFrom, s.testFrom] : [s.testFrom, s.testTo];
  return ` [${from}, ${to})`;
}

/**
 * The reasons a model can give (reason groups, then features in no group; a bucketed feature is one
 * reason) and those without a text in `reasons`.
 */
export function reasonUnits(spec: ModelSpec, inputs: readonly InputColumn[]): { units: string[]; missing: string[] } {
  const grouped = new Set(Object.values(spec.reasonGroups).flat());
  const units = [...Object.keys(spec.reasonGroups)];
  for (const c of inputs) if (!grouped.has(c.feature) && !units.includes(c.feature)) units.push(c.feature);
  return { units, missing: units.filter((u) => !Object.hasOwn(spec.reasons, u)) };
}

/** Refuses a model whose adverse-action reasons would reach an applicant without a text. */
export function checkReasons(name: string, spec: ModelSpec, inputs: readonly InputColumn[]): void {
  if (spec.defaultReason !== undefined) return;
  const { units, missing } = reasonUnits(spec, inputs);
  if (missing.length === 0) return;
  throw new KilnError('REASONS_MISSING',
    `model '${name}': ${missing.length} of ${units.length} possible adverse-action reasons have no text: ${missing.join(', ')}. ` +
    `Declare a text for each under models.${name}.reasons (or group them under reasonGroups), or set models.${name}.defaultReason; nothing was trained`,
    { path: ['models', name, 'reasons'], details: { missing } });
}

/**
 * Why the model learned nothing, or null when it learned something: no boosting round helped (best
 * iteration 0), or the validation or test AUC is within chance of 0.5 for the window's size.
 */
export function learnedNothing(bestIteration: number | null, windows: { name: string; auc: number; rows: number; positives: number }[]): string | null {
  if (bestIteration === 0) return `the best iteration is 0: no boosting round improved the validation metric (${windows.map((w) => `${w.name} AUC ${w.auc.toFixed(4)}`).join(', ')})`;
  for (const w of windows) {
    const bound = chanceAuc(w.rows, w.positives);
    if (!(w.auc > bound)) return `the ${w.name} AUC is ${w.auc.toFixed(4)}, no better than chance (at most ${bound.toFixed(4)} for ${w.rows} rows with ${w.positives} positives)`;
  }
  return null;
}
