/**
 * Loading one registered version for serving: resolve the reference through the registry, load and
 * check its bundle, and freeze it as a `LiveVersion`. The bundle's `format` says the kind: a
 * `kiln.model@1` bundle (or a pre-bundle model.json, `versionBundle`) is a GBDT version; a
 * `kiln.sequence-model@1` bundle is a sequence version, loaded as a `SequenceModel` (format and checksum
 * checked, parameters copied into the model's own arena). `openLiveVersion` does the same without
 * holding the event loop for the whole load: the file is read asynchronously and the parse, the checks
 * (schema, checksum) and the building of the trees or the network each run in their own turn of the
 * loop, so requests in flight are stalled by one step at most, never by the whole load.
 */
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { KilnError, type KilnErrorCode } from '../../core/errors.js';
import { explainPlan } from '../../gbdt/index.js';
import { BUNDLE_FORMAT, ModelBundle, SEQUENCE_BUNDLE_FORMAT, SequenceModel, parseBundle, sequenceBundleFrom, versionBundle } from '../../pipelines/index.js';
import type { ModelVersion } from '../../registry/index.js';
import type { Project } from '../../store/index.js';
import type { GbdtLiveVersion, LiveVersion, SequenceLiveVersion } from '../types.js';

function gbdtLive(ref: string, info: ModelVersion, bundle: ModelBundle): GbdtLiveVersion {
  return Object.freeze({ kind: 'gbdt', name: info.model, version: info.version, ref, info, bundle, loadedAt: new Date().toISOString() });
}

/** A sequence version: the bundle's SEQUENCE input must be the registry signature's. */
function sequenceLive(ref: string, info: ModelVersion, model: SequenceModel): SequenceLiveVersion {
  const input = model.bundle.input;
  const seq = info.signature.features.find((f) => f.type === 'SEQUENCE');
  if (!seq || seq.name !== input) {
    throw new KilnError('BUNDLE_INVALID', `${info.model} version ${info.version}: its sequence bundle reads '${input}', but the registry's signature ${seq ? `reads '${seq.name}'` : 'has no SEQUENCE input'}; the bundle file does not belong to this version`, { path: [info.artifactPath ?? info.model] });
  }
  return Object.freeze({ kind: 'sequence', name: info.model, version: info.version, ref, info, model, input, loadedAt: new Date().toISOString() });
}

function formatOf(obj: unknown): unknown {
  return obj !== null && typeof obj === 'object' ? (obj as { format?: unknown }).format : undefined;
}

/** Loads the version a reference points at now ('credit@champion', 'credit@3', 'credit' = latest). */
export function loadLiveVersion(project: Project, ref: string): LiveVersion {
  const info = project.registry.resolve(ref);
  const path = info.artifactPath;
  if (path) {
    let obj: unknown = null;
    try { obj = JSON.parse(readFileSync(path, 'utf8')); } catch { /* versionBundle names the problem */ }
    if (formatOf(obj) === SEQUENCE_BUNDLE_FORMAT) return sequenceLive(ref, info, new SequenceModel(sequenceBundleFrom(obj, path)));
  }
  return gbdtLive(ref, info, versionBundle(info));
}

/**
 * Loads a version (`info`, as resolved from `ref`) in steps, yielding to the event loop between them.
 * Same checks and errors as `loadLiveVersion`; a pre-bundle version (model.json) loads in one step.
 */
export async function openLiveVersion(ref: string, info: ModelVersion): Promise<LiveVersion> {
  let bundle: ModelBundle | null = null;
  const path = info.artifactPath;
  if (path) {
    let text: string | null = null;
    try { text = await readFile(path, 'utf8'); } catch { /* versionBundle names the problem */ }
    let obj: unknown = null;
    if (text !== null) {
      await nextTurn();
      try { obj = JSON.parse(text); } catch { /* parseBundle names it */ }
      text = obj === null ? text : null;
    }
    if (formatOf(obj) === SEQUENCE_BUNDLE_FORMAT) {
      await nextTurn();
      const json = sequenceBundleFrom(obj, path);
      await nextTurn();
      return sequenceLive(ref, info, new SequenceModel(json));
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
  return gbdtLive(ref, info, bundle);
}

/** The GBDT bundle of a version; a sequence version is refused with `code`, saying that `what` supports GBDTs only. */
export function gbdtBundle(live: LiveVersion, what = 'this operation', code: KilnErrorCode = 'INVALID_ARGUMENT'): ModelBundle {
  if (live.kind === 'gbdt') return live.bundle;
  throw new KilnError(code, `${live.name} version ${live.version} is a sequence model (${SEQUENCE_BUNDLE_FORMAT}); ${what} supports GBDT versions (${BUNDLE_FORMAT}) only`, { path: [live.name, String(live.version)] });
}
