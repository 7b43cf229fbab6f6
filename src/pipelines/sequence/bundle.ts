/**
 * The artifact of a sequence model (`kiln.sequence-model@1`): the frozen sequence encoding, the tabular
 * columns of a joint model, the network's spec and parameters (float32, base64, in registration order),
 * the calibrator and score scaling. `SequenceModel` loads one and scores: a single entity in the
 * request path (one arena, tensors allocated once, no allocation per call beyond the result), or many
 * rows in batches.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { KilnError } from '../../core/errors.js';
import { Rng } from '../../core/rng.js';
import { calibratorFromJson, type Calibrator, type CalibratorJson } from '../../eval/index.js';
import {
  Arena, SeqNet, SequenceEncoding, allocBatch, encodeRow, kernelsFor,
  type Batch, type Ctx, type SeqNetSpec, type SequenceBatch, type SequenceEncodingJson,
} from '../../nn/index.js';
import type { ModelSignature } from '../../registry/index.js';
import { encodeTabular, tabularWidth, type TabularColumn } from './prepare.js';

export const SEQUENCE_BUNDLE_FORMAT = 'kiln.sequence-model@1';

export type SequenceBundleJson = {
  format: typeof SEQUENCE_BUNDLE_FORMAT;
  provenance: { model: string; version: number; runId: string; createdAt: string; kilnVersion: string; configHash: string };
  signature: ModelSignature;
  /** The lastK feature the encoder reads. */
  input: string;
  encoding: SequenceEncodingJson;
  tabular: TabularColumn[];
  classes: Record<string, string[]>;
  net: SeqNetSpec;
  params: { name: string; shape: number[]; data: string }[];
  calibrator: CalibratorJson | null;
  scaling: { basePoints: number; baseOdds: number; pdo: number };
  cutoff: number;
  /**
   * Held-out rows as the model saw them (the lastK value, the as-of time in epoch µs, a joint model's
   * scalar features) and the probability the version gave each at training: a server checks a version
   * scores them alike before it goes live.
   */
  smoke?: { rows: { events: unknown[]; at: number; features: Record<string, number | string | null> }[]; pd: number[] };
  /** sha256 of the rest, so a damaged file is refused. */
  checksum?: string;
};

function checksumOf(b: Omit<SequenceBundleJson, 'checksum'>): string {
  return createHash('sha256').update(JSON.stringify({ ...b, checksum: undefined })).digest('hex');
}

export function sequenceBundleText(b: Omit<SequenceBundleJson, 'checksum'>): string {
  return JSON.stringify({ ...b, checksum: checksumOf(b) });
}

/** The bundle file's name in a run's artifacts (the same as a GBDT's: the format field tells them apart). */
export const SEQUENCE_BUNDLE_FILE = 'model.kiln.json';

export function paramsJsonOf(params: readonly { name: string; shape: readonly number[]; value: Float32Array }[]): SequenceBundleJson['params'] {
  return params.map((p) => ({ name: p.name, shape: [...p.shape], data: Buffer.from(p.value.buffer, p.value.byteOffset, p.value.byteLength).toString('base64') }));
}

export function isSequenceBundle(x: unknown): x is SequenceBundleJson {
  return typeof x === 'object' && x !== null && (x as { format?: unknown }).format === SEQUENCE_BUNDLE_FORMAT;
}

export function parseSequenceBundle(text: string, where = 'the bundle'): SequenceBundleJson {
  let j: unknown;
  try { j = JSON.parse(text); } catch (e) { throw new KilnError('BUNDLE_INVALID', `${where} is not JSON: ${(e as Error).message}`, { cause: e }); }
  return sequenceBundleFrom(j, where);
}

/** A parsed JSON value as a sequence bundle: its format and checksum checked (BUNDLE_INVALID otherwise). */
export function sequenceBundleFrom(j: unknown, where = 'the bundle'): SequenceBundleJson {
  if (!isSequenceBundle(j)) throw new KilnError('BUNDLE_INVALID', `${where} is not a ${SEQUENCE_BUNDLE_FORMAT} bundle (format ${String((j as { format?: unknown })?.format)})`);
  const { checksum, ...rest } = j;
  if (checksum !== undefined && checksum !== checksumOf(rest)) throw new KilnError('BUNDLE_INVALID', `${where} fails its checksum: the file was changed or damaged; export or train it again`);
  return j;
}

export interface SequenceScore {
  /** Calibrated probability of the bad outcome. */
  pd: number;
  /** The default head's logit. */
  raw: number;
  /** The entity embedding (a copy). */
  embedding: Float32Array;
  /** Other heads: a binary task's probability, a next-event task's class probabilities. */
  tasks: Record<string, number | Record<string, number>>;
}

/** A loaded sequence model. Not safe for concurrent use from several threads (one arena). */
export class SequenceModel {
  readonly encoding: SequenceEncoding;
  readonly net: SeqNet;
  readonly calibrator: Calibrator | null;
  private readonly arena: Arena;
  private readonly ctx: Ctx;
  private readonly one: SequenceBatch;
  private readonly oneTab: Float32Array;
  /** The one-row batch over `one` and `oneTab`, built once: `score` allocates no batch per call. */
  private readonly oneBatch: Batch;
  private readonly base: number;

