import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isKilnError } from '../../src/core/errors.js';
import {
  AttrType, decodeModel, encodeModel, exportSequenceModel, GraphBuilder, onnxGru, onnxLastPool, onnxMeanPool, OnnxSession, onnxValidSteps, onnxSignature,
  ProtoReader, ProtoWriter, tensorData, type ModelProto, type SequenceModelSpec, type StateDict,
} from '../../src/nn/index.js';

const FIX = join(import.meta.dirname, 'fixtures');
const bytesOf = (name: string): Uint8Array => new Uint8Array(readFileSync(join(FIX, name)));

interface Fixture {
  state_dict: Record<string, { shape: number[]; values: number[] }>;
  inputs: { x: { shape: number[]; values: number[] }; lengths: number[] };
  logits: { shape: number[]; values: number[] };
}
const fixture = (name: string): Fixture => JSON.parse(readFileSync(join(FIX, `onnx-${name}.json`), 'utf8')) as Fixture;

function stateDict(f: Fixture): StateDict {
  const values: Record<string, Float32Array> = {};
  const shapes: Record<string, number[]> = {};
  for (const [k, v] of Object.entries(f.state_dict)) {
    values[k] = Float32Array.from(v.values);
    shapes[k] = v.shape;
  }
  return { values, shapes };
}

function feeds(f: Fixture, rows?: number[]): { x: { data: Float32Array; dims: number[] }; lengths: { data: BigInt64Array; dims: number[] } } {
  const [B, T, F] = f.inputs.x.shape as [number, number, number];
  const pick = rows ?? Array.from({ length: B }, (_, i) => i);
  const x = new Float32Array(pick.length * T * F);
  pick.forEach((r, i) => x.set(f.inputs.x.values.slice(r * T * F, (r + 1) * T * F), i * T * F));
  return { x: { data: x, dims: [pick.length, T, F] }, lengths: { data: BigInt64Array.from(pick.map((r) => BigInt(f.inputs.lengths[r]!))), dims: [pick.length] } };
}

/** |a - b| <= tol (1 + |b|), element by element; returns the largest difference. */
function expectClose(a: ArrayLike<number>, b: ArrayLike<number>, tol = 1e-5): number {
  expect(a.length).toBe(b.length);
  let worst = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i]! - b[i]!);
    worst = Math.max(worst, d);
    if (!(d <= tol * (1 + Math.abs(b[i]!)))) expect.fail(`element ${i}: ${a[i]} vs ${b[i]} (diff ${d})`);
  }
  return worst;
}

function expectKiln(f: () => unknown, code: string, text: RegExp): void {
  try {
    f();
  } catch (e) {
    expect(isKilnError(e), String(e)).toBe(true);
    expect((e as { code: string }).code).toBe(code);
    expect((e as Error).message).toMatch(text);
    return;
  }
  expect.fail('no error');
}

async function expectKilnAsync(p: Promise<unknown>, code: string, text: RegExp): Promise<void> {
  const e = await p.then(() => null, (err: unknown) => err);
  expect(isKilnError(e), String(e)).toBe(true);
  expect((e as { code: string }).code).toBe(code);
  expect((e as Error).message).toMatch(text);
}

