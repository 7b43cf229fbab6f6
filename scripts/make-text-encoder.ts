/**
 * Writes a tiny BERT-like sentence encoder, the fixture of kiln's text encoders (tests, bench): a
 * `model.onnx` built with kiln's own ONNX builder from seeded weights, and its `vocab.txt`.
 *
 *   npx tsx scripts/make-text-encoder.ts OUT_DIR [--seed 7]
 *
 * The model: inputs input_ids, attention_mask, token_type_ids (int64 [batch, tokens]); embeddings
 * word + position + token type, LayerNorm (eps 1e-12, as BERT); one PyTorch-style transformer encoder
 * layer (hidden 32, 2 heads, feed-forward 64, ReLU, post-norm; padding keys masked from attention_mask);
 * output last_hidden_state [batch, tokens, 32]. Weights are in `StateDict` form under BERT's and
 * PyTorch's names, so a test can run the same weights through a plain-JS forward. Options make the
 * variants the encoder must also read: no token_type_ids input, a pooled [batch, 32]
 * `sentence_embedding` output (masked mean inside the graph), a fixed token axis, a symbolic width.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Rng } from '../src/core/rng.js';
import { DataType, GraphBuilder, onnxTransformerEncoderLayer, type StateDict } from '../src/nn/index.js';

export const TINY_HIDDEN = 32;
export const TINY_HEADS = 2;
export const TINY_FFN = 64;
export const TINY_MAX_POSITIONS = 128;
export const TINY_LAYER = 'encoder.layers.0';

const SPECIALS = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'];
const PUNCTUATION = [...".,!?'\"-():;&/"];
const WORDS = `the of and to in is was for on that with as by at from his her it an are were be this which or has had have not but
its their they he she you we i one two three new first last all also more most other some such only after before over under into
about between through during against up down out off again then than so very just can will would could should may might must do
does did done make made take took give gave see saw come came go went get got know knew think say said tell told find found
man men woman women child children people family friend friends life love death war world city town country home house school
day night year years time times story stories film movie music song game book books man king queen lord star stars sun moon sea
river mountain island road street garden forest house water fire earth air space ship train car plane police murder crime detective
comedy drama horror romance action adventure fantasy science fiction western thriller mystery documentary animation musical war
history adventure family children kid kids girl boy girls boys mother father brother sister son daughter wife husband baby dog cat
red blue green black white dark light big small little great good bad best better old young long short high low true false last
american english french german italian spanish chinese japanese indian british london paris york new los angeles texas chicago
return rise fall night day dead alive lost found secret hidden final ever never always once twice again away back home free wild
price prices market bank money loan loans credit card cards pay paid payment buy bought sell sold shop store order orders item items
phone phones laptop computer screen battery camera shoe shoes shirt dress jacket bag bags watch kitchen chair table bed lamp book
fast slow cheap expensive quality delivery review reviews customer service product products brand size color colour price`
  .split(/\s+/).filter(Boolean);
const PIECES = ['##s', '##es', '##ed', '##ing', '##er', '##ers', '##est', '##ly', '##tion', '##ment', '##ness', '##able', '##ful', '##less', '##ive', '##y', '##ie'];
const LETTERS = 'abcdefghijklmnopqrstuvwxyz0123456789';

/** The fixture's vocabulary: specials, punctuation, letters and digits (alone and as ## pieces), words, suffixes. */
export function tinyVocab(): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  for (const t of [...SPECIALS, ...PUNCTUATION, ...LETTERS, ...[...LETTERS].map((c) => `##${c}`), ...WORDS, ...PIECES]) {
    if (!seen.has(t)) {
      seen.add(t);
      out.push(t);
    }
  }
  return out;
}

export interface TinyTextEncoderOptions {
  seed?: number;
  /** Whether the model has a token_type_ids input (default true). */
  tokenTypeIds?: boolean;
  /** 'tokens' (default): last_hidden_state [batch, tokens, 32]; 'sentence': a masked mean, sentence_embedding [batch, 32]. */
  output?: 'tokens' | 'sentence';
  /** Fix the token axis of the inputs to this length (default: symbolic 'tokens'). */
  fixedTokens?: number;
  /** Declare the output width as a symbolic dim 'hidden' rather than 32 (default false). */
  symbolicWidth?: boolean;
}

export interface TinyTextEncoder {
  vocab: string[];
  weights: StateDict;
  bytes: Uint8Array;
}

