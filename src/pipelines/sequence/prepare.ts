/**
 * From a model's loaded dataset to the tensors a sequence network trains on: the lastK column encoded
 * with an encoding learned on the training split only (then frozen), the scalar features as tabular
 * inputs of the joint model (z-scored with training statistics, a missing flag where values are
 * missing, one-hot categories), the label and the extra tasks' labels. All splits go into one set of
 * shared fields, train rows first, then validation, then test.
 */
import { KilnError } from '../../core/errors.js';
import type { SequenceSpec as SeqConfig } from '../../config/index.js';
import {
  Arena, FIRST_ID, encodeBatch, headWidth, learnEncoding, sharedField,
  type Field, type HeadSpec, type SeqNetSpec, type SequenceEncoding, type SequenceSpec, type TrainData,
} from '../../nn/index.js';
import type { InputColumn, ModelDataset, Split } from '../dataset.js';

/** How a scalar feature becomes tabular inputs of the joint model (frozen at training). */
export type TabularColumn =
  | { name: string; kind: 'numeric'; mean: number; std: number; missingFlag: boolean }
  | { name: string; kind: 'categorical'; categories: string[] };

/** Categorical features with more categories than this are left out of the joint model's inputs. */
export const MAX_ONE_HOT = 32;

export interface Prepared {
  encoding: SequenceEncoding;
  tabular: TabularColumn[];
  /** Width of the tabular inputs (the joint model uses them; a sequence-only net ignores the field). */
  tabWidth: number;
  /** Next-event tasks: the class names (the field's vocabulary), by task name. */
  classes: Record<string, string[]>;
  net: SeqNetSpec;
  data: TrainData;
  ranges: Record<'train' | 'valid' | 'test', [number, number]>;
}

export const SPLIT_NAMES = ['train', 'valid', 'test'] as const;

export function tabularWidth(cols: readonly TabularColumn[]): number {
  return cols.reduce((s, c) => s + (c.kind === 'numeric' ? (c.missingFlag ? 2 : 1) : c.categories.length), 0);
}

/** Learns the tabular columns' statistics on the training split. */
export function learnTabular(inputs: readonly InputColumn[], train: Split): TabularColumn[] {
  return inputs.flatMap((c, j): TabularColumn[] => {
    const x = train.features[j]!;
    if (c.kind === 'categorical') return c.categories && c.categories.length <= MAX_ONE_HOT ? [{ name: c.name, kind: 'categorical', categories: c.categories }] : [];
    let n = 0; let s = 0; let ss = 0; let missing = false;
    for (let i = 0; i < x.length; i++) { const v = x[i]!; if (v !== v) { missing = true; continue; } n++; s += v; ss += v * v; }
    const mean = n ? s / n : 0;
    const std = n > 1 ? Math.sqrt(Math.max(0, ss / n - mean * mean)) : 0;
    return [{ name: c.name, kind: 'numeric', mean, std: std > 0 ? std : 1, missingFlag: missing }];
  });
}

/** Writes one row's tabular inputs from its feature values (by column position in `cols`). */
export function encodeTabular(cols: readonly TabularColumn[], value: (k: number) => number | string | null, out: Float32Array, at: number): void {
  let o = at;
  cols.forEach((c, k) => {
    const v = value(k);
    if (c.kind === 'numeric') {
      const x = typeof v === 'number' ? v : v === null ? NaN : Number(v);
      const ok = x === x;
      out[o++] = ok ? (x - c.mean) / c.std : 0;
      if (c.missingFlag) out[o++] = ok ? 0 : 1;
    } else {
      for (let j = 0; j < c.categories.length; j++) out[o + j] = 0;
      const idx = v === null ? -1 : typeof v === 'number' ? v : c.categories.indexOf(String(v));
      if (idx >= 0 && idx < c.categories.length) out[o + idx] = 1;
      o += c.categories.length;
    }
  });
}

export function netSpec(cfg: SeqConfig, encoding: SequenceEncoding, tabular: number, classes: Record<string, string[]>): SeqNetSpec {
  const heads: HeadSpec[] = [{ name: 'default', type: 'binary', weight: cfg.labelWeight }];
  for (const t of cfg.tasks) {
    if ('column' in t) heads.push({ name: t.name, type: 'binary', weight: t.weight });
    else heads.push({ name: t.name, type: 'softmax', classes: classes[t.name]!.length, weight: t.weight });
  }
  const categorical = encoding.categorical.map((c) => {
    const vocab = FIRST_ID + c.vocab.length;
    return { name: c.name, vocab, dim: Math.max(2, Math.min(32, Math.round(1.6 * Math.pow(vocab, 0.56)))) };
  });
  const encoder: SeqNetSpec['encoder'] = cfg.encoder === 'gru'
    ? { type: 'gru', hidden: cfg.size }
    : { type: 'transformer', dim: cfg.size, layers: cfg.layers, heads: cfg.heads, ff: cfg.ff ?? 4 * cfg.size, dropout: cfg.dropout, positions: cfg.positions };
  return {
    kind: 'seq', seed: cfg.seed, steps: encoding.steps, numeric: encoding.width, categorical, encoder,
    pooling: cfg.pooling ?? (cfg.encoder === 'gru' ? 'last' : 'mean'), tabular: cfg.joint ? tabular : 0, trunk: cfg.trunk, heads,
  };
}