describe('protobuf wire format', () => {
  it('writes and reads varints, int64 (negative: ten bytes), floats and strings', () => {
    const w = new ProtoWriter();
    const ints = [0, 1, 127, 128, 300, 2 ** 31 - 1, 2 ** 32, 2 ** 53 - 1, -1, -(2 ** 40)];
    for (const v of ints) w.int64Field(1, v);
    w.int64Field(2, -(2n ** 63n)).floatField(3, -0.15625).stringField(4, 'héllo');
    const b = w.finish();
    expect([...b.subarray(0, 2)]).toEqual([0x08, 0x00]);
    const r = new ProtoReader(b, 'test');
    for (const v of ints) {
      expect(r.tag()).toEqual({ field: 1, wire: 0 });
      expect(r.int64()).toBe(v);
    }
    expect(r.tag().field).toBe(2);
    expect(r.int64Big()).toBe(-(2n ** 63n));
    expect(r.tag()).toEqual({ field: 3, wire: 5 });
    expect(r.float()).toBe(-0.15625);
    r.tag();
    expect(r.string()).toBe('héllo');
    expect(r.eof()).toBe(true);
    const m1 = new ProtoWriter().int64Field(1, 300).finish();
    expect([...m1]).toEqual([0x08, 0xac, 0x02]);
    const m2 = new ProtoWriter().int64Field(1, -1).finish();
    expect([...m2]).toEqual([0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]);
  });

  it('reads repeated scalars packed or not, and skips unknown fields and groups', () => {
    const w = new ProtoWriter();
    w.packedVarints(1, [3, 270, -2]).int64Field(1, 9);
    w.tag(99, 3).int64Field(5, 1).tag(99, 4);
    w.tag(7, 1).raw(new Uint8Array(8)).bytesField(8, new Uint8Array(100).fill(7)).packedFloats(2, [0.5, 2]).floatField(2, 4);
    const r = new ProtoReader(w.finish(), 'test');
    const ints: number[] = [];
    const floats: number[] = [];
    while (!r.eof()) {
      const { field, wire } = r.tag();
      if (field === 1) r.repeated(wire, 0, (q) => q.int64(), ints);
      else if (field === 2) r.repeated(wire, 5, (q) => q.float(), floats);
      else r.skip(wire, field);
    }
    expect(ints).toEqual([3, 270, -2, 9]);
    expect(floats).toEqual([0.5, 2, 4]);
  });

  it('reports truncated and malformed input with the message and the byte offset', () => {
    const trunc = new ProtoReader(new Uint8Array([0x08, 0x80]), 'ModelProto');
    trunc.tag();
    expectKiln(() => trunc.int64(), 'MODEL_FORMAT_INVALID', /truncated varint at byte 2 \(in ModelProto\)/);
    const long = new ProtoReader(new Uint8Array([0x0a, 0x05, 0x01]), 'X');
    long.tag();
    expectKiln(() => long.bytes(), 'MODEL_FORMAT_INVALID', /needs 5 bytes, only 1 left/);
    expectKiln(() => new ProtoReader(new Uint8Array([0x0f]), 'X').tag(), 'MODEL_FORMAT_INVALID', /wire type 7/);
  });
});

describe('ONNX models: decode and encode', () => {
  it('decodes every attribute kind, typed and raw tensors, symbolic dims and metadata (onnx.helper file)', () => {
    const m = decodeModel(bytesOf('onnx-attrs.onnx'));
    expect(m.irVersion).toBe(8);
    expect(m.opsetImport).toEqual([{ domain: '', version: 17 }]);
    expect(m.producerName).toBe('fixture');
    expect(m.metadataProps).toEqual([{ key: 'k', value: 'v' }]);
    const node = m.graph.node[0]!;
    expect(node.opType).toBe('Reshape');
    expect(node.docString).toBe('all attribute kinds');
    const at = Object.fromEntries(node.attribute.map((a) => [a.name, a]));
    expect(at.f).toMatchObject({ type: AttrType.FLOAT, f: 1.5 });
    expect(at.i).toMatchObject({ type: AttrType.INT, i: -7 });
    expect(at.big!.i).toBe(2 ** 40);
    expect(new TextDecoder().decode(at.s!.s)).toBe('hello');
    expect([...(tensorData(at.t!.t!) as Int32Array)]).toEqual([1, -2, 3]);
    expect(at.floats!.floats).toEqual([0.25, -4]);
    expect(at.ints!.ints).toEqual([1, -1, 300]);
    expect(at.strings!.strings!.map((s) => new TextDecoder().decode(s))).toEqual(['a', 'bc']);
    const [w, shape] = m.graph.initializer;
    expect(w!.dims).toEqual([2, 3]);
    expect([...(tensorData(w!) as Float32Array)]).toEqual([0.5, -1.25, 2, 3, -0, Math.fround(1e-3)]);
    expect([...(tensorData(shape!) as BigInt64Array)]).toEqual([3n, -1n]);
    expect(onnxSignature(m).outputs).toEqual([{ name: 'y', type: 'float32', dims: [3, 'n'] }]);
    expect(onnxSignature(m).inputs).toEqual([]);
  });

  it('round-trips torch-exported models (raw_data initializers, an If subgraph) through encode and decode', () => {
    for (const name of ['onnx-gru.onnx', 'onnx-transformer.onnx', 'onnx-attrs.onnx']) {
      const m = decodeModel(bytesOf(name));
      const bytes = encodeModel(m);
      const again = decodeModel(bytes);
      expect(again).toEqual(m);
      expect(encodeModel(again)).toEqual(bytes);
    }
    const gru = decodeModel(bytesOf('onnx-gru.onnx'));
    expect(gru.graph.node.find((n) => n.opType === 'If')!.attribute.some((a) => a.g && a.g.node.length > 0)).toBe(true);
    const head = gru.graph.initializer.find((t) => t.name === 'head.weight')!;
    expect(head.rawData).toBeDefined();
    expectClose(tensorData(head) as Float32Array, fixture('gru').state_dict['head.weight']!.values, 0);
  });

  it('gives the signature of torch exports: names, element types, symbolic and fixed dims', () => {
    const gru = onnxSignature(bytesOf('onnx-gru.onnx'));
    expect(gru.inputs).toEqual([
      { name: 'x', type: 'float32', dims: ['batch', 'time', 4] },
      { name: 'lengths', type: 'int64', dims: ['batch'] },
    ]);
    expect(gru.outputs).toEqual([{ name: 'logits', type: 'float32', dims: ['batch', 3] }]);
    expect(gru.opset).toBe(17);
    expect(gru.irVersion).toBe(8);
    expect(gru.producer).toMatch(/^pytorch/);
    const tr = onnxSignature(bytesOf('onnx-transformer.onnx'));
    expect(tr.inputs.map((s) => s.dims)).toEqual([['batch', 'time', 5], ['batch']]);
    expect(tr.outputs).toEqual([{ name: 'logits', type: 'float32', dims: ['batch', 2] }]);
  });

  it('rejects malformed bytes with a clear error', () => {
    const good = bytesOf('onnx-gru.onnx');
    expectKiln(() => decodeModel(new Uint8Array(0)), 'MODEL_FORMAT_INVALID', /empty/);
    expectKiln(() => decodeModel(good.subarray(0, good.length >> 1)), 'MODEL_FORMAT_INVALID', /not a valid ONNX model: field needs \d+ bytes, only \d+ left at byte \d+ \(in ModelProto\)/);
    expectKiln(() => decodeModel(new TextEncoder().encode('{"not": "onnx"}')), 'MODEL_FORMAT_INVALID', /not a valid ONNX model/);
    expectKiln(() => decodeModel(new ProtoWriter().int64Field(1, 8).stringField(2, 'x').finish()), 'MODEL_FORMAT_INVALID', /no graph/);
  });
});