/** Seeded weights under BERT's (embeddings) and PyTorch TransformerEncoderLayer's (encoder) names. */
export function tinyWeights(vocabSize: number, seed: number): StateDict {
  const rng = new Rng(seed, 0);
  const values: Record<string, Float32Array> = {};
  const shapes: Record<string, number[]> = {};
  const put = (name: string, shape: number[], scale: number, mean = 0): void => {
    const n = shape.reduce((a, b) => a * b, 1);
    const v = new Float32Array(n);
    for (let i = 0; i < n; i++) v[i] = mean + scale * rng.normal();
    values[name] = v;
    shapes[name] = shape;
  };
  const d = TINY_HIDDEN;
  put('embeddings.word_embeddings.weight', [vocabSize, d], 1);
  put('embeddings.position_embeddings.weight', [TINY_MAX_POSITIONS, d], 0.5);
  put('embeddings.token_type_embeddings.weight', [2, d], 0.5);
  put('embeddings.LayerNorm.weight', [d], 0.1, 1);
  put('embeddings.LayerNorm.bias', [d], 0.1);
  const p = TINY_LAYER;
  put(`${p}.self_attn.in_proj_weight`, [3 * d, d], 0.3);
  put(`${p}.self_attn.in_proj_bias`, [3 * d], 0.05);
  put(`${p}.self_attn.out_proj.weight`, [d, d], 0.2);
  put(`${p}.self_attn.out_proj.bias`, [d], 0.05);
  put(`${p}.linear1.weight`, [TINY_FFN, d], 0.2);
  put(`${p}.linear1.bias`, [TINY_FFN], 0.05);
  put(`${p}.linear2.weight`, [d, TINY_FFN], 0.15);
  put(`${p}.linear2.bias`, [d], 0.05);
  for (const n of ['norm1', 'norm2']) {
    put(`${p}.${n}.weight`, [d], 0.1, 1);
    put(`${p}.${n}.bias`, [d], 0.1);
  }
  return { values, shapes };
}

/** The ONNX bytes of the tiny encoder for these weights. */
export function tinyEncoderGraph(sd: StateDict, opts: TinyTextEncoderOptions = {}): Uint8Array {
  const g = new GraphBuilder('tiny-text-encoder');
  const d = TINY_HIDDEN;
  const dims = ['batch', opts.fixedTokens ?? 'tokens'];
  const width = opts.symbolicWidth ? 'hidden' : d;
  const ids = g.input('input_ids', 'int64', dims);
  const mask = g.input('attention_mask', 'int64', dims);
  const types = opts.tokenTypeIds === false ? null : g.input('token_type_ids', 'int64', dims);
  const table = (name: string): string => g.initializer(name, sd.values[name]!, sd.shapes[name]!);
  let emb = g.op('Gather', [table('embeddings.word_embeddings.weight'), ids]);
  const T = g.op('Gather', [g.op('Shape', [ids]), g.constI64([1], [])]);
  const positions = g.op('Range', [g.constI64([0], []), T, g.constI64([1], [])]);
  emb = g.op('Add', [emb, g.op('Gather', [table('embeddings.position_embeddings.weight'), positions])]);
  const typeIds = types ?? g.op('Mul', [ids, g.constI64([0], [])]);
  emb = g.op('Add', [emb, g.op('Gather', [table('embeddings.token_type_embeddings.weight'), typeIds])]);
  emb = g.op('LayerNormalization', [emb, table('embeddings.LayerNorm.weight'), table('embeddings.LayerNorm.bias')], { axis: { int: -1 }, epsilon: { float: 1e-12 } });
  const valid = g.op('Cast', [mask], { to: { int: DataType.FLOAT } });
  const additive = g.op('Mul', [g.op('Sub', [g.constF([1], []), valid]), g.constF([-1e9], [])]);
  const keyMask = g.op('Unsqueeze', [additive, g.constI64([1, 2])]);
  const h = onnxTransformerEncoderLayer(g, sd, TINY_LAYER, emb, keyMask, TINY_HEADS);
  if (opts.output === 'sentence') {
    const w = g.op('Unsqueeze', [valid, g.constI64([2])]);
    const summed = g.op('ReduceSum', [g.op('Mul', [h, w]), g.constI64([1])], { keepdims: { int: 0 } });
    const count = g.op('ReduceSum', [w, g.constI64([1])], { keepdims: { int: 0 } });
    g.output(g.op('Div', [summed, count]), 'sentence_embedding', 'float32', ['batch', width]);
  } else {
    g.output(h, 'last_hidden_state', 'float32', [...dims, width]);
  }
  return g.bytes('kiln tiny text encoder (test fixture)');
}

/** The whole fixture: vocabulary, weights and model bytes. */
export function tinyTextEncoder(opts: TinyTextEncoderOptions = {}): TinyTextEncoder {
  const vocab = tinyVocab();
  const weights = tinyWeights(vocab.length, opts.seed ?? 7);
  return { vocab, weights, bytes: tinyEncoderGraph(weights, opts) };
}

/** Writes model.onnx and vocab.txt into `dir` (created if needed); returns the fixture. */
export function writeTinyTextEncoder(dir: string, opts: TinyTextEncoderOptions = {}): TinyTextEncoder {
  const t = tinyTextEncoder(opts);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'model.onnx'), t.bytes);
  writeFileSync(join(dir, 'vocab.txt'), `${t.vocab.join('\n')}\n`);
  return t;
}

function main(argv: string[]): void {
  const args = argv.slice(2);
  const i = args.indexOf('--seed');
  const seed = i >= 0 ? Number(args[i + 1]) : 7;
  const out = args.filter((a, j) => !a.startsWith('--') && args[j - 1] !== '--seed')[0];
  if (!out || !Number.isInteger(seed)) {
    console.error('usage: npx tsx scripts/make-text-encoder.ts OUT_DIR [--seed 7]');
    process.exit(64);
  }
  const t = writeTinyTextEncoder(resolve(out), { seed });
  console.log(`wrote ${join(resolve(out), 'model.onnx')} (${t.bytes.length} bytes) and vocab.txt (${t.vocab.length} tokens), seed ${seed}`);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main(process.argv);
