/**
 * An ONNX sequence model trained elsewhere (e.g. PyTorch), registered in kiln (`kiln.onnx-model@1`), and
 * its scorer `OnnxSequenceModel`.
 *
 * The bundle (JSON) holds the ONNX bytes (base64), the ONNX input/output signature (`onnxSignature`),
 * the frozen SequenceEncoding and tabular columns it expects, copied from the kiln sequence model named
 * at import so that inputs are built exactly as for that model, which output (and column) is the default
 * head's logit, and an optional `embedding` output. A sha256 checksum over the rest refuses a damaged file.
 *
 * Inputs are matched by name and shape against what kiln builds (`kilnOnnxInputs`), the names of
 * src/nn/onnx/seqnet.ts: `num` float32 [batch, T, F], `len` int64|int32 [batch], `c.<field>` int64|int32
 * [batch, T] per categorical field (all required), and optionally `gap` float32 [batch, T] (seconds since
 * the previous event) and `tab` float32 [batch, Ft] (the joint model's tabular inputs). The batch axis must
 * be dynamic; T and F may be symbolic or must equal the encoding's. Any other input is refused.
 *
 * Scoring is async (onnxruntime-node's run is): each call encodes its rows into fresh arrays (no shared
 * buffers, so concurrent calls are safe), runs the session once per batch of up to 256 rows, and reads
 * raw = the logit, pd = sigmoid(raw) (no calibrator: the model was fitted elsewhere).
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { KilnError } from '../../core/errors.js';
import { encodeRow, OnnxSession, SequenceEncoding, type Feed, type OnnxSignature, type SequenceBatch, type SequenceEncodingJson } from '../../nn/index.js';
import type { ModelSignature } from '../../registry/index.js';
import type { SequenceScore } from './bundle.js';
import { encodeTabular, tabularWidth, type TabularColumn } from './prepare.js';

export const ONNX_MODEL_FORMAT = 'kiln.onnx-model@1';

export interface OnnxModelBundleJson {
  format: typeof ONNX_MODEL_FORMAT;
  provenance: {
    model: string; version: number; createdAt: string; kilnVersion: string;
    /** The ONNX file imported, and its sha256. */
    source: { file: string; sha256: string; producer: string };
    /** The kiln sequence model whose encoding (and tabular columns) the inputs are built with. */
    encodingFrom: { model: string; version: number };
  };
  /** kiln features read (the lastK feature, and the tabular features when the model takes `tab`). */
  signature: ModelSignature;
  /** The lastK feature the encoding reads. */
  input: string;
  encoding: SequenceEncodingJson;
  /** Tabular columns of `tab` (empty when the model takes no `tab`). */
  tabular: TabularColumn[];
  onnx: {
    signature: OnnxSignature;
    /** The default head's logit: column `index` of output `name`. */
    output: { name: string; index: number };
    /** An output [batch, D] returned as the embedding, or null. */
    embedding: string | null;
    /** The model bytes, base64. */
    model: string;
  };
  scaling: { basePoints: number; baseOdds: number; pdo: number };
  checksum?: string;
}

function checksumOf(b: Omit<OnnxModelBundleJson, 'checksum'>): string {
  return createHash('sha256').update(JSON.stringify({ ...b, checksum: undefined })).digest('hex');
}

export function onnxModelBundleText(b: Omit<OnnxModelBundleJson, 'checksum'>): string {
  return JSON.stringify({ ...b, checksum: checksumOf(b) });
}

export function isOnnxModelBundle(x: unknown): x is OnnxModelBundleJson {
  return typeof x === 'object' && x !== null && (x as { format?: unknown }).format === ONNX_MODEL_FORMAT;
}

export function parseOnnxModelBundle(text: string, where = 'the bundle'): OnnxModelBundleJson {
  let j: unknown;
  try { j = JSON.parse(text); } catch (e) { throw new KilnError('BUNDLE_INVALID', `${where} is not JSON: ${(e as Error).message}`, { cause: e }); }
  if (!isOnnxModelBundle(j)) throw new KilnError('BUNDLE_INVALID', `${where} is not a ${ONNX_MODEL_FORMAT} bundle (format ${String((j as { format?: unknown })?.format)})`);
  const { checksum, ...rest } = j;
  if (checksum !== undefined && checksum !== checksumOf(rest)) throw new KilnError('BUNDLE_INVALID', `${where} fails its checksum: the file was changed or damaged; import the ONNX model again`);
  return j;
}

export interface KilnInput {
  name: string;
  types: string[];
  dims: (number | 'batch')[];
  required: boolean;
}

