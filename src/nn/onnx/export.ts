/**
 * kiln's layers as ONNX subgraphs, from weights in PyTorch's layouts and state_dict names (a
 * `StateDict`: name -> Float32Array, plus shapes), so a kiln model and a PyTorch model with the same
 * weights export to the same graph. Each helper takes value names and returns value names:
 *
 * - dense: y = x W^T + b; Gemm(transB) for 2-D inputs, MatMul(x, W^T) + Add for batched ones.
 * - gru: PyTorch gate order r,z,n -> ONNX GRU's z,r,h (rows of W, R and both biases permuted),
 *   B = [b_ih ; b_hh], linear_before_reset=1 (PyTorch applies r to (W_hn h + b_hn)); batch-first input
 *   is transposed to [T,B,F]; `sequence_lens` (int32, from int64 lengths) makes Y_h each row's state
 *   at its last valid step (right padding) and zeroes Y past it.
 * - keyPaddingMask: from lengths, `valid` [B,T] (1 for t < length) and an additive mask [B,1,1,T]
 *   of 0 / -1e9 (-1e9 rather than -inf: a row with no valid key gives a uniform average, not NaN).
 * - transformerEncoderLayer: PyTorch's TransformerEncoderLayer, post-norm, ReLU, batch-first:
 *   q,k,v = x W^T + b from in_proj [3d,d]; per head softmax(q k^T / sqrt(d/h) + mask) v; out_proj;
 *   LayerNorm(x + attn); LayerNorm(x1 + linear2(relu(linear1(x1)))) (eps 1e-5).
 * - meanPool (over valid steps: sum / length), lastPool (the step at length-1, GatherElements).
 */
import { KilnError } from '../../core/errors.js';
import type { GraphBuilder } from './builder.js';
import { DataType } from './model.js';

export interface StateDict {
  readonly values: Readonly<Record<string, Float32Array>>;
  readonly shapes: Readonly<Record<string, readonly number[]>>;
}

/** A weight by name (any of `names`, first found), checked against the expected shape where given. */
export function weight(sd: StateDict, names: string | readonly string[], shape?: readonly (number | null)[]): { name: string; data: Float32Array; shape: number[] } {
  const list = typeof names === 'string' ? [names] : names;
  const name = list.find((n) => sd.values[n] !== undefined);
  if (name === undefined) {
    throw new KilnError('INVALID_ARGUMENT', `ONNX export: no weight ${list.join(' or ')} (have ${Object.keys(sd.values).slice(0, 12).join(', ')})`);
  }
  const data = sd.values[name]!;
  const s = [...(sd.shapes[name] ?? [data.length])];
  const n = s.reduce((a, b) => a * b, 1);
  if (n !== data.length) throw new KilnError('INVALID_ARGUMENT', `ONNX export: weight ${name} has ${data.length} values for shape [${s.join(', ')}]`);
  if (shape && (shape.length !== s.length || shape.some((d, i) => d !== null && d !== s[i]))) {
    throw new KilnError('INVALID_ARGUMENT', `ONNX export: weight ${name} has shape [${s.join(', ')}], expected [${shape.map((d) => d ?? '?').join(', ')}]`);
  }
  return { name, data, shape: s };
}

/** W [rows, cols] row-major -> W^T [cols, rows]. */
export function transpose2d(w: Float32Array, rows: number, cols: number): Float32Array {
  const t = new Float32Array(w.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) t[c * rows + r] = w[r * cols + c]!;
  return t;
}

/** Rows [from, from + n) of a row-major matrix with `cols` columns. */
function rows(w: Float32Array, from: number, n: number, cols: number): Float32Array {
  return w.subarray(from * cols, (from + n) * cols);
}

