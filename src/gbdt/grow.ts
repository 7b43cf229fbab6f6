/**
 * Grows one tree on binned data. Depthwise expands a whole level per step, lossguide the leaf with the
 * highest gain (ties: the older node), as XGBoost's hist driver does. Per step: partition the rows of
 * the nodes being split, build the histogram of each smaller child (in fixed row blocks, block
 * histograms summed in block order), get each larger sibling by subtraction from the parent, and search
 * the children's splits. Monotone bounds follow XGBoost: children inherit the parent's bounds, a split on
 * a constrained feature caps them at the mid-point of the two child weights, and weights are clamped.
 */
import { splitThreshold, type BinnedMatrix } from './binning.js';
import type { Arena } from './arena.js';
import type { TaskPool } from './pool.js';
import { clamp, leafWeight, type SplitCandidate, type SplitParams } from './split.js';
import { SPLIT_IN, SPLIT_INTS, SPLIT_OUT, TASK_HIST, TASK_INTS, TASK_PARTITION, TASK_REDUCE, TASK_SPLIT, type SharedName } from './tasks.js';
import { TreeBuilder } from './tree.js';

/** Rows per histogram task. Fixed, so the float summation order never depends on the thread count. */
export const HIST_BLOCK_ROWS = 32768;
/** A histogram dispatch of fewer row blocks than this many per thread cuts blocks into word groups. */
const GROUP_BELOW_TASKS = 2;
/** Words (4 features each) one histogram task covers at most: 16 words are 64 features, 266 KB of histogram. */
const MAX_GROUP_WORDS = 16;
/** XGBoost's kRtEps: a split must reduce the loss by more than this. */
const RT_EPS = 1e-6;
const REDUCE_CHUNKS = 8;

export interface GrowParams {
  split: SplitParams;
  monotone: Int8Array;
  maxDepth: number;
  maxLeaves: number;
  lossguide: boolean;
  gamma: number;
  eta: number;
}

interface GNode {
  id: number;
  begin: number;
  end: number;
  G: number;
  H: number;
  depth: number;
  lower: number;
  upper: number;
  weight: number;
  slot: number;
  /** The smaller sibling's slot, subtracted from this node's (its parent's histogram) before its split search; -1: none. */
  minus: number;
  best: SplitCandidate | null;
}

/** Rows of one leaf after growing: idx[begin..end) in the shared row index. */
export interface LeafRange {
  node: number;
  begin: number;
  end: number;
}

/** Histogram slots in shared memory, recycled across nodes and trees. */
export class SlotPool {
  private readonly free: number[] = [];
  private count = 0;
  constructor(private readonly pool: TaskPool, private readonly arena: Arena, readonly slotLength: number) {}

  take(): number {
    const id = this.free.pop();
    if (id !== undefined) return id;
    const fresh = this.count++;
    this.pool.shareSlot(fresh, this.arena.alloc(this.slotLength * 8));
    return fresh;
  }

  give(id: number): void {
    if (id >= 0) this.free.push(id);
  }
}

/** Grows shared tables (tasks, splits, ...) by doubling; workers get the new buffer before the next dispatch. */
function ensure(pool: TaskPool, name: SharedName, elems: number, bytesPerElem: number): void {
  const cur = pool.state[name] as { length: number };
  if (cur.length >= elems) return;
  const bytes = Math.max(elems, cur.length * 2, 64) * bytesPerElem;
  pool.share(name, { buf: new SharedArrayBuffer(bytes), byteOffset: 0, byteLength: bytes });
}

export class TreeGrower {
  readonly slots: SlotPool;

  constructor(private readonly pool: TaskPool, arena: Arena, private readonly matrix: BinnedMatrix, private readonly p: GrowParams) {
    this.slots = new SlotPool(pool, arena, matrix.rowStride * matrix.histStride * 2);
    ensure(pool, 'allowed', matrix.nFeatures, 1);
  }

