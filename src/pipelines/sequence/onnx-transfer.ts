/**
 * ONNX both ways for sequence models (`kiln models export --onnx`, `kiln models import FILE.onnx`).
 *
 * Export: a registered `kiln.sequence-model@1` version -> the ONNX graph of its whole network
 * (src/nn/onnx/seqnet.ts: inputs num, len, c.<field>, gap, tab; outputs logits, embedding), written
 * atomically; a registered `kiln.onnx-model@1` version writes the ONNX bytes it was imported from.
 * A GBDT version is refused (its bundle is exported without --onnx).
 *
 * Import: an ONNX model trained elsewhere, with kiln's input names, becomes a new version. The kiln
 * sequence model named by `encodingFrom` gives the encoding and tabular columns the inputs are built
 * with (and the lastK feature, its tabular features and score scaling for the signature); the model's
 * inputs are matched against them and every difference (missing / extra inputs, types, shapes) is one
 * SIGNATURE_MISMATCH. Then onnxruntime loads it and scores a smoke batch (an empty history, and a
 * full one of zeros), which must give finite logits, before anything is written. The bundle is kept in
 * `.kiln/imported/<sha256>.kiln.json`; the version's signature carries the kiln features plus the ONNX
 * input signature (`signature.onnx`), so `kiln models show` lists both; no run is made up for it.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { KilnError } from '../../core/errors.js';
import { exportSeqNet, onnxSignature, SequenceEncoding, type OnnxSignature, type StateDict } from '../../nn/index.js';
import type { ModelSignature, ModelVersion } from '../../registry/index.js';
import { fsError, type Project } from '../../store/index.js';
import { kilnVersion } from '../bundle.js';
import { writeAtomically } from '../transfer.js';
import { isSequenceBundle, parseSequenceBundle, type SequenceBundleJson } from './bundle.js';
import { emptyBatch, inputProblems, isOnnxModelBundle, kilnOnnxInputs, ONNX_MODEL_FORMAT, OnnxSequenceModel, onnxModelBundleText, outputProblems, parseOnnxModelBundle, type OnnxModelBundleJson } from './onnx-model.js';
import { tabularWidth } from './prepare.js';

/** A version's signature with the ONNX input signature of an imported model. */
export type OnnxModelSignature = ModelSignature & { onnx: { inputs: OnnxSignature['inputs']; outputs: OnnxSignature['outputs']; logit: string; opset: number; producer: string } };


function readVersionBundle(version: ModelVersion): SequenceBundleJson | OnnxModelBundleJson | { format: string } {
  const path = version.artifactPath;
  if (!path || !existsSync(path)) throw new KilnError('MODEL_NOT_FOUND', `${version.model} version ${version.version}: its model bundle ${path ?? '(none recorded)'} is missing from the artifact store`, { path: [path ?? version.model] });
  const text = readFileSync(path, 'utf8');
  let j: { format?: unknown };
  try { j = JSON.parse(text) as { format?: unknown }; } catch (e) { throw new KilnError('BUNDLE_INVALID', `${path} is not JSON: ${(e as Error).message}`, { cause: e }); }
  if (isSequenceBundle(j)) return parseSequenceBundle(text, path);
  if (isOnnxModelBundle(j)) return parseOnnxModelBundle(text, path);
  return { format: String(j.format ?? 'kiln.gbdt@1') };
}

/** The network's parameters as a StateDict (name -> values, shape). */
export function stateDictOf(bundle: SequenceBundleJson): StateDict {
  const values: Record<string, Float32Array> = {};
  const shapes: Record<string, number[]> = {};
  for (const p of bundle.params) {
    const b = Buffer.from(p.data, 'base64');
    values[p.name] = new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
    shapes[p.name] = [...p.shape];
  }
  return { values, shapes };
}

/** The ONNX bytes of a sequence bundle's network. */
export function sequenceBundleOnnx(bundle: SequenceBundleJson): Uint8Array {
  const p = bundle.provenance;
  return exportSeqNet(bundle.net, stateDictOf(bundle), {
    name: `kiln_${bundle.net.encoder.type}`, producerVersion: kilnVersion(),
    docString: `kiln sequence model ${p.model} version ${p.version} (run ${p.runId}), lastK feature '${bundle.input}', ${bundle.encoding.steps} steps`,
  });
}