/** y = x W^T + b for `prefix.weight` [out, in], `prefix.bias` [out] (optional). `rank` is x's rank. */
export function dense(g: GraphBuilder, sd: StateDict, prefix: string, x: string, rank = 2): string {
  const w = weight(sd, `${prefix}.weight`, [null, null]);
  const [out, inF] = w.shape as [number, number];
  const hasBias = sd.values[`${prefix}.bias`] !== undefined;
  const b = hasBias ? g.initializer(`${prefix}.bias`, weight(sd, `${prefix}.bias`, [out]).data, [out]) : null;
  if (rank === 2) {
    const wi = g.initializer(w.name, w.data, [out, inF]);
    return g.op('Gemm', b ? [x, wi, b] : [x, wi], { transB: { int: 1 } });
  }
  const wt = g.initializer(`${w.name}_T`, transpose2d(w.data, out, inF), [inF, out]);
  const y = g.op('MatMul', [x, wt]);
  return b ? g.op('Add', [y, b]) : y;
}

/** Rank-2 Transpose of a 3-D value: [a,b,c] -> [b,a,c]. */
function swap01(g: GraphBuilder, x: string): string {
  return g.op('Transpose', [x], { perm: { ints: [1, 0, 2] } });
}

/**
 * A one-layer forward GRU over x [B,T,F] (batch-first) with PyTorch's weights under `prefix`
 * (`weight_ih` [3H,F], `weight_hh` [3H,H], `bias_ih`, `bias_hh`; `_l0` suffixes of nn.GRU accepted).
 * `lengths` (int64 [B]) or null for full-length rows. Returns the sequence [B,T,H] and the last
 * valid state [B,H].
 */
export function gru(g: GraphBuilder, sd: StateDict, prefix: string, x: string, lengths: string | null): { seq: string; last: string; hidden: number } {
  const wih = weight(sd, [`${prefix}.weight_ih`, `${prefix}.weight_ih_l0`], [null, null]);
  const [h3, inF] = wih.shape as [number, number];
  if (h3 % 3 !== 0) throw new KilnError('INVALID_ARGUMENT', `ONNX export: ${wih.name} has ${h3} rows, not 3 x hidden`);
  const H = h3 / 3;
  const whh = weight(sd, [`${prefix}.weight_hh`, `${prefix}.weight_hh_l0`], [3 * H, H]);
  const bih = weight(sd, [`${prefix}.bias_ih`, `${prefix}.bias_ih_l0`], [3 * H]);
  const bhh = weight(sd, [`${prefix}.bias_hh`, `${prefix}.bias_hh_l0`], [3 * H]);
  const zrh = (m: Float32Array, cols: number): Float32Array => {
    const out = new Float32Array(3 * H * cols);
    out.set(rows(m, H, H, cols), 0);
    out.set(rows(m, 0, H, cols), H * cols);
    out.set(rows(m, 2 * H, H, cols), 2 * H * cols);
    return out;
  };
  const W = g.initializer(`${prefix}.W`, zrh(wih.data, inF), [1, 3 * H, inF]);
  const R = g.initializer(`${prefix}.R`, zrh(whh.data, H), [1, 3 * H, H]);
  const bias = new Float32Array(6 * H);
  bias.set(zrh(bih.data, 1), 0);
  bias.set(zrh(bhh.data, 1), 3 * H);
  const B = g.initializer(`${prefix}.B`, bias, [1, 6 * H]);
  const lens = lengths ? g.op('Cast', [lengths], { to: { int: DataType.INT32 } }) : '';
  const [y, yh] = g.node('GRU', [swap01(g, x), W, R, B, lens], { hidden_size: { int: H }, linear_before_reset: { int: 1 }, direction: { string: 'forward' } }, 2) as [string, string];
  const seq = swap01(g, g.op('Squeeze', [y, g.constI64([1])]));
  const last = g.op('Squeeze', [yh, g.constI64([0])]);
  return { seq, last, hidden: H };
}

/** From lengths (int64 [B]) and x [B,T,...]: bool [B,T], true where t < length. */
export function validSteps(g: GraphBuilder, x: string, lengths: string): string {
  const T = g.op('Gather', [g.op('Shape', [x]), g.constI64([1], [])]);
  const steps = g.op('Range', [g.constI64([0], []), T, g.constI64([1], [])]);
  return g.op('Less', [g.op('Unsqueeze', [steps, g.constI64([0])]), g.op('Unsqueeze', [lengths, g.constI64([1])])]);
}