  constructor(readonly bundle: SequenceBundleJson) {
    this.encoding = SequenceEncoding.fromJSON(bundle.encoding);
    this.arena = new Arena(1 << 22);
    this.net = new SeqNet(bundle.net, this.arena);
    const byName = new Map(bundle.params.map((p) => [p.name, p]));
    for (const p of this.net.params.list) {
      const saved = byName.get(p.name);
      if (!saved) throw new KilnError('BUNDLE_INVALID', `sequence bundle has no parameter ${p.name}`);
      const bytes = Buffer.from(saved.data, 'base64');
      if (bytes.length !== p.value.byteLength) throw new KilnError('BUNDLE_INVALID', `sequence bundle parameter ${p.name} has ${bytes.length / 4} values, the network needs ${p.value.length}`);
      new Uint8Array(p.value.buffer, p.value.byteOffset, p.value.byteLength).set(bytes);
    }
    this.calibrator = bundle.calibrator ? calibratorFromJson(bundle.calibrator) : null;
    this.ctx = { arena: this.arena, k: kernelsFor(this.arena), training: false, rng: new Rng(0) };
    this.one = allocBatch(this.encoding, 1, this.arena);
    this.oneTab = this.arena.f32(Math.max(1, tabularWidth(bundle.tabular)));
    this.oneBatch = this.batchOf(this.one, this.oneTab, 1);
    this.base = this.arena.mark();
  }

  static load(path: string): SequenceModel {
    return new SequenceModel(parseSequenceBundle(readFileSync(path, 'utf8'), path));
  }

  private batchOf(b: SequenceBatch, tab: Float32Array, n: number): Batch {
    return {
      n,
      f32: { num: b.numeric, gap: b.gaps, tab },
      i32: { len: b.lengths, ...Object.fromEntries(this.encoding.categorical.map((c, k) => [`c.${c.name}`, b.ids[k]!])) },
    };
  }

  /** The raw head outputs and embedding of the rows of `b` (their lastK values and, for joint models, tabular inputs). */
  private run(b: SequenceBatch, tab: Float32Array, n: number): Float32Array {
    return this.net.predict(this.ctx, this.batchOf(b, tab, n));
  }

  /**
   * Scores one entity. `events`: its lastK value as the online store, the training set or the naive
   * evaluator gives it; `at`: the as-of time (epoch µs, Date or ISO); `features`: scalar feature values by
   * name (joint models only).
   */
  score(events: readonly unknown[] | null | undefined, at: unknown, features: Readonly<Record<string, unknown>> = {}): SequenceScore {
    this.arena.release(this.base);
    encodeRow(this.encoding, this.one, 0, events, at);
    const cols = this.bundle.tabular;
    if (cols.length) encodeTabular(cols, (k) => features[cols[k]!.name] as number | string | null ?? null, this.oneTab, 0);
    const out = this.net.predict(this.ctx, this.oneBatch);
    return this.read(out, 0);
  }

  /** Scores many rows (batches of 256). */
  scoreMany(rows: readonly { events: readonly unknown[] | null | undefined; at: unknown; features?: Readonly<Record<string, unknown>> }[]): SequenceScore[] {
    const out: SequenceScore[] = [];
    const B = 256;
    const tw = tabularWidth(this.bundle.tabular);
    for (let lo = 0; lo < rows.length; lo += B) {
      this.arena.release(this.base);
      const part = rows.slice(lo, lo + B);
      const b = allocBatch(this.encoding, part.length, this.arena);
      const tab = this.arena.f32(Math.max(1, part.length * tw));
      part.forEach((r, i) => {
        encodeRow(this.encoding, b, i, r.events, r.at);
        if (tw) encodeTabular(this.bundle.tabular, (k) => (r.features ?? {})[this.bundle.tabular[k]!.name] as number | string | null ?? null, tab, i * tw);
      });
      const y = this.run(b, tab, part.length);
      for (let i = 0; i < part.length; i++) out.push(this.read(y, i));
    }
    this.arena.release(this.base);
    return out;
  }

  private read(y: Float32Array, i: number): SequenceScore {
    const W = this.net.outputs;
    const o = i * W;
    const raw = y[o]!;
    const p = 1 / (1 + Math.exp(-raw));
    const pd = this.calibrator ? this.calibrator.apply([p])[0]! : p;
    const tasks: SequenceScore['tasks'] = {};
    let col = 1;
    for (const h of this.bundle.net.heads.slice(1)) {
      if (h.type === 'binary') { tasks[h.name] = 1 / (1 + Math.exp(-y[o + col]!)); col += 1; continue; }
      let m = -Infinity;
      for (let c = 0; c < h.classes; c++) m = Math.max(m, y[o + col + c]!);
      let s = 0;
      for (let c = 0; c < h.classes; c++) s += Math.exp(y[o + col + c]! - m);
      const names = this.bundle.classes[h.name] ?? [];
      tasks[h.name] = Object.fromEntries(names.map((nm, c) => [nm, Math.exp(y[o + col + c]! - m) / s]));
      col += h.classes;
    }
    const D = this.net.embeddingDim;
    return { pd, raw, embedding: y.slice(o + W - D, o + W), tasks };
  }
}