  /**
   * Grows a tree over rows idx[0..nRows) (gradients in the shared grad/hess) using the features in
   * `allowed`; returns the tree and its leaves' row ranges (the caller adds leaf values to those rows' margins).
   */
  grow(nRows: number, allowed: Uint8Array): { tree: TreeBuilder; leaves: LeafRange[] } {
    this.pool.state.allowed.set(allowed);
    const tree = new TreeBuilder();
    const leaves: LeafRange[] = [];
    const { p } = this;
    const st = this.pool.state;
    const root: GNode = { id: 0, begin: 0, end: nRows, G: 0, H: 0, depth: 0, lower: -Infinity, upper: Infinity, weight: 0, slot: -1, minus: -1, best: null };
    if (this.wantsSplit(root)) {
      root.slot = this.slots.take();
      this.buildHistograms([root]);
      // Root sums from feature 0's histogram (every row is in exactly one of its bins).
      const h = st.slots[root.slot]!;
      for (let k = 0; k < 2 * this.matrix.histStride; k += 2) { root.G += h[k]!; root.H += h[k + 1]!; }
    } else {
      for (let i = 0; i < nRows; i++) { const r = st.idx[i]!; root.G += st.grad[r]!; root.H += st.hess[r]!; }
    }
    root.weight = leafWeight(root.G, root.H, p.split);
    tree.setNode(0, root.weight, root.H);
    if (root.slot >= 0) this.evaluateAll([root]);
    let nLeaves = 1;
    const finishLeaf = (n: GNode): void => {
      tree.setLeaf(n.id, n.weight * p.eta);
      leaves.push({ node: n.id, begin: n.begin, end: n.end });
      this.slots.give(n.slot);
      n.slot = -1;
    };
    const canExpand = (n: GNode): boolean =>
      n.best !== null && n.best.gain > RT_EPS && n.best.gain >= p.gamma && (p.maxLeaves === 0 || nLeaves < p.maxLeaves);

    if (!p.lossguide) {
      let level = [root];
      while (level.length > 0) {
        const expand: GNode[] = [];
        for (const n of level) {
          if (canExpand(n)) { expand.push(n); nLeaves++; } else finishLeaf(n);
        }
        level = this.expand(tree, expand);
      }
    } else {
      // Max-heap on (gain, -id): the highest gain first, the older node on ties.
      const heap: GNode[] = [];
      const better = (a: GNode, b: GNode): boolean => {
        const ga = a.best ? a.best.gain : -Infinity;
        const gb = b.best ? b.best.gain : -Infinity;
        return ga > gb || (ga === gb && a.id < b.id);
      };
      const push = (n: GNode): void => {
        heap.push(n);
        for (let i = heap.length - 1; i > 0;) {
          const up = (i - 1) >> 1;
          if (!better(heap[i]!, heap[up]!)) break;
          [heap[i], heap[up]] = [heap[up]!, heap[i]!];
          i = up;
        }
      };
      const pop = (): GNode => {
        const top = heap[0]!;
        const last = heap.pop()!;
        if (heap.length > 0) {
          heap[0] = last;
          for (let i = 0; ;) {
            const l = 2 * i + 1;
            const r = l + 1;
            let m = i;
            if (l < heap.length && better(heap[l]!, heap[m]!)) m = l;
            if (r < heap.length && better(heap[r]!, heap[m]!)) m = r;
            if (m === i) break;
            [heap[i], heap[m]] = [heap[m]!, heap[i]!];
            i = m;
          }
        }
        return top;
      };
      push(root);
      while (heap.length > 0) {
        const n = pop();
        if (!canExpand(n)) { finishLeaf(n); continue; }
        nLeaves++;
        for (const c of this.expand(tree, [n])) push(c);
      }
    }
    return { tree, leaves };
  }

  private wantsSplit(n: GNode): boolean {
    return (this.p.maxDepth === 0 || n.depth < this.p.maxDepth) && n.end - n.begin >= 2;
  }

  /** Best splits of the given nodes (their histograms are in their slots), one task per node. */
  private evaluateAll(nodes: GNode[]): void {
    if (nodes.length === 0) return;
    const { pool } = this;
    const hs = this.matrix.histStride;
    ensure(pool, 'splitIn', nodes.length * SPLIT_IN, 8);
    ensure(pool, 'splitOut', nodes.length * SPLIT_OUT, 8);
    ensure(pool, 'catOut', nodes.length * hs, 1);
    ensure(pool, 'tasks', nodes.length * TASK_INTS, 4);
    const st = pool.state;
    nodes.forEach((n, k) => {
      const i = k * SPLIT_IN;
      st.splitIn[i] = n.G; st.splitIn[i + 1] = n.H; st.splitIn[i + 2] = n.lower; st.splitIn[i + 3] = n.upper; st.splitIn[i + 4] = n.weight; st.splitIn[i + 5] = n.slot; st.splitIn[i + 6] = n.minus;
      st.tasks[k * TASK_INTS] = TASK_SPLIT;
      st.tasks[k * TASK_INTS + 1] = k;
    });
    pool.run(nodes.length);
    for (const n of nodes) n.minus = -1;
    const O = st.splitOut;
    nodes.forEach((n, k) => {
      const j = k * SPLIT_OUT;
      if (O[j] !== 1) { n.best = null; return; }
      const feature = O[j + 2]!;
      const categorical = O[j + 5] === 1;
      n.best = {
        gain: O[j + 1]!, feature, bin: O[j + 3]!, defaultLeft: O[j + 4] === 1, categorical,
        catRight: categorical ? st.catOut.slice(k * hs, k * hs + this.matrix.features[feature]!.nBins) : null,
        GL: O[j + 6]!, HL: O[j + 7]!, GR: O[j + 8]!, HR: O[j + 9]!, wL: O[j + 10]!, wR: O[j + 11]!,
      };
    });
  }

