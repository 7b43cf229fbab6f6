/**
 * ONNX both ways for registered sequence models: `kiln models export --onnx` of a kiln transformer joint
 * model, imported back with `kiln models import --encoding-from`, scores the same events as the kiln
 * bundle to 1e-5; a PyTorch model (scripts/nn-fixtures/onnx_seq.py) imported with the kiln model's
 * encoding scores torch's fixture inputs as torch did to 1e-5 and is listed with its ONNX signature;
 * models whose inputs are not kiln's are refused with every missing and extra input named.
 * The kiln model's bundle is built directly (a SeqNet with random parameters), not trained.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isKilnError } from '../../src/core/errors.js';
import { Rng } from '../../src/core/rng.js';
import { Arena, GraphBuilder, SeqNet, type SeqNetSpec, type SequenceEncodingJson } from '../../src/nn/index.js';
import {
  emptyBatch, exportSequenceOnnx, importOnnxModel, OnnxSequenceModel, parseOnnxModelBundle, SEQUENCE_BUNDLE_FORMAT, SequenceModel, type OnnxModelSignature,
} from '../../src/pipelines/index.js';
import { paramsJsonOf, sequenceBundleText, type SequenceBundleJson } from '../../src/pipelines/sequence/bundle.js';
import { tempProject, kiln } from '../helpers.js';

const FIX = join(import.meta.dirname, '..', 'nn', 'fixtures');
const T = 6;
const ENCODING: SequenceEncodingJson = {
  format: 'kiln.sequence-encoding', version: 1, feature: 'recent_txns', featureVersion: null, k: 8, steps: T,
  fields: [
    { name: 'amount', type: 'double', kind: 'numeric', log: true, mean: 3, std: 1.5 },
    { name: 'category', type: 'varchar', kind: 'categorical', vocab: ['food', 'travel', 'rent', 'fun'] },
    { name: 'channel', type: 'varchar', kind: 'categorical', vocab: ['web', 'pos'] },
  ],
  age: { mean: 15, std: 2 }, gap: { mean: 10, std: 3 }, rows: 100, events: 500,
};
const NET: SeqNetSpec = {
  kind: 'seq', seed: 4, steps: T, numeric: 5, categorical: [{ name: 'category', vocab: 7, dim: 3 }, { name: 'channel', vocab: 5, dim: 2 }],
  encoder: { type: 'transformer', dim: 8, layers: 1, heads: 2, ff: 16, dropout: 0.1, positions: 'time' }, pooling: 'attention', tabular: 5, trunk: 4,
  heads: [{ name: 'default', type: 'binary', weight: 1 }, { name: 'next_category', type: 'softmax', classes: 3, weight: 0.5 }],
};

function kilnBundle(): SequenceBundleJson {
  const net = new SeqNet(NET, new Arena(1 << 22, false));
  const rng = new Rng(9);
  for (const p of net.params.list) for (let i = 0; i < p.value.length; i++) p.value[i] = p.value[i]! + 0.3 * rng.normal();
  return {
    format: SEQUENCE_BUNDLE_FORMAT,
    provenance: { model: 'seq', version: 1, runId: 'r-test', createdAt: '2025-01-01T00:00:00.000Z', kilnVersion: 'test', configHash: 'x' },
    signature: { features: [{ name: 'recent_txns', type: 'SEQUENCE', version: null }, { name: 'income', type: 'DOUBLE' }, { name: 'region', type: 'VARCHAR' }], output: 'probability of default_12m' },
    input: 'recent_txns', encoding: ENCODING,
    tabular: [{ name: 'income', kind: 'numeric', mean: 50_000, std: 20_000, missingFlag: true }, { name: 'region', kind: 'categorical', categories: ['north', 'south', 'west'] }],
    classes: { next_category: ['food', 'travel', 'rent'] }, net: NET, params: paramsJsonOf(net.params.list), calibrator: null,
    scaling: { basePoints: 600, baseOdds: 50, pdo: 20 }, cutoff: 0.5,
  };
}

/** Rows with empty, short and truncated histories, missing values, unknown categories, tabular features. */
function eventRows(n: number): { events: unknown[]; at: number; features: Record<string, unknown> }[] {
  const rng = new Rng(12);
  const cats = ['food', 'travel', 'rent', 'fun', 'other', null];
  return Array.from({ length: n }, (_, i) => {
    let ts = Date.UTC(2024, 0, 1) * 1000;
    const events = Array.from({ length: i % 10 }, () => {
      ts += Math.floor(rng.uniform() * 86_400e6 * 3);
      return { ts, amount: rng.uniform() < 0.1 ? null : Math.exp(3 * rng.uniform()), category: cats[rng.int(cats.length)], channel: rng.uniform() < 0.5 ? 'web' : 'pos' };
    });
    return { events, at: ts + 3_600e6, features: { income: i % 7 === 3 ? null : 30_000 + 40_000 * rng.uniform(), region: ['north', 'south', 'east'][i % 3] } };
  });
}

