/**
 * The checks a version passes before it serves. (a) Its signature against what the online store serves:
 * every input that is a feature (a definition version, not a plain `column:` of a table) must be served
 * under the same name, with the same SQL type and definition version (`checkSignature`); a model on
 * plain table columns skips this part. (b) The smoke sample: the held-out rows stored with the version
 * at training time are scored again and must give the stored probabilities (within 1e-9, relative),
 * proving the file, trees, category maps and scorer agree. A bundle from before smoke samples passes (b)
 * with a warning. A sequence version's SEQUENCE input is checked like any feature (a lastK definition is
 * served as type SEQUENCE at its definition version), then by `validateSequence` (../sequence.ts: the
 * encoding's feature version, synthetic smoke rows). A fused version is checked on what it reads (its
 * lastK input in place of its embedding columns), its encoder as a sequence network (../fused.ts), and
 * its trees on the stored smoke sample (which holds the embedding columns). An imported ONNX version: its
 * encoding against the served lastK definition, and the synthetic smoke rows scored at load through
 * onnxruntime (../onnx.ts); it goes live with a warning (no cutoff: it declines nothing). Any failure is
 * MODEL_VALIDATION_FAILED saying what differed.
 */
import { COLUMN_TYPES } from '../../config/index.js';
import { KilnError, isKilnError } from '../../core/errors.js';
import type { AggregatorName, ResolvedFeature } from '../../features/index.js';
import { checkSignature, type ModelSignature } from '../../registry/index.js';
import { validateFused } from '../fused.js';
import { checkEncodingServed, checkSmokeScores, validateSequence } from '../sequence.js';
import type { LiveVersion } from '../types.js';
import { requestInputs } from './live.js';

/** A served feature column as a signature lists it: output column name, SQL type, definition version. */
export type ServedFeature = ModelSignature['features'][number];

/** Relative tolerance of the smoke test. */
export const SMOKE_TOLERANCE = 1e-9;

/** The SQL type a training set gives an aggregate's output (src/features/training/sql-aggregates.ts); null for a list. */
const OUTPUT_TYPE: Readonly<Record<AggregatorName, ((valueType: string | null) => string) | null>> = {
  count: () => 'BIGINT', countDistinct: () => 'BIGINT',
  sum: () => 'DOUBLE', mean: () => 'DOUBLE', stddev: () => 'DOUBLE', percentile: () => 'DOUBLE', timeSinceLast: () => 'DOUBLE',
  min: (t) => t ?? 'DOUBLE', max: (t) => t ?? 'DOUBLE',
  first: (t) => t ?? 'VARCHAR', last: (t) => t ?? 'VARCHAR', latest: (t) => t ?? 'VARCHAR',
  lastK: null,
};

/**
 * The scalar feature columns that definitions serve (an online store's `plan`, or a feature registry),
 * with the SQL type the offline training set gives them and their definition version: what a model's
 * signature is checked against. Derived features are DOUBLE; a sequence (lastK) feature is 'SEQUENCE',
 * the type a sequence model's signature gives its input.
 */
export function servedFeatures(defs: { readonly features: ReadonlyMap<string, ResolvedFeature> }): ServedFeature[] {
  const out: ServedFeature[] = [];
  for (const f of defs.features.values()) {
    let type: string | null = 'DOUBLE';
    if (f.spec.type === 'aggregate') {
      const of = OUTPUT_TYPE[f.spec.op as AggregatorName];
      type = of ? of(f.valueType ? COLUMN_TYPES[f.valueType] : null) : f.spec.op === 'lastK' ? 'SEQUENCE' : null;
    }
    if (type !== null) for (const o of f.outputs) out.push({ name: o.column, type, version: f.version });
  }
  return out;
}

export interface ValidationResult {
  /** What passed with a reservation (no smoke sample). */
  readonly warnings: string[];
  /** Smoke rows re-scored (0 without a sample): a fused version's count its encoder's synthetic rows too. */
  readonly smokeRows: number;
  /** Feature inputs checked against the definitions (0 when skipped). */
  readonly featuresChecked: number;
}