/**
 * Encodes every split. `seq` is the lastK feature's spec; `nextFields` maps a next-event task to the
 * categorical field its classes come from.
 */
export function prepare(cfg: SeqConfig, seq: SequenceSpec, data: ModelDataset): Prepared {
  const { train } = data.splits;
  const col = seq.feature;
  const rowsOf = (s: Split): { at: number; events: unknown[] }[] =>
    s.sequences[col]!.map((events, i) => ({ at: s.timeMs![i]! * 1000, events: (events ?? []) as unknown[] }));
  const encoding = learnEncoding(seq, rowsOf(train), { steps: seq.k });
  const tabular = learnTabular(data.inputs, train);
  const tabWidth = tabularWidth(tabular);
  const classes: Record<string, string[]> = {};
  for (const t of cfg.tasks) {
    if (!('nextEvent' in t)) continue;
    const field = encoding.categorical.find((c) => c.name === t.nextEvent);
    if (!field) throw new KilnError('CONFIG_INVALID', `next-event task '${t.name}': '${t.nextEvent}' is not a categorical field of lastK feature '${col}' (categorical fields: ${encoding.categorical.map((c) => c.name).join(', ') || 'none'})`, { path: ['sequence', 'tasks'] });
    classes[t.name] = [...field.vocab];
  }
  const net = netSpec(cfg, encoding, tabWidth, classes);

  const total = SPLIT_NAMES.reduce((s, k) => s + data.splits[k].rows, 0);
  const T = encoding.steps;
  const F = encoding.width;
  const num = new Float32Array(total * T * F);
  const gap = new Float32Array(total * T);
  const len = new Int32Array(total);
  const ids = encoding.categorical.map(() => new Int32Array(total * T));
  const tab = new Float32Array(total * tabWidth);
  const heads = net.heads;
  const y = heads.map((h) => (h.type === 'binary' ? new Float32Array(total) : new Int32Array(total)));
  const ranges = {} as Prepared['ranges'];
  let at = 0;
  const CHUNK = 4096;
  for (const name of SPLIT_NAMES) {
    const s = data.splits[name];
    ranges[name] = [at, at + s.rows];
    const rows = rowsOf(s);
    for (let lo = 0; lo < s.rows; lo += CHUNK) {
      const hi = Math.min(s.rows, lo + CHUNK);
      const arena = new Arena((hi - lo) * T * (F + 1 + ids.length) * 4 + (1 << 16));
      const b = encodeBatch(encoding, rows.slice(lo, hi), arena);
      num.set(b.numeric, (at + lo) * T * F);
      gap.set(b.gaps, (at + lo) * T);
      len.set(b.lengths, at + lo);
      b.ids.forEach((x, c) => ids[c]!.set(x, (at + lo) * T));
    }
    if (tabWidth > 0) {
      const idx = tabular.map((c) => data.inputs.findIndex((i) => i.name === c.name));
      for (let i = 0; i < s.rows; i++) encodeTabular(tabular, (k) => s.features[idx[k]!]![i]!, tab, (at + i) * tabWidth);
    }
    heads.forEach((h, k) => {
      const out = y[k]!;
      if (h.name === 'default') { for (let i = 0; i < s.rows; i++) out[at + i] = s.label[i]!; return; }
      if (h.type === 'binary') { const l = s.labels[h.name]!; for (let i = 0; i < s.rows; i++) out[at + i] = l[i]!; return; }
      const vocab = new Map(classes[h.name]!.map((v, c) => [v, c]));
      const raw = s.raw[h.name]!;
      for (let i = 0; i < s.rows; i++) { const v = raw[i]; out[at + i] = v === null || v === undefined ? -1 : vocab.get(String(v)) ?? -1; }
    });
    at += s.rows;
  }
  const fields: Field[] = [sharedField('num', T * F, num), sharedField('gap', T, gap), sharedField('len', 1, len)];
  encoding.categorical.forEach((c, k) => fields.push(sharedField(`c.${c.name}`, T, ids[k]!)));
  if (tabWidth > 0) fields.push(sharedField('tab', tabWidth, tab));
  heads.forEach((h, k) => fields.push(sharedField(`y.${h.name}`, 1, y[k]!)));
  void headWidth;
  return { encoding, tabular, tabWidth, classes, net, data: { rows: total, fields }, ranges };
}
