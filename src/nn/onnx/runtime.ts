/**
 * ONNX models run by onnxruntime-node, and their input signature.
 *
 * `onnxSignature` reads the decoded ModelProto: the graph inputs that are not initializers (older
 * exporters list weights as inputs too), the outputs, each with its element type and dims (a number,
 * a symbolic name such as 'batch', or null when unnamed) — what kiln registers as the model's input
 * signature. `OnnxSession.create` loads onnxruntime-node lazily (it is a native module: code that
 * never runs an ONNX model never loads it), with intra-op threads configurable (default 1, the
 * serving case: one request per core) and sequential execution. `run` checks every feed against the
 * signature first (names, element types, rank, fixed dims, one size per symbolic dim across inputs,
 * data length) so a mistake is reported by input name with what was expected (SIGNATURE_MISMATCH),
 * not as a runtime error deep in a kernel; outputs come back as Float32Array.
 */
import { didYouMean, KilnError } from '../../core/errors.js';
import type * as Ort from 'onnxruntime-node';
import { DataType, decodeModel, type ModelProto, type ValueInfoProto } from './model.js';

export interface OnnxTensorSpec {
  name: string;
  /** 'float32', 'int64', ... or e.g. 'sequence' for non-tensor values. */
  type: string;
  /** null when the model does not say the rank. */
  dims: (number | string | null)[] | null;
}

export interface OnnxSignature {
  inputs: OnnxTensorSpec[];
  outputs: OnnxTensorSpec[];
  irVersion: number;
  /** The default-domain opset. */
  opset: number;
  producer: string;
}

const TYPE_NAMES: Record<number, string> = {
  [DataType.FLOAT]: 'float32', [DataType.UINT8]: 'uint8', [DataType.INT8]: 'int8', [DataType.UINT16]: 'uint16', [DataType.INT16]: 'int16',
  [DataType.INT32]: 'int32', [DataType.INT64]: 'int64', [DataType.STRING]: 'string', [DataType.BOOL]: 'bool', [DataType.FLOAT16]: 'float16',
  [DataType.DOUBLE]: 'float64', [DataType.UINT32]: 'uint32', [DataType.UINT64]: 'uint64',
};

function spec(v: ValueInfoProto): OnnxTensorSpec {
  const t = v.type;
  if (!t || t.kind !== 'tensor' || !t.tensor) return { name: v.name, type: t ? t.kind : 'unknown', dims: null };
  const type = TYPE_NAMES[t.tensor.elemType] ?? `type ${t.tensor.elemType}`;
  const dims = t.tensor.shape ? t.tensor.shape.map((d) => d.value ?? d.param ?? null) : null;
  return { name: v.name, type, dims };
}

/** The signature of a model (bytes or decoded). */
export function onnxSignature(model: Uint8Array | ModelProto): OnnxSignature {
  const m = model instanceof Uint8Array ? decodeModel(model) : model;
  const inits = new Set(m.graph.initializer.map((t) => t.name));
  return {
    inputs: m.graph.input.filter((v) => !inits.has(v.name)).map(spec),
    outputs: m.graph.output.map(spec),
    irVersion: m.irVersion,
    opset: m.opsetImport.find((o) => o.domain === '' || o.domain === 'ai.onnx')?.version ?? 0,
    producer: [m.producerName, m.producerVersion].filter(Boolean).join(' '),
  };
}

export type FeedData = Float32Array | Int32Array | BigInt64Array | readonly number[];
export interface Feed { data: FeedData; dims: readonly number[] }
export interface OnnxOutput { data: Float32Array; dims: number[] }

const describe = (s: OnnxTensorSpec): string => `${s.type} [${(s.dims ?? ['...']).map((d) => d ?? '?').join(', ')}]`;

function typedFor(s: OnnxTensorSpec, data: FeedData): Float32Array | Int32Array | BigInt64Array | null {
  const plain = Array.isArray(data) || data instanceof Int32Array;
  const ints = (): boolean => (data as ArrayLike<number>).length === 0 || Array.prototype.every.call(data, (v: number) => Number.isSafeInteger(v));
  switch (s.type) {
    case 'float32': return data instanceof Float32Array ? data : Array.isArray(data) ? Float32Array.from(data) : null;
    case 'int32': return data instanceof Int32Array ? data : Array.isArray(data) && ints() ? Int32Array.from(data) : null;
    case 'int64': return data instanceof BigInt64Array ? data : plain && ints() ? BigInt64Array.from(Array.from(data as ArrayLike<number>, (v) => BigInt(v))) : null;
    default: return null;
  }
}

const kindOf = (d: FeedData): string => (Array.isArray(d) ? 'number[]' : d.constructor.name);

