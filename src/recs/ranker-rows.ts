/**
 * The ranker's training rows, built from train only. One fold: a stratified share `ratio` of each user's
 * rows is held out; `folds` = k > 1: each user's rows are dealt into k folds and every fold is held out
 * in turn (k times the rows, k fits of the generators). For each held-out part the generators are fitted
 * on the rest of train, and every user with held-out items gives one query group: its candidates, their
 * features, label 1 for a held-out item and 0 otherwise. Groups without a positive (or with nothing but
 * positives) teach nothing and are left out.
 */
import type { FeatureBuilder } from './features.js';
import type { CandidateGenerator } from './generator.js';
import { stratifiedFolds, stratifiedRows } from './split.js';
import { subsetInteractions, userItems, type InteractionTable } from './table.js';

export interface RankingRows {
  names: string[];
  categorical: string[];
  /** Column-major features, one Float32Array per name. */
  cols: Float32Array[];
  label: Float32Array;
  /** Query group sizes in row order, and the user of each group. */
  groups: number[];
  groupUser: number[];
  /** Held-out items in all, and how many of them were among the candidates. */
  held: number;
  found: number;
}

export interface RowsPlan {
  candidates: number;
  perGenerator: number;
  valRatio: number;
  folds: number;
  valSeed: number;
}

/** One held-out part: rows of the users with held-out items. */
function partRows(fb: FeatureBuilder, labels: InteractionTable, plan: RowsPlan): RankingRows {
  const held = userItems(labels);
  const users: number[] = [];
  for (let u = 0; u < labels.nUsers; u++) if (held.offsets[u + 1]! > held.offsets[u]!) users.push(u);
  const cap = users.length * plan.candidates;
  const cols = fb.names.map(() => new Float32Array(cap));
  const label = new Float32Array(cap);
  const groups: number[] = [];
  const groupUser: number[] = [];
  let rows = 0;
  let heldTotal = 0;
  let found = 0;
  for (const u of users) {
    const rel = held.items.subarray(held.offsets[u]!, held.offsets[u + 1]!);
    heldTotal += rel.length;
    fb.score(u);
    const items = fb.union(plan.candidates, plan.perGenerator);
    let pos = 0;
    for (let k = 0; k < items.length; k++) {
      const y = rel.includes(items[k]!) ? 1 : 0;
      label[rows + k] = y;
      pos += y;
    }
    found += pos;
    if (pos === 0 || pos === items.length) continue;
    fb.write(items, cols, rows);
    rows += items.length;
    groups.push(items.length);
    groupUser.push(u);
  }
  return { names: fb.names, categorical: fb.categorical, cols: cols.map((c) => c.slice(0, rows)), label: label.slice(0, rows), groups, groupUser, held: heldTotal, found };
}

export function concatRows(parts: RankingRows[]): RankingRows {
  const n = parts.reduce((s, p) => s + p.label.length, 0);
  const first = parts[0]!;
  const cols = first.names.map(() => new Float32Array(n));
  const label = new Float32Array(n);
  let o = 0;
  for (const p of parts) {
    p.cols.forEach((c, f) => cols[f]!.set(c, o));
    label.set(p.label, o);
    o += p.label.length;
  }
  return {
    names: first.names, categorical: first.categorical, cols, label,
    groups: parts.flatMap((p) => p.groups), groupUser: parts.flatMap((p) => p.groupUser),
    held: parts.reduce((s, p) => s + p.held, 0), found: parts.reduce((s, p) => s + p.found, 0),
  };
}

/** The rows of every held-out part; `build` fits the generators on a fit part and returns its features. */
export async function trainingRows(train: InteractionTable, plan: RowsPlan, build: (fitPart: InteractionTable) => Promise<FeatureBuilder>): Promise<RankingRows> {
  const parts: { fit: Int32Array; held: Int32Array }[] = [];
  if (plan.folds <= 1) {
    const { first, second } = stratifiedRows(train, { ratio: 1 - plan.valRatio, seed: plan.valSeed });
    parts.push({ fit: first, held: second });
  } else {
    const fold = stratifiedFolds(train, plan.folds, plan.valSeed);
    for (let f = 0; f < plan.folds; f++) {
      const fit: number[] = [];
      const held: number[] = [];
      fold.forEach((g, r) => (g === f ? held : fit).push(r));
      parts.push({ fit: Int32Array.from(fit), held: Int32Array.from(held) });
    }
  }
  const rows: RankingRows[] = [];
  for (const p of parts) {
    const fb = await build(subsetInteractions(train, p.fit));
    rows.push(partRows(fb, subsetInteractions(train, p.held), plan));
  }
  return concatRows(rows);
}

/** Rows of the chosen groups, in order, and their row indices. */
export function pickGroups(cols: Float32Array[], label: Float32Array, groups: number[], keep: boolean[]): { cols: Float32Array[]; label: Float32Array; group: number[] } {
  const starts: number[] = [];
  let o = 0;
  for (const g of groups) { starts.push(o); o += g; }
  const rows: number[] = [];
  const group: number[] = [];
  groups.forEach((g, q) => {
    if (!keep[q]) return;
    for (let r = 0; r < g; r++) rows.push(starts[q]! + r);
    group.push(g);
  });
  return { cols: cols.map((c) => Float32Array.from(rows, (r) => c[r]!)), label: Float32Array.from(rows, (r) => label[r]!), group };
}

/** The base margin of rows: scale x the named feature (0 where it is missing). */
export function baseMargins(cols: Float32Array[], names: string[], base: { feature: string; scale: number } | null, n: number): Float64Array | null {
  if (!base) return null;
  const col = cols[names.indexOf(base.feature)]!;
  const out = new Float64Array(n);
  for (let r = 0; r < n; r++) { const v = col[r]!; out[r] = v === v ? base.scale * v : 0; }
  return out;
}

/** Fits each spec in order (sequentially: memory and determinism). */
export async function fitEach<S>(specs: S[], fit: (s: S) => Promise<CandidateGenerator>): Promise<CandidateGenerator[]> {
  const out: CandidateGenerator[] = [];
  for (const s of specs) out.push(await fit(s));
  return out;
}
