import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { KilnError } from '../core/errors.js';
import type { Calibrator } from '../eval/index.js';
import { MODEL_FORMAT, type Booster, type GbdtModelJson } from '../gbdt/index.js';
import { checkSignature, type ModelSignature, type ModelVersion } from '../registry/index.js';
import type { Project } from '../store/index.js';
import { bundleText, kilnVersion, loadModelBundle, ModelBundle, parseBundle, type ModelBundleJson } from './bundle.js';
import type { Evaluation } from './evaluate.js';

export interface LoadedModel {
  version: ModelVersion;
  /** The version's `kiln.model@1` bundle, ready to score. */
  bundle: ModelBundle;
  booster: Booster;
  /** Fitted on the validation window at training time; null when the model was trained without one. */
  calibrator: Calibrator | null;
  /** Category dictionaries of categorical inputs (code = index), as at training time. */
  categories: Record<string, string[]>;
}

/**
 * The bundle of a registered version: the file its artifact path points at. A version registered
 * before bundles existed points at a `kiln.gbdt@1` model.json; its bundle is assembled from that run's
 * model.json, signature.json and evaluation.json (no reason config: those versions score, but give no
 * reasons; retrain for them).
 */
export function versionBundle(version: ModelVersion): ModelBundle {
  const path = version.artifactPath;
  if (!path || !existsSync(path)) {
    throw new KilnError('MODEL_NOT_FOUND', `${version.model} version ${version.version}: its model bundle ${path ?? '(none recorded)'} is missing from the artifact store; restore it, or retrain with 'kiln train ${version.model}'`, { path: [path ?? version.model] });
  }
  const text = readFileSync(path, 'utf8');
  let format: unknown;
  try { format = (JSON.parse(text) as { format?: unknown }).format; } catch { /* parseBundle names it */ }
  if (format !== MODEL_FORMAT) return loadModelBundle(path);
  return new ModelBundle(parseBundle(bundleText(legacyBundle(version, text)), path), path);
}

function readJsonIfThere<T>(path: string): T | undefined {
  if (!existsSync(path)) return undefined;
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as T;
  } catch (e) {
    throw new KilnError('BUNDLE_INVALID', `${path} does not parse (${(e as Error).message}); retrain the model to write a kiln.model@1 bundle`, { path: [path], cause: e });
  }
}

/** A pre-bundle version (model.json beside signature.json and evaluation.json) as a bundle. */
function legacyBundle(version: ModelVersion, modelText: string): Omit<ModelBundleJson, 'checksum' | 'format'> {
  const dir = dirname(version.artifactPath!);
  const booster = JSON.parse(modelText) as GbdtModelJson;
  const sig = readJsonIfThere<{ categories?: Record<string, string[]> }>(join(dir, 'signature.json'));
  const ev = readJsonIfThere<Evaluation>(join(dir, 'evaluation.json'));
  if (!ev) throw new KilnError('BUNDLE_INVALID', `${version.model} version ${version.version} predates model bundles and its run's evaluation.json (calibrator, scaling, cutoff) is missing from ${dir}; retrain with 'kiln train ${version.model}'`, { path: [join(dir, 'evaluation.json')] });
  return {
    provenance: { model: version.model, version: version.version, runId: version.runId, description: version.description, kilnVersion: `${kilnVersion()} (converted from model.json)`, createdAt: version.createdAt, configHash: null },
    signature: version.signature,
    categories: sig?.categories ?? {},
    booster,
    calibrator: ev.calibrator,
    scaling: { basePoints: ev.scaling.basePoints, baseOdds: ev.scaling.baseOdds, pdo: ev.scaling.pdo },
    cutoff: ev.cutoff,
    reasons: null,
  };
}

/**
 * Loads a registered version ('credit@champion', 'credit@3', 'credit') for scoring, through the
 * registry to its bundle. The features that will be offered are checked against the version's
 * signature first (names, types, definition versions): a mismatch is a SIGNATURE_MISMATCH error listing
 * every difference, never a silent mis-scoring.
 */
export function loadModelForScoring(project: Project, ref: string, offered: ModelSignature['features']): LoadedModel {
  const version = project.registry.resolve(ref);
  checkSignature(version, offered);
  const bundle = versionBundle(version);
  return { version, bundle, booster: bundle.booster, calibrator: bundle.calibrator, categories: bundle.categories };
}