/** From lengths (int64 [B]) and x [B,T,...]: `valid` float [B,T] (0/1) and the additive key mask [B,1,1,T]. */
export function keyPaddingMask(g: GraphBuilder, x: string, lengths: string): { valid: string; additive: string } {
  const isValid = validSteps(g, x, lengths);
  const valid = g.op('Cast', [isValid], { to: { int: DataType.FLOAT } });
  const add = g.op('Where', [isValid, g.constF([0], []), g.constF([-1e9], [])]);
  return { valid, additive: g.op('Unsqueeze', [add, g.constI64([1, 2])]) };
}

/** [B,T,d] -> [B,heads,T,d/heads] (or [B,heads,d/heads,T] when `keys`). */
function splitHeads(g: GraphBuilder, x: string, heads: number, dh: number, keys: boolean): string {
  const r = g.op('Reshape', [x, g.constI64([0, 0, heads, dh])]);
  return g.op('Transpose', [r], { perm: { ints: keys ? [0, 2, 3, 1] : [0, 2, 1, 3] } });
}

/** One PyTorch TransformerEncoderLayer (post-norm, ReLU, batch-first) over x [B,T,d]; mask [B,1,1,T] or null. */
export function transformerEncoderLayer(g: GraphBuilder, sd: StateDict, prefix: string, x: string, mask: string | null, heads: number, eps = 1e-5): string {
  const inW = weight(sd, `${prefix}.self_attn.in_proj_weight`, [null, null]);
  const d = inW.shape[1]!;
  if (inW.shape[0] !== 3 * d) throw new KilnError('INVALID_ARGUMENT', `ONNX export: ${inW.name} has shape [${inW.shape.join(', ')}], expected [${3 * d}, ${d}]`);
  if (d % heads !== 0) throw new KilnError('INVALID_ARGUMENT', `ONNX export: ${heads} heads do not divide d=${d}`);
  const dh = d / heads;
  const inB = weight(sd, `${prefix}.self_attn.in_proj_bias`, [3 * d]);
  const proj = (i: number, name: string): string => {
    const wt = g.initializer(`${prefix}.self_attn.${name}_proj_T`, transpose2d(rows(inW.data, i * d, d, d), d, d), [d, d]);
    const b = g.initializer(`${prefix}.self_attn.${name}_proj_bias`, inB.data.slice(i * d, (i + 1) * d), [d]);
    return g.op('Add', [g.op('MatMul', [x, wt]), b]);
  };
  const q = g.op('Div', [splitHeads(g, proj(0, 'q'), heads, dh, false), g.constF([Math.sqrt(dh)], [])]);
  const kT = splitHeads(g, proj(1, 'k'), heads, dh, true);
  const v = splitHeads(g, proj(2, 'v'), heads, dh, false);
  let scores = g.op('MatMul', [q, kT]);
  if (mask) scores = g.op('Add', [scores, mask]);
  const attn = g.op('Softmax', [scores], { axis: { int: -1 } });
  const ctx = g.op('Transpose', [g.op('MatMul', [attn, v])], { perm: { ints: [0, 2, 1, 3] } });
  const merged = g.op('Reshape', [ctx, g.constI64([0, 0, d])]);
  const attnOut = dense(g, sd, `${prefix}.self_attn.out_proj`, merged, 3);
  const norm = (name: string, y: string): string => {
    const s = g.initializer(`${prefix}.${name}.weight`, weight(sd, `${prefix}.${name}.weight`, [d]).data, [d]);
    const b = g.initializer(`${prefix}.${name}.bias`, weight(sd, `${prefix}.${name}.bias`, [d]).data, [d]);
    return g.op('LayerNormalization', [y, s, b], { axis: { int: -1 }, epsilon: { float: eps } });
  };
  const x1 = norm('norm1', g.op('Add', [x, attnOut]));
  const ff = dense(g, sd, `${prefix}.linear2`, g.op('Relu', [dense(g, sd, `${prefix}.linear1`, x1, 3)]), 3);
  return norm('norm2', g.op('Add', [x1, ff]));
}

