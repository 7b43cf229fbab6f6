/**
 * The band kernel: point-in-time aggregates of many windows and buckets in one walk per probe.
 *
 * Events of a batch of entities arrive sorted by (entity, time). Each event is assigned once to its
 * groups (filter x bucket, `assignGroups`). For a probe (entity, t), the walk goes from the newest
 * visible event back; the windows nest, so when an event's age passes a window's edge, every column of
 * that window is read off the running states (`emit`), and the walk ends past the longest finite window
 * (or runs to the first event for lifetime features). Count, sum, min and max merge trivially; standard
 * deviations keep Welford moments; distinct counts stamp each value code with the probe's serial.
 * Everything is a pure function over typed arrays; I/O is in run.ts.
 */
import { EMIT, SLOT, type BandPlan } from './plan.js';

export interface EventBatch {
  /** Events sorted by (entity, time): time (µs) and availability (µs, NaN: at event time). */
  readonly ts: Float64Array;
  readonly av: Float64Array;
  /** Plan columns, in plan order (NaN is NULL). Coded columns hold dense integer codes. */
  readonly cols: readonly Float64Array[];
  readonly n: number;
}

/** Group membership of each event, as CSR: groups of event i are groups[start[i]..start[i+1]). */
export interface Membership {
  readonly start: Int32Array;
  readonly groups: Int32Array;
}

/** Lookup from (filter + 1, dimension + 1, code) to a group (-1: none). */
export function groupLookup(plan: BandPlan): { lut: Int32Array; base: (filter: number, dim: number) => number; width: number } {
  const dims = plan.dimSizes.length;
  const width = Math.max(1, ...plan.dimSizes);
  const filters = plan.filterColumns.length;
  const lut = new Int32Array((filters + 1) * (dims + 1) * width).fill(-1);
  const base = (filter: number, dim: number): number => ((filter + 1) * (dims + 1) + (dim + 1)) * width;
  plan.groups.forEach((g, i) => { lut[base(g.filter, g.dim) + (g.code < 0 ? 0 : g.code)] = i; });
  return { lut, base, width };
}

/** Assigns every event of the batch to its groups. */
export function assignGroups(plan: BandPlan, batch: EventBatch, lookup = groupLookup(plan)): Membership {
  const { lut, base } = lookup;
  const filters = plan.filterColumns.length;
  const dims = plan.dimSizes.length;
  const start = new Int32Array(batch.n + 1);
  let groups = new Int32Array(Math.max(16, batch.n * 2));
  let k = 0;
  const push = (g: number): void => {
    if (k === groups.length) { const next = new Int32Array(groups.length * 2); next.set(groups); groups = next; }
    groups[k++] = g;
  };
  const flagCols = plan.filterColumns.map((c) => batch.cols[c]!);
  const dimCols = plan.dimColumns.map((c) => batch.cols[c]!);
  for (let i = 0; i < batch.n; i++) {
    start[i] = k;
    for (let f = -1; f < filters; f++) {
      if (f >= 0 && flagCols[f]![i] !== 1) continue;
      const all = lut[base(f, -1)]!;
      if (all >= 0) push(all);
      for (let d = 0; d < dims; d++) {
        const code = dimCols[d]![i]!;
        if (code >= 0) {
          const g = lut[base(f, d) + code]!;
          if (g >= 0) push(g);
        }
      }
    }
  }
  start[batch.n] = k;
  return { start, groups: groups.subarray(0, k) };
}

/** Per-probe scratch: running states and distinct stamps, reused across probes. */
export class ProbeScratch {
  readonly state: Float64Array;
  stamps: Int32Array[];
  serial = 0;
  constructor(private readonly plan: BandPlan) {
    this.state = new Float64Array(plan.init.length);
    this.stamps = plan.distinctColumns.map(() => new Int32Array(1024));
  }
  /** Makes the stamp arrays hold codes below `size`. */
  ensureCodes(size: number): void {
    this.stamps = this.stamps.map((s) => {
      if (s.length >= size) return s;
      const next = new Int32Array(Math.max(size, s.length * 2));
      next.set(s);
      return next;
    });
  }
  reset(): void {
    this.state.set(this.plan.init);
    this.serial++;
  }
}

