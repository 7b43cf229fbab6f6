/**
 * Loading one registered version for serving: resolve the reference through the registry, load and
 * check its bundle, and freeze it as a `LiveVersion`. The bundle's `format` says the kind: a
 * `kiln.model@1` bundle (or a pre-bundle model.json, `versionBundle`) is a GBDT version, or a fused
 * version when it carries an `encoder` (`FusedModel`: the encoder embeds the lastK input before the trees
 * score); a `kiln.sequence-model@1` bundle is a sequence version, loaded as a `SequenceModel` (format and
 * checksum checked, parameters copied into the model's own arena); a `kiln.onnx-model@1` bundle is an
 * imported ONNX version (`OnnxScorer`, ../onnx.ts). `openLiveVersion` does the same without holding the
 * event loop for the whole load: the file is read asynchronously and the parse, the checks (schema,
 * checksum) and the building of the trees or the network each run in their own turn of the loop, so
 * requests in flight are stalled by one step at most, never by the whole load; it opens an ONNX version's
 * session and scores its smoke rows. `loadLiveVersion` is synchronous: an ONNX version it loads opens its
 * session on first use and has no smoke scores (validateLive refuses it).
 */
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { KilnError, type KilnErrorCode } from '../../core/errors.js';
import { explainPlan } from '../../gbdt/index.js';
import { SequenceEncoding } from '../../nn/index.js';
import {
  BUNDLE_FORMAT, EmbeddingFiller, FusedModel, ModelBundle, ONNX_MODEL_FORMAT, SEQUENCE_BUNDLE_FORMAT, SequenceModel, parseBundle, parseOnnxModelBundle, sequenceBundleFrom, versionBundle,
  type OnnxModelBundleJson,
} from '../../pipelines/index.js';
import type { ModelSignature, ModelVersion } from '../../registry/index.js';
import type { Project } from '../../store/index.js';
import { fusedInputs } from '../fused.js';
import { onnxSmoke, OnnxScorer, type OnnxSmoke } from '../onnx.js';
import type { FusedLiveVersion, GbdtLiveVersion, LiveVersion, OnnxLiveVersion, SequenceLiveVersion } from '../types.js';
import { ShapThread } from '../shap-thread.js';

/** The SEQUENCE input of a signature, which must be `input` (the bundle's). */
function sequenceInput(info: ModelVersion, input: string, what: string): string {
  const seq = info.signature.features.find((f) => f.type === 'SEQUENCE');
  if (!seq || seq.name !== input) {
    throw new KilnError('BUNDLE_INVALID', `${info.model} version ${info.version}: its ${what} bundle reads '${input}', but the registry's signature ${seq ? `reads '${seq.name}'` : 'has no SEQUENCE input'}; the bundle file does not belong to this version`, { path: [info.artifactPath ?? info.model] });
  }
  return input;
}

/** A GBDT version, or a fused version when its bundle has an encoder. */
function gbdtLive(project: Project | undefined, ref: string, info: ModelVersion, bundle: ModelBundle, shap?: ShapThread | null): GbdtLiveVersion | FusedLiveVersion {
  const loadedAt = new Date().toISOString();
  if (!bundle.json.encoder) {
    // A version that reads embedding spaces opens the versions it was trained with, and no other.
    let embeddings: EmbeddingFiller | undefined;
    if (bundle.json.embeddings?.length) {
      if (!project) throw new KilnError('BUNDLE_INVALID', `model ${info.model} version ${info.version} reads embedding spaces (${bundle.json.embeddings.map((e) => `${e.space}@${e.version}`).join(', ')}); it is served from its project, which holds their versions`);
      embeddings = EmbeddingFiller.open(project, bundle.json.embeddings, `model ${info.model} version ${info.version}`);
    }
    return Object.freeze({ kind: 'gbdt', name: info.model, version: info.version, ref, info, bundle, loadedAt, ...(embeddings ? { embeddings } : {}), ...(shap ? { shap } : {}) });
  }
  const fused = new FusedModel(bundle);
  return Object.freeze({ kind: 'fused', name: info.model, version: info.version, ref, info, bundle, fused, input: fused.input, loadedAt });
}

/** A sequence version: the bundle's SEQUENCE input must be the registry signature's. */
function sequenceLive(ref: string, info: ModelVersion, model: SequenceModel): SequenceLiveVersion {
  const input = sequenceInput(info, model.bundle.input, 'sequence');
  return Object.freeze({ kind: 'sequence', name: info.model, version: info.version, ref, info, model, input, loadedAt: new Date().toISOString() });
}

function onnxLive(ref: string, info: ModelVersion, scorer: OnnxScorer, smoke: OnnxSmoke | null): OnnxLiveVersion {
  const input = sequenceInput(info, scorer.bundle.input, 'ONNX');
  return Object.freeze({ kind: 'onnx', name: info.model, version: info.version, ref, info, scorer, input, smoke, loadedAt: new Date().toISOString() });
}

function formatOf(obj: unknown): unknown {
  return obj !== null && typeof obj === 'object' ? (obj as { format?: unknown }).format : undefined;
}

