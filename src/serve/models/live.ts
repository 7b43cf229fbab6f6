/**
 * Loading one registered version for serving: resolve the reference through the registry, load and
 * check its bundle (`versionBundle`), and freeze it as a `LiveVersion`.
 */
import { versionBundle } from '../../pipelines/index.js';
import type { Project } from '../../store/index.js';
import type { LiveVersion } from '../types.js';

/** Loads the version a reference points at now ('credit@champion', 'credit@3', 'credit' = latest). */
export function loadLiveVersion(project: Project, ref: string): LiveVersion {
  const info = project.registry.resolve(ref);
  const bundle = versionBundle(info);
  return Object.freeze({ name: info.model, version: info.version, ref, info, bundle, loadedAt: new Date().toISOString() });
}