/** Checks feeds against a signature; returns typed arrays per input. SIGNATURE_MISMATCH names the input. */
export function checkFeeds(sig: OnnxSignature, feeds: Readonly<Record<string, Feed>>): Map<string, { data: Float32Array | Int32Array | BigInt64Array; dims: number[] }> {
  const bad = (msg: string, input: string): never => {
    throw new KilnError('SIGNATURE_MISMATCH', msg, { path: [input], details: { inputs: sig.inputs } });
  };
  const names = sig.inputs.map((s) => s.name);
  for (const k of Object.keys(feeds)) {
    if (!names.includes(k)) {
      const hint = didYouMean(k, names);
      bad(`the model has no input '${k}'${hint ? ` (did you mean '${hint}'?)` : ''}; its inputs are ${sig.inputs.map((s) => `${s.name}: ${describe(s)}`).join(', ')}`, k);
    }
  }
  const bound = new Map<string, { size: number; by: string }>();
  const out = new Map<string, { data: Float32Array | Int32Array | BigInt64Array; dims: number[] }>();
  for (const s of sig.inputs) {
    const f = feeds[s.name];
    if (!f) return bad(`input '${s.name}' is missing: expected ${describe(s)}`, s.name);
    const data = typedFor(s, f.data);
    if (!data) return bad(`input '${s.name}' expects ${describe(s)}, got ${kindOf(f.data)}${s.type === 'int64' ? ' (give a BigInt64Array, an Int32Array or integers)' : ''}`, s.name);
    const dims = [...f.dims];
    if (s.dims) {
      if (dims.length !== s.dims.length) bad(`input '${s.name}' expects ${describe(s)} (rank ${s.dims.length}), got dims [${dims.join(', ')}]`, s.name);
      s.dims.forEach((d, i) => {
        const got = dims[i]!;
        if (typeof d === 'number' && d !== got) bad(`input '${s.name}' dim ${i} must be ${d} (${describe(s)}), got ${got}`, s.name);
        if (typeof d === 'string') {
          const b = bound.get(d);
          if (b && b.size !== got) bad(`input '${s.name}' dim ${i} (${d}) is ${got}, but '${b.by}' has ${d} = ${b.size}`, s.name);
          bound.set(d, { size: got, by: s.name });
        }
      });
    }
    const n = dims.reduce((a, b) => a * b, 1);
    if (dims.some((d) => !Number.isInteger(d) || d < 0) || n !== data.length) bad(`input '${s.name}' has ${data.length} values for dims [${dims.join(', ')}]`, s.name);
    out.set(s.name, { data, dims });
  }
  return out;
}

export interface OnnxSessionOptions {
  /** Threads inside one operator (default 1). */
  intraOpThreads?: number;
}

type OrtModule = typeof Ort;
let ortPromise: Promise<OrtModule> | null = null;

async function loadOrt(): Promise<OrtModule> {
  ortPromise ??= import('onnxruntime-node').catch((e: unknown) => {
    ortPromise = null;
    throw new KilnError('RESOURCE_UNAVAILABLE', `onnxruntime-node could not be loaded (${e instanceof Error ? e.message : String(e)}); reinstall kiln's dependencies (npm ci)`, { cause: e });
  });
  return ortPromise;
}

export class OnnxSession {
  private constructor(private readonly ort: OrtModule, private readonly session: Ort.InferenceSession, readonly signature: OnnxSignature) {}

  /** Decodes the model (clear errors for malformed bytes), then builds an onnxruntime session from it. */
  static async create(bytes: Uint8Array, opts: OnnxSessionOptions = {}): Promise<OnnxSession> {
    const signature = onnxSignature(bytes);
    const threads = opts.intraOpThreads ?? 1;
    if (!Number.isInteger(threads) || threads < 1) throw new KilnError('INVALID_ARGUMENT', `intraOpThreads must be a positive integer, got ${threads}`);
    const ort = await loadOrt();
    let session: Ort.InferenceSession;
    try {
      session = await ort.InferenceSession.create(bytes, {
        intraOpNumThreads: threads,
        interOpNumThreads: 1,
        executionMode: 'sequential',
        graphOptimizationLevel: 'all',
        executionProviders: ['cpu'],
      });
    } catch (e) {
      throw new KilnError('MODEL_FORMAT_INVALID', `onnxruntime cannot load the ONNX model: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
    }
    return new OnnxSession(ort, session, signature);
  }

  /** Runs the model; every output as Float32Array (integer and bool outputs converted). */
  async run(feeds: Readonly<Record<string, Feed>>): Promise<Record<string, OnnxOutput>> {
    const checked = checkFeeds(this.signature, feeds);
    const ortFeeds: Record<string, Ort.Tensor> = {};
    for (const [name, f] of checked) {
      const type = f.data instanceof Float32Array ? 'float32' : f.data instanceof Int32Array ? 'int32' : 'int64';
      ortFeeds[name] = new this.ort.Tensor(type, f.data, f.dims);
    }
    let res: Ort.InferenceSession.OnnxValueMapType;
    try {
      res = await this.session.run(ortFeeds);
    } catch (e) {
      throw new KilnError('INVALID_ARGUMENT', `onnxruntime could not run the model on these inputs: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
    }
    const out: Record<string, OnnxOutput> = {};
    for (const s of this.signature.outputs) {
      const t = res[s.name] as Ort.Tensor | undefined;
      if (!t) continue;
      const d = t.data;
      const data = d instanceof Float32Array ? d : d instanceof BigInt64Array || d instanceof BigUint64Array ? Float32Array.from(d, (v) => Number(v)) : Float32Array.from(d as ArrayLike<number>);
      out[s.name] = { data, dims: [...t.dims] };
    }
    return out;
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}