/** The inputs kiln can build for an encoding and tabular columns (see the header). */
export function kilnOnnxInputs(enc: SequenceEncoding, tabular: readonly TabularColumn[]): KilnInput[] {
  const T = enc.steps;
  const ints = ['int64', 'int32'];
  const out: KilnInput[] = [
    { name: 'num', types: ['float32'], dims: ['batch', T, enc.width], required: true },
    { name: 'len', types: ints, dims: ['batch'], required: true },
    ...enc.categorical.map((c): KilnInput => ({ name: `c.${c.name}`, types: ints, dims: ['batch', T], required: true })),
    { name: 'gap', types: ['float32'], dims: ['batch', T], required: false },
  ];
  if (tabular.length) out.push({ name: 'tab', types: ['float32'], dims: ['batch', tabularWidth(tabular)], required: false });
  return out;
}

const show = (s: { dims: readonly (number | string | null)[] | null }): string => `[${(s.dims ?? ['...']).map((d) => d ?? '?').join(', ')}]`;

/** Every way the model's inputs differ from what kiln builds (empty when they match). */
export function inputProblems(sig: OnnxSignature, kiln: readonly KilnInput[]): string[] {
  const problems: string[] = [];
  const byName = new Map(kiln.map((k) => [k.name, k]));
  const extra = sig.inputs.filter((s) => !byName.has(s.name));
  const missing = kiln.filter((k) => k.required && !sig.inputs.some((s) => s.name === k.name));
  if (extra.length) problems.push(`extra input${extra.length > 1 ? 's' : ''} kiln does not build: ${extra.map((s) => `${s.name} ${s.type} ${show(s)}`).join(', ')}`);
  if (missing.length) problems.push(`missing input${missing.length > 1 ? 's' : ''}: ${missing.map((k) => `${k.name} ${k.types[0]} ${show(k)}`).join(', ')}`);
  for (const s of sig.inputs) {
    const k = byName.get(s.name);
    if (!k) continue;
    if (!k.types.includes(s.type)) problems.push(`input ${s.name} is ${s.type}, kiln builds ${k.types.join(' or ')}`);
    if (!s.dims) continue;
    if (s.dims.length !== k.dims.length) { problems.push(`input ${s.name} has rank ${s.dims.length} ${show(s)}, kiln builds ${show(k)}`); continue; }
    s.dims.forEach((d, i) => {
      const want = k.dims[i]!;
      if (want === 'batch' && typeof d === 'number') problems.push(`input ${s.name} has a fixed batch size ${d}; export it with a dynamic batch axis (dynamic_axes)`);
      if (typeof want === 'number' && typeof d === 'number' && d !== want) problems.push(`input ${s.name} dim ${i} is ${d}, kiln builds ${want} ${show(k)}`);
    });
  }
  return problems;
}

/** The logit output's problems: it must exist, be float32 [batch] or [batch, k] with index < k. */
export function outputProblems(sig: OnnxSignature, output: { name: string; index: number }): string[] {
  const o = sig.outputs.find((s) => s.name === output.name);
  if (!o) return [`the model has no output '${output.name}' (its outputs: ${sig.outputs.map((s) => `${s.name} ${show(s)}`).join(', ')}); name the logit output with --output NAME[:COLUMN]`];
  const p: string[] = [];
  if (o.type !== 'float32') p.push(`output ${o.name} is ${o.type}, not float32`);
  const dims = o.dims;
  if (dims && (dims.length < 1 || dims.length > 2)) p.push(`output ${o.name} ${show(o)} is not [batch] or [batch, k]`);
  const k = dims && dims.length === 2 ? dims[1] : dims && dims.length === 1 ? 1 : null;
  if (!Number.isInteger(output.index) || output.index < 0 || (typeof k === 'number' && output.index >= k)) p.push(`output ${o.name} ${show(o)} has no column ${output.index}`);
  return p;
}

/** One row to score: its lastK value, the as-of time and (joint models) scalar features by name. */
export interface OnnxScoreRow {
  events: readonly unknown[] | null | undefined;
  at: unknown;
  features?: Readonly<Record<string, unknown>>;
}

/** A loaded `kiln.onnx-model@1` bundle, scoring through onnxruntime-node. */
export class OnnxSequenceModel {
  readonly encoding: SequenceEncoding;
  private readonly inputs: Set<string>;
  private readonly tabWidth: number;

  private constructor(readonly bundle: OnnxModelBundleJson, readonly session: OnnxSession) {
    this.encoding = SequenceEncoding.fromJSON(bundle.encoding);
    this.inputs = new Set(bundle.onnx.signature.inputs.map((s) => s.name));
    this.tabWidth = this.inputs.has('tab') ? tabularWidth(bundle.tabular) : 0;
  }

