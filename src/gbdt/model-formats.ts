/**
 * Loading a model from text whatever wrote it: a kiln.gbdt@1 artifact, an XGBoost JSON model or a
 * LightGBM text model, told apart by content rather than by file name.
 */
import { KilnError } from '../core/errors.js';
import { Booster } from './booster.js';
import { fromLightGBMText, isLightGBMText } from './lightgbm-text.js';
import { MODEL_FORMAT } from './model-json.js';
import { fromXGBoostJSON, isXGBoostJSON, parseXGBoostText } from './xgboost-json.js';

export const MODEL_SOURCES = ['kiln', 'xgboost', 'lightgbm'] as const;
export type ModelSource = (typeof MODEL_SOURCES)[number];

/**
 * A booster from model text, with the format it was read as.
 * @example
 * const { booster, source } = loadModelText(readFileSync(path, 'utf8'));
 */
export function loadModelText(text: string, where = 'model'): { booster: Booster; source: ModelSource } {
  if (isLightGBMText(text)) return { booster: fromLightGBMText(text), source: 'lightgbm' };
  const trimmed = text.trimStart();
  if (!trimmed.startsWith('{')) {
    throw new KilnError('MODEL_FORMAT_INVALID', `${where} is neither JSON (a ${MODEL_FORMAT} or XGBoost model) nor a LightGBM text model (first line 'tree'); binary XGBoost (.ubj) models are not read, save them as .json`, { path: [where] });
  }
  const doc = parseXGBoostText(trimmed);
  if ((doc as { format?: unknown } | null)?.format !== undefined) return { booster: Booster.fromJSON(doc as never), source: 'kiln' };
  if (isXGBoostJSON(doc)) return { booster: fromXGBoostJSON(doc), source: 'xgboost' };
  throw new KilnError('MODEL_FORMAT_INVALID', `${where} is JSON but neither a ${MODEL_FORMAT} model (no 'format' field) nor an XGBoost model (no 'learner.gradient_booster')`, { path: [where] });
}