const gruSpec: SequenceModelSpec = { features: 4, encoder: { kind: 'gru', prefix: 'gru' }, pooling: 'last', head: 'head' };
const trSpec: SequenceModelSpec = { features: 5, inputProj: 'proj', encoder: { kind: 'transformer', prefix: 'encoder', layers: 2, heads: 2 }, pooling: 'mean', head: 'head' };

describe('ONNX models in onnxruntime-node against PyTorch', () => {
  it('runs the torch exports and matches torch to 1e-5, for any batch size', async () => {
    for (const name of ['gru', 'transformer']) {
      const f = fixture(name);
      const s = await OnnxSession.create(bytesOf(`onnx-${name}.onnx`));
      const out = await s.run(feeds(f));
      expect(out.logits!.dims).toEqual(f.logits.shape);
      expectClose(out.logits!.data, f.logits.values);
      const K = f.logits.shape[1]!;
      const two = await s.run(feeds(f, [2, 1]));
      expectClose(two.logits!.data, [...f.logits.values.slice(2 * K, 3 * K), ...f.logits.values.slice(K, 2 * K)]);
      await s.release();
    }
  });

  it("exports kiln's GRU (gates z,r,h, sequence_lens) with the same outputs as torch, padding ignored", async () => {
    const f = fixture('gru');
    const bytes = exportSequenceModel(new GraphBuilder('gru'), stateDict(f), gruSpec);
    expect(onnxSignature(bytes).inputs).toEqual(onnxSignature(bytesOf('onnx-gru.onnx')).inputs);
    expect(decodeModel(bytes).graph.node.find((n) => n.opType === 'GRU')!.attribute.find((a) => a.name === 'linear_before_reset')!.i).toBe(1);
    const s = await OnnxSession.create(bytes);
    const fd = feeds(f);
    expectClose((await s.run(fd)).logits!.data, f.logits.values);
    const [, T, F] = f.inputs.x.shape as [number, number, number];
    const noisy = fd.x.data.slice();
    f.inputs.lengths.forEach((len, b) => { for (let t = len; t < T; t++) for (let j = 0; j < F; j++) noisy[(b * T + t) * F + j] = 1e3; });
    expectClose((await s.run({ ...fd, x: { data: noisy, dims: fd.x.dims } })).logits!.data, f.logits.values);
  });

  it("exports kiln's transformer encoder (key padding mask, mean pooling) with the same outputs as torch", async () => {
    const f = fixture('transformer');
    const bytes = exportSequenceModel(new GraphBuilder('transformer'), stateDict(f), trSpec);
    expect(onnxSignature(bytes).outputs).toEqual([{ name: 'logits', type: 'float32', dims: ['batch', 2] }]);
    const ops = new Set(decodeModel(bytes).graph.node.map((n) => n.opType));
    for (const op of ['MatMul', 'Softmax', 'LayerNormalization', 'Relu', 'Reshape', 'Transpose']) expect(ops.has(op)).toBe(true);
    for (const threads of [1, 2]) {
      const s = await OnnxSession.create(bytes, { intraOpThreads: threads });
      const fd = feeds(f);
      expectClose((await s.run(fd)).logits!.data, f.logits.values);
      const noisy = fd.x.data.slice();
      const [, T, F] = f.inputs.x.shape as [number, number, number];
      f.inputs.lengths.forEach((len, b) => noisy.fill(-50, (b * T + len) * F, (b + 1) * T * F));
      expectClose((await s.run({ ...fd, x: { data: noisy, dims: fd.x.dims } })).logits!.data, f.logits.values);
    }
  });

  it('pools the last valid step (GatherElements) as GRU sequence_lens does, and the mean over valid steps', async () => {
    const f = fixture('gru');
    const g = new GraphBuilder('pool');
    const x = g.input('x', 'float32', ['batch', 'time', 4]);
    const lengths = g.input('lengths', 'int64', ['batch']);
    const r = onnxGru(g, stateDict(f), 'gru', x, lengths);
    g.output(r.last, 'y_h', 'float32', ['batch', 8]);
    g.output(onnxLastPool(g, r.seq, lengths), 'gathered', 'float32', ['batch', 8]);
    g.output(r.seq, 'seq', 'float32', ['batch', 'time', 8]);
    const valid = g.op('Cast', [onnxValidSteps(g, x, lengths)], { to: { int: 1 } });
    g.output(onnxMeanPool(g, r.seq, { valid, lengths }), 'mean', 'float32', ['batch', 8]);
    const s = await OnnxSession.create(g.bytes());
    const out = await s.run(feeds(f));
    expect(out.y_h!.dims).toEqual([3, 8]);
    expectClose(out.gathered!.data, out.y_h!.data, 0);
    const T = f.inputs.x.shape[1]!;
    expect([...out.seq!.data.slice((1 * T + 2) * 8, (1 * T + 3) * 8)]).toEqual(new Array(8).fill(0));
    const mean = new Float32Array(3 * 8);
    f.inputs.lengths.forEach((len, b) => {
      for (let j = 0; j < 8; j++) {
        let sum = 0;
        for (let t = 0; t < len; t++) sum += out.seq!.data[(b * T + t) * 8 + j]!;
        mean[b * 8 + j] = sum / len;
      }
    });
    expectClose(out.mean!.data, mean, 1e-6);
    expect(out.mean!.data[8]).not.toBeCloseTo(out.seq!.data.slice(8 * T, 8 * T + 8 * T).filter((_, i) => i % 8 === 0).reduce((a, v) => a + v, 0) / T, 6);
  });

  it('checks feeds against the signature and names the input', async () => {
    const f = fixture('gru');
    const s = await OnnxSession.create(bytesOf('onnx-gru.onnx'));
    const fd = feeds(f);
    await expectKilnAsync(s.run({ x: fd.x }), 'SIGNATURE_MISMATCH', /input 'lengths' is missing: expected int64 \[batch\]/);
    await expectKilnAsync(s.run({ ...fd, length: fd.lengths }), 'SIGNATURE_MISMATCH', /no input 'length' \(did you mean 'lengths'\?\)/);
    await expectKilnAsync(s.run({ ...fd, lengths: { data: new Float32Array(3), dims: [3] } }), 'SIGNATURE_MISMATCH', /'lengths' expects int64 \[batch\], got Float32Array/);
    await expectKilnAsync(s.run({ ...fd, lengths: { data: [5, 2], dims: [2] } }), 'SIGNATURE_MISMATCH', /'lengths' dim 0 \(batch\) is 2, but 'x' has batch = 3/);
    await expectKilnAsync(s.run({ ...fd, x: { data: fd.x.data, dims: [3, 20, 1] } }), 'SIGNATURE_MISMATCH', /'x' dim 2 must be 4/);
    await expectKilnAsync(s.run({ ...fd, x: { data: fd.x.data.subarray(1), dims: [3, 5, 4] } }), 'SIGNATURE_MISMATCH', /'x' has 59 values for dims \[3, 5, 4\]/);
    const asNumbers = await s.run({ x: fd.x, lengths: { data: [5, 2, 4], dims: [3] } });
    expectClose(asNumbers.logits!.data, f.logits.values);
    await expectKilnAsync(OnnxSession.create(bytesOf('onnx-gru.onnx').subarray(0, 1000)), 'MODEL_FORMAT_INVALID', /not a valid ONNX model/);
    const m: ModelProto = decodeModel(bytesOf('onnx-gru.onnx'));
    m.graph.node = m.graph.node.filter((n) => n.opType !== 'GRU');
    await expectKilnAsync(OnnxSession.create(encodeModel(m)), 'MODEL_FORMAT_INVALID', /onnxruntime cannot load/);
  });
});
