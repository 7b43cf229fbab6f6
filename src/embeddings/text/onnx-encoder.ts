/**
 * A BERT-style sentence encoder exported to ONNX (a sentence-transformers model, or kiln's tiny
 * fixture), run by onnxruntime-node from a local directory: `model.onnx`, `vocab.txt` and optionally
 * `tokenizer_config.json`. Nothing is downloaded.
 *
 * Inputs are found by name: input_ids and attention_mask (required), token_type_ids (optional, all
 * zeros), int64 or int32. The output is the one named in the options, else `sentence_embedding` /
 * `sentence_embeddings` / `embeddings` / `embedding` when present, else `last_hidden_state` /
 * `token_embeddings`, else the first; a [batch, tokens, hidden] output is mean-pooled over the real
 * tokens (attention_mask 1), a [batch, hidden] one is taken as it is; every vector is then
 * L2-normalised. Texts are batched in order of token count, so a batch pads little; padding does not
 * change a vector (masked attention, masked mean).
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { isKilnError, KilnError } from '../../core/errors.js';
import { OnnxSession, type Feed, type OnnxSignature, type OnnxTensorSpec } from '../../nn/index.js';
import type { TextEncoder } from './encoder.js';
import { l2NormalizeRows, maskedMeanPool } from './pool.js';
import { padBatch, WordPieceTokenizer, type TokenBatch, type WordPieceOptions } from './tokenizer.js';

export interface OnnxTextEncoderOptions extends WordPieceOptions {
  /** Texts per model call in `encode` (default 32). */
  batchSize?: number;
  /** Threads inside one ONNX operator (default 1). */
  intraOpThreads?: number;
  /** The output to read, when the model has several and the default choice is wrong. */
  output?: string;
}

const INPUT_IDS = 'input_ids';
const ATTENTION_MASK = 'attention_mask';
const TOKEN_TYPE_IDS = 'token_type_ids';
const SENTENCE_OUTPUTS = ['sentence_embedding', 'sentence_embeddings', 'embeddings', 'embedding'];
const TOKEN_OUTPUTS = ['last_hidden_state', 'token_embeddings'];

function need(path: string, what: string): void {
  if (!existsSync(path)) throw new KilnError('FILE_NOT_FOUND', `no ${what} at ${path}`, { path: [path] });
}

/** The inputs kiln feeds, checked against the signature; a missing or unknown input is MODEL_FORMAT_INVALID. */
function checkInputs(sig: OnnxSignature, modelPath: string): Map<string, 'int64' | 'int32'> {
  const known = [INPUT_IDS, ATTENTION_MASK, TOKEN_TYPE_IDS];
  const have = sig.inputs.map((s) => `${s.name} (${s.type})`).join(', ');
  const bad = (msg: string): never => {
    throw new KilnError('MODEL_FORMAT_INVALID', `${modelPath}: ${msg}; a text encoder takes ${INPUT_IDS} and ${ATTENTION_MASK} (int64 [batch, tokens]) and optionally ${TOKEN_TYPE_IDS} (the model has ${have})`, { path: [modelPath] });
  };
  const intTypes = new Map<string, 'int64' | 'int32'>();
  for (const s of sig.inputs) {
    if (!known.includes(s.name)) bad(`input '${s.name}' is not one kiln can feed`);
    if (s.type !== 'int64' && s.type !== 'int32') bad(`input '${s.name}' is ${s.type}, not an integer tensor`);
    if (s.dims && s.dims.length !== 2) bad(`input '${s.name}' has rank ${s.dims.length}, not 2`);
    intTypes.set(s.name, s.type as 'int64' | 'int32');
  }
  for (const name of [INPUT_IDS, ATTENTION_MASK]) if (!intTypes.has(name)) bad(`input '${name}' is missing`);
  return intTypes;
}

function pickOutput(sig: OnnxSignature, wanted: string | undefined, modelPath: string): OnnxTensorSpec {
  const names = sig.outputs.map((o) => o.name);
  if (wanted !== undefined) {
    const o = sig.outputs.find((s) => s.name === wanted);
    if (!o) throw new KilnError('INVALID_ARGUMENT', `${modelPath} has no output '${wanted}' (it has ${names.join(', ')})`, { path: ['output'] });
    return o;
  }
  const byName = (list: readonly string[]): OnnxTensorSpec | undefined => list.map((n) => sig.outputs.find((o) => o.name === n)).find((o) => o !== undefined);
  const o = byName(SENTENCE_OUTPUTS) ?? byName(TOKEN_OUTPUTS) ?? sig.outputs[0];
  if (!o) throw new KilnError('MODEL_FORMAT_INVALID', `${modelPath} has no outputs`, { path: [modelPath] });
  return o;
}

function feed(data: Int32Array, type: 'int64' | 'int32', dims: number[]): Feed {
  return { data: type === 'int32' ? data : BigInt64Array.from(data, (v) => BigInt(v)), dims };
}

interface Parts {
  session: OnnxSession;
  tokenizer: WordPieceTokenizer;
  intTypes: Map<string, 'int64' | 'int32'>;
  output: string;
  batchSize: number;
  /** Tokens per text when the model fixes them (input_ids [batch, 128]); null when dynamic. */
  fixedTokens: number | null;
  modelPath: string;
}

export class OnnxTextEncoder implements TextEncoder {
  readonly tokenizer: WordPieceTokenizer;
  readonly modelPath: string;
  private readonly maxTokens: number;

  private constructor(private readonly p: Parts, readonly dim: number) {
    this.tokenizer = p.tokenizer;
    this.modelPath = p.modelPath;
    this.maxTokens = Math.min(p.tokenizer.maxLength, p.fixedTokens ?? Infinity);
  }

