import { existsSync, readFileSync } from 'node:fs';
import { KilnError } from '../core/errors.js';
import { calibratorFromJson, type Calibrator } from '../eval/index.js';
import { Booster } from '../gbdt/index.js';
import { ModelRegistry, checkSignature, type ModelSignature, type ModelVersion } from '../registry/index.js';
import type { Project } from '../store/index.js';
import type { Evaluation } from './evaluate.js';

export interface LoadedModel {
  version: ModelVersion;
  booster: Booster;
  /** Fitted on the validation window at training time; null when the model was trained without one. */
  calibrator: Calibrator | null;
  /** Category dictionaries of categorical inputs (code = index), as at training time. */
  categories: Record<string, string[]>;
}

/**
 * Loads a registered version ('credit@champion', 'credit@3', 'credit') for scoring. The features that
 * will be offered are checked against the version's signature first (names, types, definition versions):
 * a mismatch is a SIGNATURE_MISMATCH error listing every difference, never a silent mis-scoring.
 */
export function loadModelForScoring(project: Project, ref: string, offered: ModelSignature['features']): LoadedModel {
  const version = new ModelRegistry(project.meta.db).resolve(ref);
  checkSignature(version, offered);
  if (!version.artifactPath || !existsSync(version.artifactPath)) {
    throw new KilnError('MODEL_NOT_FOUND', `${version.model} version ${version.version}: its model file ${version.artifactPath ?? '(none recorded)'} is missing from the artifact store`);
  }
  const booster = Booster.fromJSON(readFileSync(version.artifactPath, 'utf8'));
  const dir = version.artifactPath.replace(/model\.json$/, '');
  let calibrator: Calibrator | null = null;
  let categories: Record<string, string[]> = {};
  if (existsSync(`${dir}evaluation.json`)) {
    const ev = JSON.parse(readFileSync(`${dir}evaluation.json`, 'utf8')) as Evaluation;
    if (ev.calibrator) calibrator = calibratorFromJson(ev.calibrator);
  }
  if (existsSync(`${dir}signature.json`)) {
    categories = (JSON.parse(readFileSync(`${dir}signature.json`, 'utf8')) as { categories?: Record<string, string[]> }).categories ?? {};
  }
  return { version, booster, calibrator, categories };
}