function failed(live: LiveVersion, what: string, cause?: unknown): KilnError {
  return new KilnError('MODEL_VALIDATION_FAILED', `${live.name} version ${live.version} (${live.ref}) failed validation and was not put live: ${what}`, {
    path: [live.name, String(live.version)], ...(cause === undefined ? {} : { cause }),
  });
}

/** `a` and `b` agree within SMOKE_TOLERANCE relative to the larger. */
function close(a: number, b: number): boolean {
  return a === b || Math.abs(a - b) <= SMOKE_TOLERANCE * Math.max(Math.abs(a), Math.abs(b));
}

/**
 * Validates a loaded version: the signature against `definitions` (skipped when not given or when the
 * model takes no features), then the smoke sample. Throws MODEL_VALIDATION_FAILED.
 */
export function validateLive(live: LiveVersion, opts: { readonly definitions?: readonly ServedFeature[] } = {}): ValidationResult {
  const warnings: string[] = [];
  const sig = live.info.signature;
  const bundleSig = live.kind === 'gbdt' || live.kind === 'fused' ? live.bundle.signature : live.kind === 'sequence' ? live.model.bundle.signature : live.scorer.bundle.signature;
  const bundleNames = bundleSig.features.map((f) => f.name).join(', ');
  if (sig.features.map((f) => f.name).join(', ') !== bundleNames) {
    throw failed(live, `the registry's signature (${sig.features.map((f) => f.name).join(', ')}) and the bundle's (${bundleNames}) differ`);
  }
  // A feature input has a definition version; a table column's is 'column:<TYPE>' (or none). A fused
  // version's are what it reads: its lastK input in place of its embedding columns.
  const features = requestInputs(live).filter((f) => f.version && !f.version.startsWith('column:'));
  if (opts.definitions && features.length) {
    try {
      checkSignature({ ...live.info, signature: { ...sig, features } }, [...opts.definitions]);
    } catch (e) {
      if (!isKilnError(e, 'SIGNATURE_MISMATCH')) throw e;
      throw failed(live, `its inputs do not match the features the online store serves: ${e.message.slice(e.message.indexOf('('))}`, e);
    }
  }
  const featuresChecked = opts.definitions ? features.length : 0;
  const fail = (what: string, cause?: unknown): KilnError => failed(live, what, cause);
  if (live.kind === 'sequence') {
    return { warnings, smokeRows: validateSequence(live.input, live.model, opts.definitions, fail), featuresChecked };
  }
  if (live.kind === 'onnx') {
    checkEncodingServed(live.input, live.scorer.encoding, opts.definitions, fail);
    const smoke = live.smoke;
    if (!smoke) throw fail('its smoke rows were not scored: an ONNX version is validated once opened with openLiveVersion, which scores them through onnxruntime');
    if ('error' in smoke) throw fail(`its synthetic smoke rows do not score (${smoke.error.message})`, smoke.error);
    checkSmokeScores(smoke.one, smoke.many, fail);
    warnings.push(`${live.name} version ${live.version} is an imported ONNX model: it has no cutoff, so it declines nothing (declined is always false) and gives no reason codes`);
    return { warnings, smokeRows: smoke.one.length, featuresChecked };
  }
  const encoderRows = live.kind === 'fused' ? validateFused(live, opts.definitions, fail) : 0;
  const smoke = live.bundle.smoke;
  if (!smoke) {
    warnings.push(`${live.name} version ${live.version} has no smoke sample (trained before kiln stored one): its scores were not re-checked; retrain to get one`);
    return { warnings, smokeRows: encoderRows, featuresChecked };
  }
  let scored: Float64Array;
  try {
    scored = live.bundle.score(smoke.rows).probability;
  } catch (e) {
    throw failed(live, `its smoke sample does not score (${(e as Error).message})`, e);
  }
  for (let i = 0; i < smoke.rows.length; i++) {
    const want = smoke.probability[i]!;
    const got = scored[i]!;
    if (!close(want, got)) {
      throw failed(live, `smoke row ${i} of ${smoke.rows.length} scores ${got}, but the version gave it ${want} at training time (tolerance ${SMOKE_TOLERANCE} relative): the bundle's trees, categories or scorer changed since training. Row: ${JSON.stringify(smoke.rows[i])}`);
    }
  }
  return { warnings, smokeRows: encoderRows + smoke.rows.length, featuresChecked };
}