  /** Builds the onnxruntime session (after checking the inputs against the encoding once more). */
  static async create(bundle: OnnxModelBundleJson, opts: { intraOpThreads?: number } = {}): Promise<OnnxSequenceModel> {
    const bytes = new Uint8Array(Buffer.from(bundle.onnx.model, 'base64'));
    const session = await OnnxSession.create(bytes, opts);
    const problems = [...inputProblems(session.signature, kilnOnnxInputs(SequenceEncoding.fromJSON(bundle.encoding), bundle.tabular)), ...outputProblems(session.signature, bundle.onnx.output)];
    if (problems.length) {
      await session.release();
      throw new KilnError('BUNDLE_INVALID', `${ONNX_MODEL_FORMAT} bundle of ${bundle.provenance.model}: the ONNX model does not fit its encoding:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    }
    return new OnnxSequenceModel(bundle, session);
  }

  static async load(path: string, opts: { intraOpThreads?: number } = {}): Promise<OnnxSequenceModel> {
    return OnnxSequenceModel.create(parseOnnxModelBundle(readFileSync(path, 'utf8'), path), opts);
  }

  /** Scores one entity (see SequenceModel.score). */
  async score(events: readonly unknown[] | null | undefined, at: unknown, features: Readonly<Record<string, unknown>> = {}): Promise<SequenceScore> {
    return (await this.scoreMany([{ events, at, features }]))[0]!;
  }

  /** Scores many rows, in batches of 256. */
  async scoreMany(rows: readonly OnnxScoreRow[]): Promise<SequenceScore[]> {
    const out: SequenceScore[] = [];
    const cols = this.bundle.tabular;
    for (let lo = 0; lo < rows.length; lo += 256) {
      const part = rows.slice(lo, lo + 256);
      const b = emptyBatch(this.encoding, part.length);
      const tab = new Float32Array(part.length * this.tabWidth);
      part.forEach((r, i) => {
        encodeRow(this.encoding, b, i, r.events, r.at);
        if (this.tabWidth) encodeTabular(cols, (k) => (r.features ?? {})[cols[k]!.name] as number | string | null ?? null, tab, i * this.tabWidth);
      });
      out.push(...(await this.scoreBatch(b, tab)));
    }
    return out;
  }

  /** Scores encoded tensors (`tab` [batch, Ft] when the model takes it). */
  async scoreBatch(b: SequenceBatch, tab: Float32Array | null = null): Promise<SequenceScore[]> {
    const n = b.batch;
    const T = b.steps;
    const feeds: Record<string, Feed> = { num: { data: b.numeric, dims: [n, T, b.width] }, len: { data: b.lengths, dims: [n] } };
    this.encoding.categorical.forEach((c, k) => { feeds[`c.${c.name}`] = { data: b.ids[k]!, dims: [n, T] }; });
    if (this.inputs.has('gap')) feeds.gap = { data: b.gaps, dims: [n, T] };
    if (this.inputs.has('tab')) {
      if (!tab || tab.length !== n * this.tabWidth) throw new KilnError('INVALID_ARGUMENT', `the model takes tabular inputs: ${n} rows of ${this.tabWidth} values expected, got ${tab?.length ?? 0} values`);
      feeds.tab = { data: tab, dims: [n, this.tabWidth] };
    }
    const res = await this.session.run(feeds);
    const { name, index } = this.bundle.onnx.output;
    const logits = res[name]!;
    const k = logits.dims.length === 2 ? logits.dims[1]! : 1;
    const emb = this.bundle.onnx.embedding ? res[this.bundle.onnx.embedding] ?? null : null;
    const D = emb ? emb.data.length / n : 0;
    const scores: SequenceScore[] = [];
    for (let i = 0; i < n; i++) {
      const raw = logits.data[i * k + index]!;
      scores.push({ pd: 1 / (1 + Math.exp(-raw)), raw, embedding: emb ? emb.data.slice(i * D, (i + 1) * D) : new Float32Array(0), tasks: {} });
    }
    return scores;
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}

/** Zeroed tensors for `n` rows in plain typed arrays (as allocBatch, without an arena). */
export function emptyBatch(enc: SequenceEncoding, n: number): SequenceBatch {
  const T = enc.steps;
  return {
    batch: n, steps: T, width: enc.width, ids: enc.categorical.map(() => new Int32Array(n * T)),
    numeric: new Float32Array(n * T * enc.width), lengths: new Int32Array(n), gaps: new Float32Array(n * T),
  };
}
