/**
 * A whole SeqNet (seqnet.ts) as one ONNX graph, from its spec and its parameters by name (the
 * `kiln.sequence-model@1` bundle's `params`), computing exactly what `SeqNet.predict` computes.
 *
 * Inputs (the names kiln builds for every sequence model, `seqNetOnnxInputs`; T = spec.steps is fixed,
 * the batch axis is dynamic):
 *   num      float32 [batch, T, numeric]   the numeric features of every step (sequences/encode.ts)
 *   len      int64   [batch]               events kept per row, 0 for an empty history (right padding)
 *   c.<f>    int64   [batch, T]            ids of categorical field f, one input per field
 *   gap      float32 [batch, T]            seconds since the previous event (time positions only)
 *   tab      float32 [batch, tabular]      the tabular inputs of a joint model (tabular > 0 only)
 * int64 (not int32) for ids and lengths: what PyTorch's nn.Embedding and index ops take, so a model
 * trained in PyTorch exports with the same input types.
 * Outputs: `logits` [batch, heads width] (the heads in spec order, as predict's first columns) and
 * `embedding` [batch, D] (the entity embedding e, predict's last columns).
 *
 * The graph:
 *   tokens   Concat(num, Gather(embed.<f>.weight, c.<f>) ...) on the last axis
 *   GRU      ONNX GRU with sequence_lens = max(len, 1) (onnxruntime may refuse a 0; those rows are
 *            replaced below); `last` pooling reads Y_h, each row's state at its last valid step
 *   transformer  input Dense, + learned positions (positions.weight [T, dim]) or + time-gap features
 *            phi(log1p(gap)) W^T + b (log1p as log(w) g / (w - 1), w = 1 + g, exact where 1 + g
 *            rounds; phi's columns regrouped as [u, sin..., cos...] with W's columns to match),
 *            then the encoder layers (export.ts) with the key padding mask from len
 *   pooling  last (the step at len-1), mean over valid steps, or attention (softmax over valid steps
 *            of h . query, invalid steps at -1e9, which exp() makes exactly 0)
 *   empty    Where(len == 0, pool.empty, pooled)
 *   fusion   Concat(e, tab); trunk Relu(Gemm); heads Gemm
 * A spec the exporter does not know (another encoder, pooling or positions kind) is refused with an
 * INVALID_ARGUMENT naming it, never exported wrong.
 */
import { KilnError } from '../../core/errors.js';
import type { SeqNetSpec } from '../seqnet.js';
import { headWidth } from '../seqnet.js';
import { TIME_FREQUENCIES } from '../layers/positions.js';
import { GraphBuilder, type ElemType } from './builder.js';
import { dense, gru, keyPaddingMask, lastPool, meanPool, transformerEncoderLayer, validSteps, weight, type StateDict } from './export.js';
import { DataType } from './model.js';

export interface SeqNetInputSpec {
  name: string;
  type: ElemType;
  dims: (number | string)[];
}

/** The input names kiln builds for a sequence network. */
export const SEQ_INPUT = { num: 'num', len: 'len', gap: 'gap', tab: 'tab', categorical: (field: string): string => `c.${field}` } as const;
export const SEQ_OUTPUT = { logits: 'logits', embedding: 'embedding' } as const;

/** The inputs of a SeqNet's ONNX graph, in order. */
export function seqNetOnnxInputs(spec: SeqNetSpec): SeqNetInputSpec[] {
  const T = spec.steps;
  const inputs: SeqNetInputSpec[] = [
    { name: SEQ_INPUT.num, type: 'float32', dims: ['batch', T, spec.numeric] },
    { name: SEQ_INPUT.len, type: 'int64', dims: ['batch'] },
    ...spec.categorical.map((c): SeqNetInputSpec => ({ name: SEQ_INPUT.categorical(c.name), type: 'int64', dims: ['batch', T] })),
  ];
  if (spec.encoder.type === 'transformer' && spec.encoder.positions === 'time') inputs.push({ name: SEQ_INPUT.gap, type: 'float32', dims: ['batch', T] });
  if (spec.tabular > 0) inputs.push({ name: SEQ_INPUT.tab, type: 'float32', dims: ['batch', spec.tabular] });
  return inputs;
}