  /**
   * Loads `dir/model.onnx` and `dir/vocab.txt` (and `dir/tokenizer_config.json` when present).
   * @example const enc = await OnnxTextEncoder.load('models/minilm'); const v = await enc.encode(['red shoes']);
   */
  static async load(dir: string, opts: OnnxTextEncoderOptions = {}): Promise<OnnxTextEncoder> {
    const root = resolve(dir);
    need(root, 'text encoder directory (expected a folder with model.onnx and vocab.txt)');
    if (!statSync(root).isDirectory()) throw new KilnError('FILE_UNREADABLE', `${root} is a file; give the folder that holds model.onnx and vocab.txt`, { path: [root] });
    const modelPath = join(root, 'model.onnx');
    need(modelPath, 'ONNX model (expected model.onnx: a BERT-style encoder with inputs input_ids and attention_mask)');
    need(join(root, 'vocab.txt'), 'WordPiece vocabulary (expected vocab.txt, one token per line, beside model.onnx)');
    const batchSize = opts.batchSize ?? 32;
    checkBatchSize(batchSize);
    const { lowerCase, stripAccents, maxLength, specials } = opts;
    const tokenizer = WordPieceTokenizer.fromFiles(root, { lowerCase, stripAccents, maxLength, specials });
    const session = await OnnxSession.create(readFileSync(modelPath), opts.intraOpThreads === undefined ? {} : { intraOpThreads: opts.intraOpThreads }).catch((e: unknown) => {
      throw isKilnError(e, 'MODEL_FORMAT_INVALID') ? new KilnError(e.code, `${modelPath}: ${e.message}`, { path: [modelPath], cause: e }) : e;
    });
    const intTypes = checkInputs(session.signature, modelPath);
    const out = pickOutput(session.signature, opts.output, modelPath);
    const tokensDim = session.signature.inputs.find((s) => s.name === INPUT_IDS)?.dims?.[1];
    const parts: Parts = { session, tokenizer, intTypes, output: out.name, batchSize, fixedTokens: typeof tokensDim === 'number' ? tokensDim : null, modelPath };
    const last = out.dims?.[out.dims.length - 1];
    if (typeof last === 'number') return new OnnxTextEncoder(parts, last);
    // The width is symbolic in the model: one probe call finds it.
    const probe = await new OnnxTextEncoder(parts, 0).encode(['']);
    return new OnnxTextEncoder(parts, probe.length);
  }

  /** Unit vectors of the texts, row-major [texts.length, dim]. */
  async encode(texts: readonly string[], opts: { batchSize?: number } = {}): Promise<Float32Array> {
    const batchSize = opts.batchSize ?? this.p.batchSize;
    checkBatchSize(batchSize);
    const ids = texts.map((t) => this.tokenizer.encode(t, this.maxTokens));
    const order = ids.map((_, i) => i).sort((a, b) => ids[a]!.length - ids[b]!.length || a - b);
    let out = new Float32Array(0);
    let width = this.dim;
    for (let s = 0; s < order.length; s += batchSize) {
      const rows = order.slice(s, s + batchSize);
      const vecs = await this.runBatch(padBatch(rows.map((r) => ids[r]!), this.tokenizer.padId, this.p.fixedTokens ?? 0));
      if (s === 0) {
        width = vecs.length / rows.length;
        out = new Float32Array(texts.length * width);
      }
      rows.forEach((r, j) => out.set(vecs.subarray(j * width, (j + 1) * width), r * width));
    }
    return out;
  }

  /** One model call: pooled, normalised vectors of a padded batch. */
  private async runBatch(b: TokenBatch): Promise<Float32Array> {
    const dims = [b.batch, b.length];
    const feeds: Record<string, Feed> = {};
    for (const [name, type] of this.p.intTypes) {
      const data = name === INPUT_IDS ? b.inputIds : name === ATTENTION_MASK ? b.attentionMask : b.tokenTypeIds;
      feeds[name] = feed(data, type, dims);
    }
    const output = this.p.output;
    const res = (await this.p.session.run(feeds))[output];
    if (!res) throw new KilnError('MODEL_FORMAT_INVALID', `${this.modelPath}: the model did not return its output '${output}'`, { path: [this.modelPath] });
    let vecs: Float32Array;
    let width: number;
    if (res.dims.length === 3 && res.dims[0] === b.batch && res.dims[1] === b.length) {
      width = res.dims[2]!;
      vecs = maskedMeanPool(res.data, b.attentionMask, b.batch, b.length, width);
    } else if (res.dims.length === 2 && res.dims[0] === b.batch) {
      width = res.dims[1]!;
      vecs = Float32Array.from(res.data);
    } else {
      throw new KilnError('MODEL_FORMAT_INVALID', `${this.modelPath}: output '${output}' has dims [${res.dims.join(', ')}] for a batch of ${b.batch} x ${b.length} tokens; expected [batch, tokens, hidden] or [batch, hidden]`, { path: [this.modelPath] });
    }
    if (this.dim > 0 && width !== this.dim) throw new KilnError('MODEL_FORMAT_INVALID', `${this.modelPath}: output '${output}' is ${width} wide, not the ${this.dim} it had before`, { path: [this.modelPath] });
    l2NormalizeRows(vecs, b.batch, width);
    return vecs;
  }

  async release(): Promise<void> {
    await this.p.session.release();
  }
}

function checkBatchSize(n: number): void {
  if (!Number.isInteger(n) || n < 1) throw new KilnError('INVALID_ARGUMENT', `batchSize must be a positive integer, got ${n}`, { path: ['batchSize'] });
}