export interface OnnxExportResult {
  version: ModelVersion;
  path: string;
  sha256: string;
  bytes: number;
  signature: OnnxSignature;
}

/** Writes the ONNX model of sequence version `ref` to `out`. */
export function exportSequenceOnnx(project: Project, ref: string, out: string): OnnxExportResult {
  const version = project.registry.resolve(ref);
  const bundle = readVersionBundle(version);
  let bytes: Uint8Array;
  if (isSequenceBundle(bundle)) bytes = sequenceBundleOnnx(bundle);
  else if (isOnnxModelBundle(bundle)) bytes = new Uint8Array(Buffer.from(bundle.onnx.model, 'base64'));
  else throw new KilnError('USAGE', `${version.model} version ${version.version} is a ${bundle.format} model, not a sequence model: only sequence models export to ONNX; export its bundle with 'kiln models export ${version.model}@${version.version}' (without --onnx)`, { path: ['onnx'] });
  const path = resolve(out);
  writeAtomically(path, bytes, 'the exported ONNX model');
  return { version, path, sha256: createHash('sha256').update(bytes).digest('hex'), bytes: bytes.length, signature: onnxSignature(bytes) };
}

export interface OnnxImportOptions {
  /** The model name to register under. */
  name: string;
  /** The kiln sequence model (NAME, NAME@VERSION or NAME@ALIAS) whose encoding builds the inputs. */
  encodingFrom: string;
  /** The default head's logit: output name and column (default logits, column 0). */
  output?: { name: string; index: number };
  alias?: string;
  reason?: string;
}

export interface OnnxImportResult {
  version: ModelVersion;
  bundle: OnnxModelBundleJson;
  path: string;
  sha256: string;
  previousAliasVersion: number | null;
}

/** 'logits' -> { logits, 0 }; 'out:2' -> { out, 2 }. */
export function parseOutputRef(text: string): { name: string; index: number } {
  const m = /^(.+?)(?::(\d+))?$/.exec(text.trim());
  if (!m || !m[1]) throw new KilnError('USAGE', `--output '${text}': expected NAME or NAME:COLUMN, e.g. logits:0`, { path: ['output'] });
  return { name: m[1], index: m[2] === undefined ? 0 : Number(m[2]) };
}