/** What in a spec cannot be exported (empty when all of it can). */
export function unexportable(spec: SeqNetSpec): string[] {
  const why: string[] = [];
  const enc = spec.encoder as { type: string; positions?: string; dim?: number; heads?: number };
  if (enc.type !== 'gru' && enc.type !== 'transformer') why.push(`encoder '${enc.type}'`);
  if (enc.type === 'transformer' && !['learned', 'time', 'none'].includes(enc.positions ?? '')) why.push(`transformer positions '${String(enc.positions)}'`);
  if (enc.type === 'transformer' && (enc.dim ?? 0) % (enc.heads ?? 1) !== 0) why.push(`a transformer of width ${enc.dim} with ${enc.heads} heads`);
  if (!['last', 'mean', 'attention'].includes(spec.pooling)) why.push(`pooling '${String(spec.pooling)}'`);
  if (spec.numeric < 1) why.push('a network without numeric step features');
  for (const h of spec.heads as { type: string; name: string }[]) if (h.type !== 'binary' && h.type !== 'softmax') why.push(`head '${h.name}' of type '${h.type}'`);
  return why;
}

/** h [B,T,D] pooled by attention with `query` [D] over the steps where `valid` (bool [B,T]) holds. */
function attentionPool(g: GraphBuilder, sd: StateDict, h: string, valid: string, D: number): string {
  const q = g.initializer('pool.query', weight(sd, 'pool.query', [D]).data, [D, 1]);
  const s = g.op('Squeeze', [g.op('MatMul', [h, q]), g.constI64([2])]);
  const masked = g.op('Where', [valid, s, g.constF([-1e9], [])]);
  const a = g.op('Unsqueeze', [g.op('Softmax', [masked], { axis: { int: 1 } }), g.constI64([1])]);
  return g.op('Squeeze', [g.op('MatMul', [a, h]), g.constI64([1])]);
}

/** The pooled [B,D] of h [B,T,D] (last pooling of a GRU reads its final state instead). */
function pool(g: GraphBuilder, sd: StateDict, kind: SeqNetSpec['pooling'], h: string, len: string, lenSafe: string, D: number): string {
  if (kind === 'last') return lastPool(g, h, lenSafe);
  const valid = validSteps(g, h, len);
  if (kind === 'mean') return meanPool(g, h, { valid: g.op('Cast', [valid], { to: { int: DataType.FLOAT } }), lengths: lenSafe });
  return attentionPool(g, sd, h, valid, D);
}

/** x [B,T,dim] + phi(log1p(gap)) W^T + b, W = time.weight [dim, 1 + 2K] (positions.ts). */
function addTimeGaps(g: GraphBuilder, sd: StateDict, x: string, gap: string, dim: number): string {
  const K = TIME_FREQUENCIES.length;
  const F = 1 + 2 * K;
  const W = weight(sd, 'time.weight', [dim, F]).data;
  const b = g.initializer('time.bias', weight(sd, 'time.bias', [dim]).data, [dim]);
  const one = g.constF([1], []);
  const w = g.op('Add', [gap, one]);
  const ratio = g.op('Div', [g.op('Mul', [g.op('Log', [w]), gap]), g.op('Sub', [w, one])]);
  const log1p = g.op('Where', [g.op('Equal', [w, one]), gap, ratio]);
  const u = g.op('Where', [g.op('Greater', [gap, g.constF([0], [])]), log1p, g.constF([0], [])]);
  const U = g.op('Unsqueeze', [u, g.constI64([2])]);
  const A = g.op('Mul', [U, g.constF(TIME_FREQUENCIES, [K])]);
  const phi = g.op('Concat', [U, g.op('Sin', [A]), g.op('Cos', [A])], { axis: { int: 2 } });
  // phi's columns are [u, sin_1..sin_K, cos_1..cos_K]; W's are [u, sin_1, cos_1, ..., sin_K, cos_K].
  const order = [0, ...Array.from({ length: K }, (_, k) => 1 + 2 * k), ...Array.from({ length: K }, (_, k) => 2 + 2 * k)];
  const wt = new Float32Array(F * dim);
  order.forEach((col, row) => { for (let j = 0; j < dim; j++) wt[row * dim + j] = W[j * F + col]!; });
  const proj = g.op('Add', [g.op('MatMul', [phi, g.initializer('time.weight_T', wt, [F, dim])]), b]);
  return g.op('Add', [x, proj]);
}