  /** Splits the given nodes (partition, children, histograms, child splits); returns the children. */
  private expand(tree: TreeBuilder, nodes: GNode[]): GNode[] {
    if (nodes.length === 0) return [];
    const { pool, matrix, p } = this;
    const st = pool.state;
    ensure(pool, 'tasks', nodes.length * TASK_INTS, 4);
    ensure(pool, 'splits', nodes.length * SPLIT_INTS, 4);
    ensure(pool, 'results', nodes.length, 4);
    let maskBytes = 0;
    for (const n of nodes) if (n.best!.categorical) maskBytes += matrix.features[n.best!.feature]!.nBins;
    ensure(pool, 'catMask', maskBytes, 1);
    let maskOff = 0;
    nodes.forEach((n, k) => {
      const b = n.best!;
      const fb = matrix.features[b.feature]!;
      const d = k * SPLIT_INTS;
      st.splits[d] = b.feature;
      st.splits[d + 1] = b.bin;
      st.splits[d + 2] = b.defaultLeft ? 1 : 0;
      st.splits[d + 3] = fb.nBins;
      st.splits[d + 4] = b.categorical ? 1 : 0;
      st.splits[d + 5] = maskOff;
      if (b.catRight) { st.catMask.set(b.catRight, maskOff); maskOff += fb.nBins; }
      const o = k * TASK_INTS;
      st.tasks[o] = TASK_PARTITION;
      st.tasks[o + 1] = k;
      st.tasks[o + 2] = n.begin;
      st.tasks[o + 3] = n.end;
    });
    pool.run(nodes.length);

    const children: GNode[] = [];
    const build: GNode[] = [];
    const subtract: [GNode, GNode, GNode][] = [];
    nodes.forEach((n, k) => {
      const b = n.best!;
      const fb = matrix.features[b.feature]!;
      const nLeft = st.results[k]!;
      let codes: Int32Array | null = null;
      if (b.catRight) {
        const c: number[] = [];
        for (let bin = 0; bin < fb.nBins; bin++) if (b.catRight[bin]) c.push(fb.categories[bin]!);
        codes = Int32Array.from(c);
      }
      const [lid, rid] = tree.split(n.id, b.feature, b.categorical ? 0 : splitThreshold(fb, b.bin), b.defaultLeft, b.gain,
        { feature: b.feature, bin: b.bin, missingBin: fb.nBins, defaultLeft: b.defaultLeft, catRight: b.catRight }, codes);
      let lLo = n.lower, lHi = n.upper, rLo = n.lower, rHi = n.upper;
      const c = p.monotone[b.feature]!;
      if (c !== 0) {
        const mid = (b.wL + b.wR) / 2;
        if (c > 0) { lHi = mid; rLo = mid; } else { lLo = mid; rHi = mid; }
      }
      const mk = (id: number, begin: number, end: number, G: number, H: number, lo: number, hi: number): GNode => {
        const w = clamp(leafWeight(G, H, p.split), lo, hi);
        tree.setNode(id, w, H);
        return { id, begin, end, G, H, depth: n.depth + 1, lower: lo, upper: hi, weight: w, slot: -1, minus: -1, best: null };
      };
      const L = mk(lid, n.begin, n.begin + nLeft, b.GL, b.HL, lLo, lHi);
      const R = mk(rid, n.begin + nLeft, n.end, b.GR, b.HR, rLo, rHi);
      children.push(L, R);
      const needL = this.wantsSplit(L);
      const needR = this.wantsSplit(R);
      if (!needL && !needR) { this.slots.give(n.slot); n.slot = -1; return; }
      const small = L.end - L.begin <= R.end - R.begin ? L : R;
      const large = small === L ? R : L;
      small.slot = this.slots.take();
      build.push(small);
      if (small === L ? needR : needL) subtract.push([n, small, large]);
      else { this.slots.give(n.slot); n.slot = -1; }
    });
    this.buildHistograms(build);
    // The larger child takes its parent's slot; its split task first subtracts the smaller sibling's
    // histogram from it (in parallel, and in cache for the scan that follows).
    for (const [parent, small, large] of subtract) {
      large.slot = parent.slot;
      large.minus = small.slot;
      parent.slot = -1;
    }
    const release: number[] = [];
    for (const c of children) {
      if (c.slot >= 0 && !this.wantsSplit(c)) { release.push(c.slot); c.slot = -1; }
    }
    this.evaluateAll(children.filter((c) => c.slot >= 0));
    for (const s of release) this.slots.give(s);
    return children;
  }