/** Mean over time of h [B,T,D]: over the valid steps (sum / length) when `valid` [B,T] and lengths are given. */
export function meanPool(g: GraphBuilder, h: string, mask: { valid: string; lengths: string } | null): string {
  if (!mask) return g.op('ReduceMean', [h], { axes: { ints: [1] }, keepdims: { int: 0 } });
  const summed = g.op('ReduceSum', [g.op('Mul', [h, g.op('Unsqueeze', [mask.valid, g.constI64([2])])]), g.constI64([1])], { keepdims: { int: 0 } });
  const len = g.op('Unsqueeze', [g.op('Cast', [mask.lengths], { to: { int: DataType.FLOAT } }), g.constI64([1])]);
  return g.op('Div', [summed, len]);
}

/** h [B,T,D] at step length-1 of each row -> [B,D]. */
export function lastPool(g: GraphBuilder, h: string, lengths: string): string {
  const idx = g.op('Reshape', [g.op('Sub', [lengths, g.constI64([1], [])]), g.constI64([-1, 1, 1])]);
  const shape = g.op('Concat', [g.constI64([1, 1]), g.node('Shape', [h], { start: { int: 2 } })[0]!], { axis: { int: 0 } });
  const picked = g.op('GatherElements', [h, g.op('Expand', [idx, shape])], { axis: { int: 1 } });
  return g.op('Squeeze', [picked, g.constI64([1])]);
}

export type EncoderSpec =
  | { kind: 'gru'; prefix: string }
  | { kind: 'transformer'; prefix: string; layers: number; heads: number; eps?: number };

/** A whole sequence model: x [batch,time,features] and lengths [batch] (int64, right padding) in, one output [batch,K]. */
export interface SequenceModelSpec {
  features: number;
  /** A dense layer applied to every step before the encoder (its state_dict prefix). */
  inputProj?: string;
  encoder: EncoderSpec;
  pooling: 'last' | 'mean';
  /** A dense layer on the pooled vector (its prefix); without it the output is the embedding. */
  head?: string;
  /** Output name; default 'logits' with a head, 'embedding' without. */
  output?: string;
}

/** The ONNX bytes of a sequence model, inputs `x` and `lengths`. */
export function exportSequenceModel(g: GraphBuilder, sd: StateDict, spec: SequenceModelSpec): Uint8Array {
  const x = g.input('x', 'float32', ['batch', 'time', spec.features]);
  const lengths = g.input('lengths', 'int64', ['batch']);
  let h = spec.inputProj ? dense(g, sd, spec.inputProj, x, 3) : x;
  let pooled: string;
  let width: number;
  const enc = spec.encoder;
  if (enc.kind === 'gru') {
    const r = gru(g, sd, enc.prefix, h, lengths);
    width = r.hidden;
    const valid = (): string => g.op('Cast', [validSteps(g, h, lengths)], { to: { int: DataType.FLOAT } });
    pooled = spec.pooling === 'last' ? r.last : meanPool(g, r.seq, { valid: valid(), lengths });
  } else {
    const mask = keyPaddingMask(g, h, lengths);
    for (let i = 0; i < enc.layers; i++) h = transformerEncoderLayer(g, sd, `${enc.prefix}.layers.${i}`, h, mask.additive, enc.heads, enc.eps);
    width = weight(sd, `${enc.prefix}.layers.0.norm2.weight`).data.length;
    pooled = spec.pooling === 'last' ? lastPool(g, h, lengths) : meanPool(g, h, { valid: mask.valid, lengths });
  }
  if (spec.head) {
    width = weight(sd, `${spec.head}.weight`, [null, width]).shape[0]!;
    pooled = dense(g, sd, spec.head, pooled, 2);
  }
  g.output(pooled, spec.output ?? (spec.head ? 'logits' : 'embedding'), 'float32', ['batch', width]);
  return g.bytes();
}