/**
 * Computes one probe: entity events are batch rows [from, to) (sorted by time), the probe time `t` (µs);
 * writes every output column into `out[column][row]` (NaN: NULL). `inclusive`: events at `t` count.
 */
export function computeProbe(
  plan: BandPlan, batch: EventBatch, member: Membership, scratch: ProbeScratch,
  from: number, to: number, t: number, inclusive: boolean, out: readonly Float64Array[], row: number,
): void {
  scratch.reset();
  const st = scratch.state;
  const { ts, av, cols } = batch;
  const { start, groups } = member;
  const programs = plan.programs;
  const windows = plan.windowsUs;
  const nFinite = windows.length;
  const stamps = scratch.stamps;
  const serial = scratch.serial;
  // The newest visible event: the last with ts < t (strict) or ts <= t (inclusive).
  let lo = from;
  let hi = to;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (inclusive ? ts[mid]! <= t : ts[mid]! < t) lo = mid + 1; else hi = mid;
  }
  let w = 0;
  for (let i = lo - 1; i >= from; i--) {
    const age = t - ts[i]!;
    while (w < nFinite && (inclusive ? age >= windows[w]! : age > windows[w]!)) emit(plan, w++, st, t, out, row);
    if (w === nFinite && !plan.lifetime) break;
    const a = av[i]!;
    if (a === a && (inclusive ? a > t : a >= t)) continue;
    const x = ts[i]!;
    for (let m = start[i]!, end = start[i + 1]!; m < end; m++) {
      const prog = programs[groups[m]!]!;
      for (let p = 0; p < prog.length; p += 3) {
        const off = prog[p + 1]!;
        switch (prog[p]) {
          case SLOT.count: st[off]!++; break;
          case SLOT.numeric: {
            const v = cols[prog[p + 2]!]![i]!;
            if (v !== v) break;
            st[off]!++;
            st[off + 1]! += v;
            if (v < st[off + 2]!) st[off + 2] = v;
            if (v > st[off + 3]!) st[off + 3] = v;
            const n = ++st[off + 4]!;
            const d = v - st[off + 5]!;
            st[off + 5]! += d / n;
            st[off + 6]! += d * (v - st[off + 5]!);
            break;
          }
          case SLOT.distinct: {
            const d = prog[p + 2]!;
            const code = cols[plan.distinctColumns[d]!]![i]!;
            if (code !== code) break;
            const s = stamps[d]!;
            if (s[code] !== serial) { s[code] = serial; st[off]!++; }
            break;
          }
          case SLOT.latest: if (st[off] !== st[off]) st[off] = x; break;
        }
      }
    }
  }
  while (w < nFinite) emit(plan, w++, st, t, out, row);
  if (plan.lifetime) emit(plan, nFinite, st, t, out, row);
}

/** Reads window `w`'s columns off the running states. */
function emit(plan: BandPlan, w: number, st: Float64Array, t: number, out: readonly Float64Array[], row: number): void {
  const e = plan.emits[w]!;
  for (let p = 0; p < e.length; p += 4) {
    const off = e[p + 1]!;
    const col = out[e[p + 2]!]!;
    let v: number;
    switch (e[p]) {
      case EMIT.count: case EMIT.distinct: case EMIT.sum: v = st[off + (e[p] === EMIT.sum ? 1 : 0)]!; break;
      case EMIT.mean: v = st[off]! > 0 ? st[off + 1]! / st[off]! : NaN; break;
      case EMIT.min: v = st[off]! > 0 ? st[off + 2]! : NaN; break;
      case EMIT.max: v = st[off]! > 0 ? st[off + 3]! : NaN; break;
      case EMIT.stddev: { const n = st[off + 4]!; v = n > 1 ? Math.sqrt(st[off + 6]! / (n - 1)) : NaN; break; }
      case EMIT.since: { const x = st[off]!; v = x === x ? (t - x) / e[p + 3]! : NaN; break; }
      default: v = NaN;
    }
    col[row] = v;
  }
}