function expectClose(a: ArrayLike<number>, b: ArrayLike<number>, tol = 1e-5): void {
  expect(a.length).toBe(b.length);
  for (let i = 0; i < a.length; i++) if (!(Math.abs(a[i]! - b[i]!) <= tol * (1 + Math.abs(b[i]!)))) expect.fail(`element ${i}: ${a[i]} vs ${b[i]}`);
}

let env: Awaited<ReturnType<typeof tempProject>>;
beforeAll(async () => {
  env = await tempProject();
  const path = join(env.dir, 'seq.kiln.json');
  const b = kilnBundle();
  writeFileSync(path, sequenceBundleText(b));
  env.project.registry.registerVersion('seq', { signature: b.signature, runId: null, artifactPath: path, reason: 'test bundle' });
}, 60_000);
afterAll(() => env?.cleanup());

describe('ONNX export and import of sequence models', () => {
  it('exports a kiln transformer joint model with --onnx, imports it back, and scores events as the kiln bundle does', async () => {
    env.project.close();
    const exp = await kiln(['models', 'export', 'seq', '--onnx', 'seq.onnx'], env.dir);
    expect(exp.stderr).toBe('');
    expect(exp.stdout).toContain('as ONNX (opset 17)');
    expect(exp.stdout).toContain('inputs: num float32 [batch, 6, 5], len int64 [batch], c.category int64 [batch, 6], c.channel int64 [batch, 6], gap float32 [batch, 6], tab float32 [batch, 5]');
    const imp = await kiln(['models', 'import', 'seq.onnx', '--name', 'seq-onnx', '--encoding-from', 'seq@1'], env.dir);
    expect(imp.stderr).toBe('');
    expect(imp.stdout).toContain('seq-onnx version 1: imported ONNX model seq.onnx (kiln');
    expect(imp.stdout).toContain('logit: logits:0, embedding: embedding');
    const show = await kiln(['models', 'show', 'seq-onnx@1'], env.dir);
    expect(show.stdout).toContain('signature: recent_txns SEQUENCE, income DOUBLE, region VARCHAR');
    expect(show.stdout).toContain('onnx inputs: num float32 [batch, 6, 5], len int64 [batch], c.category int64 [batch, 6], c.channel int64 [batch, 6], gap float32 [batch, 6], tab float32 [batch, 5]; logit logits:0');
    const both = await kiln(['models', 'export', 'seq', '--onnx', 'a.onnx', '--out', 'b.json'], env.dir);
    expect(both.code).toBe(64);
    expect(both.stderr).toContain('--onnx FILE and --out FILE both name the file to write');
    const project = await env.reopen();

    const mv = project.registry.resolve('seq-onnx');
    expect(mv.signature.features.map((f) => f.name)).toEqual(['recent_txns', 'income', 'region']);
    const ref = new SequenceModel(kilnBundle());
    const onnx = await OnnxSequenceModel.load(mv.artifactPath!);
    try {
      const rows = eventRows(23);
      const want = ref.scoreMany(rows);
      const got = await onnx.scoreMany(rows);
      expectClose(got.map((s) => s.raw), want.map((s) => s.raw));
      for (let i = 0; i < rows.length; i++) expectClose(got[i]!.embedding, want[i]!.embedding);
      const one = await onnx.score(rows[5]!.events, rows[5]!.at, rows[5]!.features);
      expectClose([one.raw, one.pd], [want[5]!.raw, want[5]!.pd]);
    } finally {
      await onnx.release();
    }
  }, 120_000);

  it('imports a PyTorch model with the kiln model encoding: its scores equal torch outputs; the registry lists its signature', async () => {
    const fx = JSON.parse(readFileSync(join(FIX, 'onnx-seq-torch.json'), 'utf8')) as { inputs: Record<string, { shape: number[]; values: number[] }>; outputs: Record<string, { shape: number[]; values: number[] }> };
    const r = await importOnnxModel(env.project, join(FIX, 'onnx-seq-torch.onnx'), { name: 'torch-gru', encodingFrom: 'seq', alias: 'challenger', reason: 'PyTorch baseline' });
    expect(r.version.version).toBe(1);
    expect(r.version.aliases).toEqual(['challenger']);
    const mv = env.project.registry.resolve('torch-gru@challenger');
    const sig = mv.signature as OnnxModelSignature;
    expect(sig.features).toEqual([{ name: 'recent_txns', type: 'SEQUENCE', version: null }]);
    expect(sig.onnx.inputs).toEqual([
      { name: 'num', type: 'float32', dims: ['batch', 6, 5] }, { name: 'len', type: 'int64', dims: ['batch'] },
      { name: 'c.category', type: 'int64', dims: ['batch', 6] }, { name: 'c.channel', type: 'int64', dims: ['batch', 6] },
    ]);
    expect(sig.onnx.logit).toBe('logits:0');
    expect(sig.onnx.producer).toMatch(/^pytorch 1\.13/);
    const bundle = parseOnnxModelBundle(readFileSync(mv.artifactPath!, 'utf8'));
    expect(bundle.tabular).toEqual([]);
    expect(bundle.provenance.encodingFrom).toEqual({ model: 'seq', version: 1 });

    const model = await OnnxSequenceModel.load(mv.artifactPath!);
    try {
      const n = fx.inputs.len!.shape[0]!;
      const b = emptyBatch(model.encoding, n);
      b.numeric.set(fx.inputs.num!.values);
      b.lengths.set(fx.inputs.len!.values);
      b.ids[0]!.set(fx.inputs['c.category']!.values);
      b.ids[1]!.set(fx.inputs['c.channel']!.values);
      const scores = await model.scoreBatch(b);
      expectClose(scores.map((s) => s.raw), fx.outputs.logits!.values.filter((_, i) => i % 2 === 0));
      expectClose(scores.flatMap((s) => [...s.embedding]), fx.outputs.embedding!.values);
      const one = await model.score(eventRows(4)[3]!.events, eventRows(4)[3]!.at);
      expect(one.pd).toBeGreaterThan(0);
      expect(one.embedding).toHaveLength(8);
    } finally {
      await model.release();
    }
  });

  it('refuses a model whose inputs are not the ones kiln builds, naming every missing and extra input', async () => {
    const g = new GraphBuilder('wrong');
    const x = g.input('x', 'float32', ['batch', 6, 5]);
    g.input('lengths', 'int64', ['batch']);
    g.input('c.category', 'int64', ['batch', 7]);
    g.input('tab', 'float32', [4, 3]);
    g.output(g.op('ReduceSum', [x, g.constI64([1, 2])], { keepdims: { int: 0 } }), 'logits', 'float32', ['batch']);
    const file = join(env.dir, 'wrong.onnx');
    writeFileSync(file, g.bytes());
    const before = env.project.registry.listModels().length;
    try {
      await importOnnxModel(env.project, file, { name: 'wrong', encodingFrom: 'seq' });
      expect.fail('imported');
    } catch (e) {
      expect(isKilnError(e, 'SIGNATURE_MISMATCH')).toBe(true);
      const m = (e as Error).message;
      expect(m).toContain('extra inputs kiln does not build: x float32 [batch, 6, 5], lengths int64 [batch]');
      expect(m).toContain('missing inputs: num float32 [batch, 6, 5], len int64 [batch], c.channel int64 [batch, 6]');
      expect(m).toContain('input c.category dim 1 is 7, kiln builds 6');
      expect(m).toContain('input tab has a fixed batch size 4');
      expect(m).toContain('input tab dim 1 is 3, kiln builds 5');
    }
    await expect(importOnnxModel(env.project, join(FIX, 'onnx-seq-torch.onnx'), { name: 'wrong', encodingFrom: 'seq', output: { name: 'logits', index: 2 } }))
      .rejects.toThrow(/output logits \[batch, 2\] has no column 2/);
    expect(env.project.registry.listModels().length).toBe(before);
  });

  it('refuses --onnx for a GBDT version, and a GBDT as --encoding-from', async () => {
    const path = join(env.dir, 'gbdt.kiln.json');
    writeFileSync(path, JSON.stringify({ format: 'kiln.model@1' }));
    env.project.registry.registerVersion('credit', { signature: { features: [{ name: 'income', type: 'DOUBLE' }] }, artifactPath: path });
    expect(() => exportSequenceOnnx(env.project, 'credit', join(env.dir, 'credit.onnx'))).toThrow(/credit version 1 is a kiln\.model@1 model, not a sequence model: only sequence models export to ONNX/);
    await expect(importOnnxModel(env.project, join(FIX, 'onnx-seq-torch.onnx'), { name: 'x', encodingFrom: 'credit' })).rejects.toThrow(/--encoding-from credit@1 is a kiln\.model@1 model; name a kiln sequence model/);
  });
});
