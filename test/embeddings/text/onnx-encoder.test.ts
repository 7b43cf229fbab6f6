import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isKilnError, type KilnErrorCode } from '../../../src/core/errors.js';
import { loadTextEncoder, OnnxTextEncoder, WordPieceTokenizer } from '../../../src/embeddings/index.js';
import { GraphBuilder } from '../../../src/nn/index.js';
import { TINY_HIDDEN, writeTinyTextEncoder, type TinyTextEncoder } from '../../../scripts/make-text-encoder.js';
import { tinySentence } from './tiny-forward.js';

const root = mkdtempSync(join(tmpdir(), 'kiln-text-onnx-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const TEXTS = [
  'the dog and the cat',
  'A red car in the CITY!',
  'Café prices, delivery & quality: best reviews',
  '',
  'xyzzy 東京 unknownword',
  'the quick brown fox jumped over the lazy dog again and again, then went back home to the forest by the river',
];

let fixture: TinyTextEncoder;
let buildMs = 0;
let dir = '';

beforeAll(() => {
  dir = join(root, 'tiny');
  const t0 = performance.now();
  fixture = writeTinyTextEncoder(dir, { seed: 7 });
  buildMs = performance.now() - t0;
});

async function failure(p: Promise<unknown>, code: KilnErrorCode, pattern: RegExp): Promise<void> {
  const e = await p.then(() => undefined, (err: unknown) => err);
  expect(isKilnError(e, code), `expected ${code}, got ${String(e)}`).toBe(true);
  expect((e as Error).message).toMatch(pattern);
}

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

describe('the tiny text encoder fixture', () => {
  it('builds in well under 2 s, with the same bytes for a seed and others for another seed', () => {
    expect(buildMs).toBeLessThan(2000);
    const again = writeTinyTextEncoder(join(root, 'again'), { seed: 7 });
    expect(Buffer.from(again.bytes).equals(Buffer.from(fixture.bytes))).toBe(true);
    expect(readFileSync(join(root, 'again', 'vocab.txt'), 'utf8')).toBe(readFileSync(join(dir, 'vocab.txt'), 'utf8'));
    const other = writeTinyTextEncoder(join(root, 'other'), { seed: 8 });
    expect(Buffer.from(other.bytes).equals(Buffer.from(fixture.bytes))).toBe(false);
  });
});

describe('OnnxTextEncoder', () => {
  it('equals a plain-JS forward of the same weights (mean pooled, unit length)', async () => {
    const enc = await OnnxTextEncoder.load(dir);
    expect(enc.dim).toBe(TINY_HIDDEN);
    const tok = WordPieceTokenizer.fromFiles(dir);
    const got = await enc.encode(TEXTS, { batchSize: 4 });
    expect(got.length).toBe(TEXTS.length * TINY_HIDDEN);
    TEXTS.forEach((t, i) => {
      const want = tinySentence(fixture.weights, tok.encode(t));
      const row = got.subarray(i * TINY_HIDDEN, (i + 1) * TINY_HIDDEN);
      expect(maxDiff(row, want), `text ${i}`).toBeLessThan(1e-4);
      expect(Math.hypot(...row)).toBeCloseTo(1, 5);
    });
    // Not a constant map: different texts, different vectors.
    expect(maxDiff(got.subarray(0, TINY_HIDDEN), got.subarray(TINY_HIDDEN, 2 * TINY_HIDDEN))).toBeGreaterThan(0.05);
    await enc.release();
  });

  it('gives a text the same vector alone, padded in a batch, and in any batch size', async () => {
    const enc = await OnnxTextEncoder.load(dir);
    const long = TEXTS[5]!;
    const alone = await enc.encode(['the dog']);
    const padded = await enc.encode([long, 'the dog', long], { batchSize: 3 });
    expect(maxDiff(alone, padded.subarray(TINY_HIDDEN, 2 * TINY_HIDDEN))).toBeLessThan(1e-6);
    const one = await enc.encode(TEXTS, { batchSize: 1 });
    const all = await enc.encode(TEXTS, { batchSize: 64 });
    expect(maxDiff(one, all)).toBeLessThan(1e-6);
    expect(await enc.encode([])).toEqual(new Float32Array(0));
    await enc.release();
  });

  it('reads a model without token_type_ids, and one whose output is already a sentence embedding (fixed or symbolic width)', async () => {
    const base = await OnnxTextEncoder.load(dir);
    const want = await base.encode(TEXTS);
    await base.release();
    const variants = [['no-types', { tokenTypeIds: false }], ['pooled', { output: 'sentence' as const }], ['pooled-symbolic', { output: 'sentence' as const, symbolicWidth: true }]] as const;
    for (const [name, opts] of variants) {
      const d = join(root, name);
      writeTinyTextEncoder(d, { seed: 7, ...opts });
      const enc = await OnnxTextEncoder.load(d);
      expect(enc.dim).toBe(TINY_HIDDEN);
      expect(maxDiff(await enc.encode(TEXTS), want), name).toBeLessThan(1e-5);
      await enc.release();
    }
  });

  it('truncates to maxLength (from the options or tokenizer_config.json)', async () => {
    const d = join(root, 'short');
    writeTinyTextEncoder(d, { seed: 7 });
    writeFileSync(join(d, 'tokenizer_config.json'), JSON.stringify({ do_lower_case: true, model_max_length: 6 }));
    const enc = await OnnxTextEncoder.load(d);
    const tok = WordPieceTokenizer.fromFiles(dir);
    const got = await enc.encode([TEXTS[5]!]);
    expect(maxDiff(got, tinySentence(fixture.weights, tok.encode(TEXTS[5]!, 6)))).toBeLessThan(1e-4);
    const opt = await OnnxTextEncoder.load(dir, { maxLength: 6 });
    expect(maxDiff(await opt.encode([TEXTS[5]!]), got)).toBeLessThan(1e-6);
    await enc.release();
    await opt.release();
  });

  it('pads to the token count a model fixes, truncating to it', async () => {
    const d = join(root, 'fixed');
    writeTinyTextEncoder(d, { seed: 7, fixedTokens: 12 });
    const enc = await OnnxTextEncoder.load(d);
    const tok = WordPieceTokenizer.fromFiles(dir);
    const got = await enc.encode(TEXTS, { batchSize: 4 });
    TEXTS.forEach((t, i) => {
      expect(maxDiff(got.subarray(i * TINY_HIDDEN, (i + 1) * TINY_HIDDEN), tinySentence(fixture.weights, tok.encode(t, 12))), `text ${i}`).toBeLessThan(1e-4);
    });
    await enc.release();
  });

  it('opens through loadTextEncoder', async () => {
    const enc = await loadTextEncoder({ kind: 'onnx', path: dir });
    expect(enc.dim).toBe(TINY_HIDDEN);
    expect((await enc.encode(['the dog'])).length).toBe(TINY_HIDDEN);
    await enc.release?.();
    await failure(loadTextEncoder({ kind: 'bert' } as never), 'INVALID_ARGUMENT', /kind 'bert' is unknown; use one of: onnx, lsa/);
  });

  it('says which file is missing and what it should be', async () => {
    const missing = join(root, 'nope');
    await failure(OnnxTextEncoder.load(missing), 'FILE_NOT_FOUND', new RegExp(`no text encoder directory .* at ${missing}`));
    const onlyVocab = join(root, 'only-vocab');
    mkdirSync(onlyVocab);
    writeFileSync(join(onlyVocab, 'vocab.txt'), fixture.vocab.join('\n'));
    await failure(OnnxTextEncoder.load(onlyVocab), 'FILE_NOT_FOUND', /no ONNX model \(expected model\.onnx.*input_ids and attention_mask\) at .*only-vocab\/model\.onnx/);
    const onlyModel = join(root, 'only-model');
    mkdirSync(onlyModel);
    writeFileSync(join(onlyModel, 'model.onnx'), fixture.bytes);
    await failure(OnnxTextEncoder.load(onlyModel), 'FILE_NOT_FOUND', /no WordPiece vocabulary .*vocab\.txt.* at .*only-model\/vocab\.txt/);
    await failure(OnnxTextEncoder.load(join(dir, 'model.onnx')), 'FILE_UNREADABLE', /is a file; give the folder/);
  });

  it('refuses a model that is not a text encoder, naming the input', async () => {
    const garbage = join(root, 'garbage');
    mkdirSync(garbage);
    writeFileSync(join(garbage, 'vocab.txt'), fixture.vocab.join('\n'));
    writeFileSync(join(garbage, 'model.onnx'), 'not a model');
    await failure(OnnxTextEncoder.load(garbage), 'MODEL_FORMAT_INVALID', /garbage\/model\.onnx: not a valid ONNX model/);

    const g = new GraphBuilder('wrong');
    g.output(g.input('x', 'float32', ['batch', 4]), 'y', 'float32', ['batch', 4]);
    writeFileSync(join(garbage, 'model.onnx'), g.bytes());
    await failure(OnnxTextEncoder.load(garbage), 'MODEL_FORMAT_INVALID', /input 'x' is not one kiln can feed; a text encoder takes input_ids and attention_mask/);

    const h = new GraphBuilder('ids-only');
    h.output(h.op('Cast', [h.input('input_ids', 'int64', ['batch', 'tokens'])], { to: { int: 1 } }), 'y', 'float32', ['batch', 'tokens']);
    writeFileSync(join(garbage, 'model.onnx'), h.bytes());
    await failure(OnnxTextEncoder.load(garbage), 'MODEL_FORMAT_INVALID', /input 'attention_mask' is missing/);
  });

  it('rejects bad options', async () => {
    await failure(OnnxTextEncoder.load(dir, { output: 'pooler_output' }), 'INVALID_ARGUMENT', /has no output 'pooler_output' \(it has last_hidden_state\)/);
    await failure(OnnxTextEncoder.load(dir, { batchSize: 0 }), 'INVALID_ARGUMENT', /batchSize must be a positive integer/);
    const enc = await OnnxTextEncoder.load(dir);
    await failure(enc.encode(['a'], { batchSize: 1.5 }), 'INVALID_ARGUMENT', /batchSize must be a positive integer, got 1.5/);
    await enc.release();
  });
});
