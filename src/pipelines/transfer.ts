/**
 * `kiln models export` / `import`: a registered version's `kiln.model@1` bundle moved between projects.
 * Export writes the bundle (with its checksum); import checks it (format, checksum, consistency), keeps
 * a copy in the project (`.kiln/imported/<sha256>.kiln.json`) and registers it as a new version with the
 * bundle's signature. No run is made up for it: the version has no run, and the audit log records where
 * it came from (file, checksum, source model, version, run and kiln version).
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { KilnError } from '../core/errors.js';
import type { ModelVersion } from '../registry/index.js';
import { fsError, type Project } from '../store/index.js';
import { parseBundle, ModelBundle } from './bundle.js';
import { versionBundle } from './load-model.js';
import { isSequenceBundle, parseSequenceBundle, type SequenceBundleJson } from './sequence/bundle.js';

export interface ExportResult {
  version: ModelVersion;
  path: string;
  /** The bundle's own checksum (of its content). */
  checksum: string;
  /** SHA-256 of the file written. */
  sha256: string;
  bytes: number;
}

/** Writes the whole file or nothing: a temporary file beside it, renamed over it. */
export function writeAtomically(path: string, data: string | Uint8Array, what: string): void {
  const tmp = `${path}.tmp-${process.pid}`;
  try {
    writeFileSync(tmp, data);
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw fsError(e, path, what);
  }
}

/** Writes the bundle of `ref` ('credit@champion', 'credit@3', 'credit') to `out`. */
export function exportModel(project: Project, ref: string, out: string): ExportResult {
  const version = project.registry.resolve(ref);
  const seq = version.artifactPath ? sequenceBundleAt(version.artifactPath) : null;
  if (seq) {
    const path = resolve(out);
    writeAtomically(path, seq.bytes, 'the exported model bundle');
    return { version, path, checksum: seq.json.checksum ?? '', sha256: createHash('sha256').update(seq.bytes).digest('hex'), bytes: seq.bytes.length };
  }
  const bundle = versionBundle(version);
  // A bundle file is copied byte for byte; a pre-bundle version is written as the bundle it loads as.
  const original = version.artifactPath ? readFileSync(version.artifactPath) : null;
  const text = original && isBundleText(original) ? original : Buffer.from(bundle.toText(), 'utf8');
  const path = resolve(out);
  writeAtomically(path, text, 'the exported model bundle');
  return { version, path, checksum: bundle.checksum, sha256: createHash('sha256').update(text).digest('hex'), bytes: text.length };
}

/** The sequence-model bundle at `path` (checked), or null when the file is another kind. */
function sequenceBundleAt(path: string): { bytes: Buffer; json: SequenceBundleJson } | null {
  const bytes = readFileSync(path);
  return sequenceBundleIn(bytes, path);
}

function sequenceBundleIn(bytes: Buffer, where: string): { bytes: Buffer; json: SequenceBundleJson } | null {
  let j: unknown;
  try { j = JSON.parse(bytes.toString('utf8')); } catch { return null; }
  return isSequenceBundle(j) ? { bytes, json: parseSequenceBundle(bytes.toString('utf8'), where) } : null;
}

function isBundleText(bytes: Buffer): boolean {
  try {
    parseBundle(bytes);
    return true;
  } catch {
    return false;
  }
}

export interface ImportOptions {
  /** Register under this model name (default: the name in the bundle). */
  name?: string;
  /** Point this alias at the new version (needs `reason`). */
  alias?: string;
  reason?: string;
}

export interface ImportResult {
  version: ModelVersion;
  /** The GBDT bundle; null for a sequence model's bundle. */
  bundle: ModelBundle | null;
  /** Where the bundle says it comes from. */
  provenance: { model: string; version: number; runId: string | null; kilnVersion: string; createdAt: string };
  /** Where the project keeps its copy of the bundle. */
  path: string;
  sha256: string;
  previousAliasVersion: number | null;
}

/**
 * Registers the bundle in `file` as a new version of `opts.name` (default: the bundle's model name),
 * optionally pointing an alias at it, all in one transaction. A corrupt file is BUNDLE_INVALID, one
 * written by a newer kiln BUNDLE_TOO_NEW; nothing is registered then.
 */
export function importModel(project: Project, file: string, opts: ImportOptions = {}): ImportResult {
  const src = resolve(file);
  let bytes: Buffer;
  try {
    bytes = readFileSync(src);
  } catch (e) {
    throw fsError(e, src, 'the model bundle');
  }
  const seq = sequenceBundleIn(bytes, src);
  const bundle = seq ? null : new ModelBundle(parseBundle(bytes, src), src);
  const signature = seq ? seq.json.signature : bundle!.signature;
  const p = seq ? { ...seq.json.provenance, description: null } : bundle!.provenance;
  if (opts.alias !== undefined && !opts.reason?.trim()) {
    throw new KilnError('USAGE', `--alias ${opts.alias} needs --reason "..."; an alias change is kept in the audit log with why`, { path: ['reason'] });
  }
  const name = opts.name ?? p.model;
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  const dir = join(project.paths.dataDir, 'imported');
  const path = join(dir, `${sha256}.kiln.json`);
  const existed = existsSync(path);
  try {
    mkdirSync(dir, { recursive: true });
  } catch (e) {
    throw fsError(e, dir, 'the imported models directory');
  }
  if (!existed) writeAtomically(path, bytes, 'the imported model bundle');
  const reg = project.registry;
  try {
    return reg.transaction(() => {
      const version = reg.registerVersion(name, {
        signature, runId: null, artifactPath: path, description: p.description,
        reason: `imported from ${src} (sha256 ${sha256}): ${p.model} version ${p.version}${p.runId ? `, run ${p.runId}` : ''}, written by kiln ${p.kilnVersion} at ${p.createdAt}`,
      });
      let previousAliasVersion: number | null = null;
      if (opts.alias !== undefined) previousAliasVersion = reg.setAlias(name, opts.alias, version.version, { reason: opts.reason! }).previousVersion;
      return { version: reg.getVersion(name, version.version), bundle, provenance: { model: p.model, version: p.version, runId: p.runId, kilnVersion: p.kilnVersion, createdAt: p.createdAt }, path, sha256, previousAliasVersion };
    });
  } catch (e) {
    if (!existed) rmSync(path, { force: true });
    throw e;
  }
}