export interface SeqNetExportOptions {
  /** The graph's name (default 'kiln_seqnet'). */
  name?: string;
  producerVersion?: string;
  docString?: string;
}

/** The ONNX bytes of a SeqNet with the given parameters (see the header). */
export function exportSeqNet(spec: SeqNetSpec, sd: StateDict, opts: SeqNetExportOptions = {}): Uint8Array {
  const bad = unexportable(spec);
  if (bad.length) throw new KilnError('INVALID_ARGUMENT', `ONNX export: this sequence network cannot be exported to ONNX: ${bad.join('; ')} ${bad.length > 1 ? 'are' : 'is'} not supported by the exporter (GRU or transformer encoders, last/mean/attention pooling, learned/time/no positions)`);
  const g = new GraphBuilder(opts.name ?? 'kiln_seqnet', opts.producerVersion ?? '');
  const ins = new Map(seqNetOnnxInputs(spec).map((s) => [s.name, g.input(s.name, s.type, s.dims)]));
  const len = ins.get(SEQ_INPUT.len)!;
  const lenSafe = g.op('Max', [len, g.constI64([1], [])]);
  const parts = [ins.get(SEQ_INPUT.num)!];
  for (const c of spec.categorical) {
    const table = weight(sd, `embed.${c.name}.weight`, [c.vocab, c.dim]);
    parts.push(g.op('Gather', [g.initializer(table.name, table.data, [c.vocab, c.dim]), ins.get(SEQ_INPUT.categorical(c.name))!], { axis: { int: 0 } }));
  }
  const tokens = parts.length > 1 ? g.op('Concat', parts, { axis: { int: 2 } }) : parts[0]!;
  const enc = spec.encoder;
  let pooled: string;
  let D: number;
  if (enc.type === 'gru') {
    const r = gru(g, sd, 'gru', tokens, lenSafe);
    D = r.hidden;
    pooled = spec.pooling === 'last' ? r.last : pool(g, sd, spec.pooling, r.seq, len, lenSafe, D);
  } else {
    D = enc.dim;
    let x = dense(g, sd, 'input', tokens, 3);
    if (enc.positions === 'learned') {
      const p = weight(sd, 'positions.weight', [null, D]);
      if (p.shape[0]! < spec.steps) throw new KilnError('INVALID_ARGUMENT', `ONNX export: ${p.shape[0]} learned positions for ${spec.steps} steps`);
      x = g.op('Add', [x, g.initializer(p.name, p.data.subarray(0, spec.steps * D), [spec.steps, D])]);
    }
    if (enc.positions === 'time') x = addTimeGaps(g, sd, x, ins.get(SEQ_INPUT.gap)!, D);
    const mask = keyPaddingMask(g, x, len);
    for (let i = 0; i < enc.layers; i++) x = transformerEncoderLayer(g, sd, `encoder.layers.${i}`, x, mask.additive, enc.heads);
    pooled = pool(g, sd, spec.pooling, x, len, lenSafe, D);
  }
  const empty = g.initializer('pool.empty', weight(sd, 'pool.empty', [D]).data, [D]);
  const isEmpty = g.op('Unsqueeze', [g.op('Equal', [len, g.constI64([0], [])]), g.constI64([1])]);
  const e = g.op('Where', [isEmpty, empty, pooled]);
  let z = spec.tabular > 0 ? g.op('Concat', [e, ins.get(SEQ_INPUT.tab)!], { axis: { int: 1 } }) : e;
  if (spec.trunk > 0) z = g.op('Relu', [dense(g, sd, 'trunk', z, 2)]);
  const width = spec.heads.reduce((s, h) => s + headWidth(h), 0);
  weight(sd, 'heads.weight', [width, spec.trunk > 0 ? spec.trunk : D + spec.tabular]);
  g.output(dense(g, sd, 'heads', z, 2), SEQ_OUTPUT.logits, 'float32', ['batch', width]);
  g.output(e, SEQ_OUTPUT.embedding, 'float32', ['batch', D]);
  return g.bytes(opts.docString ?? '');
}