  /** Histograms of the given nodes into their slots: fixed row blocks, then block sums in block order. */
  private buildHistograms(nodes: GNode[]): void {
    if (nodes.length === 0) return;
    const { pool } = this;
    const st = pool.state;
    const words = this.matrix.bins instanceof Uint8Array ? this.matrix.rowStride >>> 2 : 0;
    let nBlocks = 0;
    for (const n of nodes) nBlocks += Math.max(1, Math.ceil((n.end - n.begin) / HIST_BLOCK_ROWS));
    // Too few blocks to keep every thread busy (one lossguide node, the top levels): each block's words in
    // groups, a task each. Each bin is still summed in row order, so the model does not change.
    // Wide rows likewise, so the part of the histogram a task updates stays in the core's cache.
    const forThreads = pool.threads > 1 && words > 1 && nBlocks < GROUP_BELOW_TASKS * pool.threads ? Math.ceil((GROUP_BELOW_TASKS * pool.threads) / nBlocks) : 1;
    const groups = words === 0 ? 1 : Math.min(words, Math.max(forThreads, Math.ceil(words / MAX_GROUP_WORDS)));
    ensure(pool, 'tasks', nBlocks * groups * TASK_INTS, 4);
    const scratch: number[] = [];
    const reduces: { dst: number; srcs: number[] }[] = [];
    let t = 0;
    for (const n of nodes) {
      const srcs: number[] = [];
      for (let b = n.begin; b < n.end || b === n.begin; b += HIST_BLOCK_ROWS) {
        const slot = b === n.begin ? n.slot : this.slots.take();
        if (b !== n.begin) { srcs.push(slot); scratch.push(slot); }
        for (let g = 0; g < groups; g++) {
          const o = t++ * TASK_INTS;
          st.tasks[o] = TASK_HIST;
          st.tasks[o + 1] = slot;
          st.tasks[o + 2] = b;
          st.tasks[o + 3] = Math.min(n.end, b + HIST_BLOCK_ROWS);
          st.tasks[o + 4] = Math.floor((g * words) / groups);
          st.tasks[o + 5] = Math.floor(((g + 1) * words) / groups);
        }
        if (n.end === n.begin) break;
      }
      if (srcs.length > 0) reduces.push({ dst: n.slot, srcs });
    }
    pool.run(t);
    if (reduces.length === 0) return;
    const len = this.slots.slotLength;
    const chunk = Math.ceil(len / REDUCE_CHUNKS / 2) * 2;
    let auxLen = 0;
    for (const r of reduces) auxLen += r.srcs.length;
    ensure(pool, 'aux', auxLen, 4);
    ensure(pool, 'tasks', reduces.length * REDUCE_CHUNKS * TASK_INTS, 4);
    let a = 0;
    t = 0;
    for (const r of reduces) {
      st.aux.set(r.srcs, a);
      for (let from = 0; from < len; from += chunk) {
        const o = t++ * TASK_INTS;
        st.tasks[o] = TASK_REDUCE;
        st.tasks[o + 1] = r.dst;
        st.tasks[o + 2] = a;
        st.tasks[o + 3] = r.srcs.length;
        st.tasks[o + 4] = from;
        st.tasks[o + 5] = Math.min(len, from + chunk);
      }
      a += r.srcs.length;
    }
    pool.run(t);
    for (const s of scratch) this.slots.give(s);
  }
}