/** Registers the ONNX model in `file` as a new version of `opts.name` (see the header). */
export async function importOnnxModel(project: Project, file: string, opts: OnnxImportOptions): Promise<OnnxImportResult> {
  if (opts.alias !== undefined && !opts.reason?.trim()) throw new KilnError('USAGE', `--alias ${opts.alias} needs --reason "..."; an alias change is kept in the audit log with why`, { path: ['reason'] });
  const src = resolve(file);
  let bytes: Buffer;
  try { bytes = readFileSync(src); } catch (e) { throw fsError(e, src, 'the ONNX model'); }
  const sig = onnxSignature(new Uint8Array(bytes));
  const from = project.registry.resolve(opts.encodingFrom);
  const base = readVersionBundle(from);
  if (!isSequenceBundle(base) && !isOnnxModelBundle(base)) {
    throw new KilnError('USAGE', `--encoding-from ${from.model}@${from.version} is a ${base.format} model; name a kiln sequence model, whose encoding builds the ONNX model's inputs`, { path: ['encoding-from'] });
  }
  const encoding = SequenceEncoding.fromJSON(base.encoding);
  const output = opts.output ?? { name: 'logits', index: 0 };
  const problems = [...inputProblems(sig, kilnOnnxInputs(encoding, base.tabular)), ...outputProblems(sig, output)];
  if (problems.length) {
    throw new KilnError('SIGNATURE_MISMATCH', `${basename(src)} does not take the inputs kiln builds with the encoding of ${from.model}@${from.version} (${problems.length} problem${problems.length > 1 ? 's' : ''}):\n${problems.map((p) => `  - ${p}`).join('\n')}\nkiln builds: ${kilnOnnxInputs(encoding, base.tabular).map((k) => `${k.name} ${k.types[0]} [${k.dims.join(', ')}]${k.required ? '' : ' (optional)'}`).join(', ')}`, { details: problems });
  }
  const takesTab = sig.inputs.some((s) => s.name === 'tab');
  const emb = sig.outputs.find((s) => s.name === 'embedding' && s.type === 'float32' && s.dims?.length === 2);
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  const kilnSig = base.signature;
  const onnxSig: OnnxModelSignature['onnx'] = { inputs: sig.inputs, outputs: sig.outputs, logit: `${output.name}:${output.index}`, opset: sig.opset, producer: sig.producer };
  const signature: OnnxModelSignature = {
    features: takesTab ? kilnSig.features : kilnSig.features.filter((f) => f.name === base.input),
    ...(kilnSig.output ? { output: kilnSig.output } : {}), onnx: onnxSig,
  };
  const reg = project.registry;
  const next = (reg.listModels().find((m) => m.name === opts.name)?.latestVersion ?? 0) + 1;
  const body: Omit<OnnxModelBundleJson, 'checksum'> = {
    format: ONNX_MODEL_FORMAT,
    provenance: { model: opts.name, version: next, createdAt: new Date().toISOString(), kilnVersion: kilnVersion(), source: { file: src, sha256, producer: sig.producer }, encodingFrom: { model: from.model, version: from.version } },
    signature, input: base.input, encoding: base.encoding, tabular: takesTab ? base.tabular : [],
    onnx: { signature: sig, output, embedding: emb ? emb.name : null, model: bytes.toString('base64') },
    scaling: base.scaling,
  };
  await smoke(body, src);
  const text = onnxModelBundleText(body);
  const dir = join(project.paths.dataDir, 'imported');
  const path = join(dir, `${createHash('sha256').update(text).digest('hex')}.kiln.json`);
  try { mkdirSync(dir, { recursive: true }); } catch (e) { throw fsError(e, dir, 'the imported models directory'); }
  writeAtomically(path, text, 'the imported ONNX model bundle');
  try {
    return reg.transaction(() => {
      const version = reg.registerVersion(opts.name, {
        signature, runId: null, artifactPath: path, description: null,
        reason: `imported ONNX model ${src} (sha256 ${sha256}${sig.producer ? `, from ${sig.producer}` : ''}), inputs built with the encoding of ${from.model} version ${from.version}`,
      });
      if (version.version !== next) throw new KilnError('STORE_BUSY', `another version of ${opts.name} was registered during the import; run it again`);
      let previousAliasVersion: number | null = null;
      if (opts.alias !== undefined) previousAliasVersion = reg.setAlias(opts.name, opts.alias, version.version, { reason: opts.reason! }).previousVersion;
      return { version: reg.getVersion(opts.name, version.version), bundle: JSON.parse(text) as OnnxModelBundleJson, path, sha256, previousAliasVersion };
    });
  } catch (e) {
    rmSync(path, { force: true });
    throw e;
  }
}

/** onnxruntime loads the model and scores an empty and a full history to finite logits. */
async function smoke(body: Omit<OnnxModelBundleJson, 'checksum'>, src: string): Promise<void> {
  const model = await OnnxSequenceModel.create(body as OnnxModelBundleJson);
  try {
    const b = emptyBatch(model.encoding, 2);
    b.lengths[1] = b.steps;
    const tab = new Float32Array(2 * tabularWidth(body.tabular));
    const scores = await model.scoreBatch(b, tab);
    const bad = scores.findIndex((s) => !Number.isFinite(s.raw));
    if (bad >= 0) throw new KilnError('MODEL_VALIDATION_FAILED', `${basename(src)} gives a non-finite logit (${scores[bad]!.raw}) for ${bad === 0 ? 'an empty history' : 'a full history of zeros'}; it cannot be registered`);
  } finally {
    await model.release();
  }
}
