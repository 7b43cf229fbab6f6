/**
 * Loading one registered version for serving: resolve the reference through the registry, load and
 * check its bundle (`versionBundle`), and freeze it as a `LiveVersion`. `openLiveVersion` does the same
 * without holding the event loop for the whole load: the file is read asynchronously and the parse, the
 * checks (schema, checksum) and the building of the trees each run in their own turn of the loop, so
 * requests in flight are stalled by one step at most, never by the whole load.
 */
import { readFile } from 'node:fs/promises';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { explainPlan } from '../../gbdt/index.js';
import { BUNDLE_FORMAT, ModelBundle, parseBundle, versionBundle } from '../../pipelines/index.js';
import type { ModelVersion } from '../../registry/index.js';
import type { Project } from '../../store/index.js';
import type { LiveVersion } from '../types.js';

/** Loads the version a reference points at now ('credit@champion', 'credit@3', 'credit' = latest). */
export function loadLiveVersion(project: Project, ref: string): LiveVersion {
  const info = project.registry.resolve(ref);
  const bundle = versionBundle(info);
  return Object.freeze({ name: info.model, version: info.version, ref, info, bundle, loadedAt: new Date().toISOString() });
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
    if (obj !== null && typeof obj === 'object' && (obj as { format?: unknown }).format === BUNDLE_FORMAT) {
      await nextTurn();
      const json = parseBundle(obj, path);
      await nextTurn();
      bundle = new ModelBundle(json, path);
    }
  }
  bundle ??= versionBundle(info);
  await nextTurn();
  explainPlan(bundle.booster); // TreeSHAP's tables, built now so that the first request with reasons does not pay for them
  return Object.freeze({ name: info.model, version: info.version, ref, info, bundle, loadedAt: new Date().toISOString() });
}
