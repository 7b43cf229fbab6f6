/**
 * Guards against silent modelling mistakes: windows without rows, reasons without text, and models that
 * learned nothing. Each refuses with a KilnError that says what is wrong and what to do.
 */
import { KilnError } from '../core/errors.js';
import type { ModelSpec } from '../config/index.js';
import type { InputColumn, ModelDataset } from './dataset.js';

/** Validation AUC at or below this counts as no better than chance. */
export const CHANCE_AUC = 0.51;

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
    throw new KilnError('INVALID_ARGUMENT', `model '${name}': the split ${JSON.stringify(spec.split)} does not give usable windows; nothing was trained:\n${problems.map((p) => `  - ${p}`).join('\n')}`, { path: ['models', name, 'split'] });
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

/** Why the model learned nothing, or null when it learned something. */
export function learnedNothing(bestIteration: number | null, validAuc: number): string | null {
  if (bestIteration === 0) return `the best iteration is 0: no boosting round improved the validation metric (validation AUC ${validAuc.toFixed(4)})`;
  if (!(validAuc > CHANCE_AUC)) return `the validation AUC is ${validAuc.toFixed(4)}, no better than chance (at most ${CHANCE_AUC})`;
  return null;
}