/** Loads the version a reference points at now ('credit@champion', 'credit@3', 'credit' = latest). */
export function loadLiveVersion(project: Project, ref: string): LiveVersion {
  const info = project.registry.resolve(ref);
  const path = info.artifactPath;
  if (path) {
    let text = '';
    let obj: unknown = null;
    try { text = readFileSync(path, 'utf8'); obj = JSON.parse(text); } catch { /* versionBundle names the problem */ }
    if (formatOf(obj) === SEQUENCE_BUNDLE_FORMAT) return sequenceLive(ref, info, new SequenceModel(sequenceBundleFrom(obj, path)));
    if (formatOf(obj) === ONNX_MODEL_FORMAT) {
      const bundle = parseOnnxModelBundle(text, path);
      return onnxLive(ref, info, new OnnxScorer(bundle, SequenceEncoding.fromJSON(bundle.encoding)), null);
    }
  }
  return gbdtLive(project, ref, info, versionBundle(info));
}

/**
 * Loads a version (`info`, as resolved from `ref`) in steps, yielding to the event loop between them.
 * Same checks and errors as `loadLiveVersion`; a pre-bundle version (model.json) loads in one step.
 */
export async function openLiveVersion(ref: string, info: ModelVersion, project?: Project, opts: { shapThread?: boolean } = {}): Promise<LiveVersion> {
  let bundle: ModelBundle | null = null;
  const path = info.artifactPath;
  if (path) {
    let text: string | null = null;
    try { text = await readFile(path, 'utf8'); } catch { /* versionBundle names the problem */ }
    let obj: unknown = null;
    if (text !== null) {
      await nextTurn();
      try { obj = JSON.parse(text); } catch { /* parseBundle names it */ }
    }
    if (formatOf(obj) === SEQUENCE_BUNDLE_FORMAT) {
      await nextTurn();
      const json = sequenceBundleFrom(obj, path);
      await nextTurn();
      return sequenceLive(ref, info, new SequenceModel(json));
    }
    if (formatOf(obj) === ONNX_MODEL_FORMAT) {
      await nextTurn();
      const json: OnnxModelBundleJson = parseOnnxModelBundle(text!, path);
      sequenceInput(info, json.input, 'ONNX');
      const scorer = await OnnxScorer.open(json);
      return onnxLive(ref, info, scorer, await onnxSmoke(scorer));
    }
    if (formatOf(obj) === BUNDLE_FORMAT) {
      await nextTurn();
      const json = parseBundle(obj, path);
      await nextTurn();
      bundle = new ModelBundle(json, path);
    }
  }
  bundle ??= versionBundle(info);
  await nextTurn();
  // TreeSHAP's tables, built now so that the first request with reasons does not pay for them.
  explainPlan(bundle.booster);
  // A served GBDT's reasons on a thread of its own (none for a fused version, or when it cannot start).
  const shap = opts.shapThread && !bundle.json.encoder && bundle.json.reasons ? ShapThread.open(bundle.booster) : null;
  try {
    return gbdtLive(project, ref, info, bundle, shap);
  } catch (e) {
    shap?.close();
    throw e;
  }
}

/** What a version reads per row, by name and type: its signature, but a fused version's lastK input in place of its embedding columns. */
export function requestInputs(live: LiveVersion): ModelSignature['features'] {
  if (live.kind === 'gbdt' && live.embeddings) {
    // The embedding columns are made from what the request gives: an entity id (type ENTITY; a request by
    // entity id fills it, it is never read from the online store) or a lastK input (from the online store).
    const columns = new Set(live.embeddings.columns);
    return [
      ...live.info.signature.features.filter((f) => !columns.has(f.name)),
      ...live.embeddings.requestInputs.map((r) => ({ name: r.name, type: r.kind === 'id' ? 'ENTITY' : 'SEQUENCE', version: null })),
    ];
  }
  return live.kind === 'fused' ? fusedInputs(live) : live.info.signature.features;
}

/** The version no longer serves (swapped out, or failed validation): an ONNX version releases its session once idle. */
export async function retireLive(live: LiveVersion): Promise<void> {
  if (live.kind === 'onnx') await live.scorer.retire();
  if (live.kind === 'gbdt') live.shap?.close();
}

const KIND_TEXT: Readonly<Record<LiveVersion['kind'], string>> = {
  gbdt: `a GBDT (${BUNDLE_FORMAT})`,
  sequence: `a sequence model (${SEQUENCE_BUNDLE_FORMAT})`,
  fused: `a fused model (a GBDT over a sequence encoder's embedding, ${BUNDLE_FORMAT} with an encoder)`,
  onnx: `an imported ONNX model (${ONNX_MODEL_FORMAT})`,
};

/** What a version is, in words ('a sequence model (kiln.sequence-model@1)'). */
export function kindText(live: LiveVersion): string {
  return KIND_TEXT[live.kind];
}

/** The GBDT bundle of a version; any other kind is refused with `code`, saying that `what` supports plain GBDTs only. */
export function gbdtBundle(live: LiveVersion, what = 'this operation', code: KilnErrorCode = 'INVALID_ARGUMENT'): ModelBundle {
  if (live.kind === 'gbdt') return live.bundle;
  throw new KilnError(code, `${live.name} version ${live.version} is ${kindText(live)}; ${what} supports GBDT versions (${BUNDLE_FORMAT} without an encoder) only`, { path: [live.name, String(live.version)] });
}
