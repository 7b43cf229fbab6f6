/**
 * The tiny text encoder (scripts/make-text-encoder.ts) computed in plain JS, float64, one text at a
 * time with no padding: the reference the ONNX graph run by onnxruntime is checked against.
 */
import type { StateDict } from '../../../src/nn/index.js';
import { TINY_FFN, TINY_HEADS, TINY_HIDDEN, TINY_LAYER } from '../../../scripts/make-text-encoder.js';

type Vec = Float64Array;

function w(sd: StateDict, name: string): Float32Array {
  const v = sd.values[name];
  if (!v) throw new Error(`no weight ${name}`);
  return v;
}

/** y = W x + b for W [out, in] row-major. */
function linear(x: Vec, weight: Float32Array, bias: Float32Array, out: number): Vec {
  const inF = x.length;
  const y = new Float64Array(out);
  for (let o = 0; o < out; o++) {
    let s = bias[o]!;
    for (let i = 0; i < inF; i++) s += weight[o * inF + i]! * x[i]!;
    y[o] = s;
  }
  return y;
}

function layerNorm(x: Vec, gamma: Float32Array, beta: Float32Array, eps: number): Vec {
  let mean = 0;
  for (const v of x) mean += v;
  mean /= x.length;
  let variance = 0;
  for (const v of x) variance += (v - mean) ** 2;
  variance /= x.length;
  const inv = 1 / Math.sqrt(variance + eps);
  return x.map((v, i) => (v - mean) * inv * gamma[i]! + beta[i]!);
}

/** last_hidden_state of one text: [tokens][hidden]. */
export function tinyHidden(sd: StateDict, ids: readonly number[]): Vec[] {
  const d = TINY_HIDDEN;
  const T = ids.length;
  const word = w(sd, 'embeddings.word_embeddings.weight');
  const pos = w(sd, 'embeddings.position_embeddings.weight');
  const type = w(sd, 'embeddings.token_type_embeddings.weight');
  const x = ids.map((id, t) => {
    const e = new Float64Array(d);
    for (let j = 0; j < d; j++) e[j] = word[id * d + j]! + pos[t * d + j]! + type[j]!;
    return layerNorm(e, w(sd, 'embeddings.LayerNorm.weight'), w(sd, 'embeddings.LayerNorm.bias'), 1e-12);
  });
  const p = TINY_LAYER;
  const inW = w(sd, `${p}.self_attn.in_proj_weight`);
  const inB = w(sd, `${p}.self_attn.in_proj_bias`);
  const qkv = x.map((xt) => linear(xt, inW, inB, 3 * d));
  const dh = d / TINY_HEADS;
  const ctx = x.map(() => new Float64Array(d));
  for (let h = 0; h < TINY_HEADS; h++) {
    for (let t = 0; t < T; t++) {
      const scores = new Float64Array(T);
      for (let s = 0; s < T; s++) {
        let dot = 0;
        for (let j = 0; j < dh; j++) dot += qkv[t]![h * dh + j]! * qkv[s]![d + h * dh + j]!;
        scores[s] = dot / Math.sqrt(dh);
      }
      const max = Math.max(...scores);
      let z = 0;
      for (let s = 0; s < T; s++) z += (scores[s] = Math.exp(scores[s]! - max));
      for (let s = 0; s < T; s++) for (let j = 0; j < dh; j++) ctx[t]![h * dh + j]! += (scores[s]! / z) * qkv[s]![2 * d + h * dh + j]!;
    }
  }
  return x.map((xt, t) => {
    const attn = linear(ctx[t]!, w(sd, `${p}.self_attn.out_proj.weight`), w(sd, `${p}.self_attn.out_proj.bias`), d);
    const x1 = layerNorm(xt.map((v, j) => v + attn[j]!), w(sd, `${p}.norm1.weight`), w(sd, `${p}.norm1.bias`), 1e-5);
    const hidden = linear(x1, w(sd, `${p}.linear1.weight`), w(sd, `${p}.linear1.bias`), TINY_FFN).map((v) => Math.max(0, v));
    const ff = linear(hidden, w(sd, `${p}.linear2.weight`), w(sd, `${p}.linear2.bias`), d);
    return layerNorm(x1.map((v, j) => v + ff[j]!), w(sd, `${p}.norm2.weight`), w(sd, `${p}.norm2.bias`), 1e-5);
  });
}

/** The sentence vector: mean over tokens, L2-normalised. */
export function tinySentence(sd: StateDict, ids: readonly number[]): Vec {
  const h = tinyHidden(sd, ids);
  const m = new Float64Array(TINY_HIDDEN);
  for (const ht of h) for (let j = 0; j < m.length; j++) m[j]! += ht[j]! / h.length;
  const n = Math.sqrt(m.reduce((a, v) => a + v * v, 0));
  return m.map((v) => v / n);
}
