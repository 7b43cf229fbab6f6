/**
 * The inverted index of the search stage as flat typed arrays, and its BM25F kernels.
 *
 * Units (documents, or passages) have F fields. Postings are CSR by term: the postings of term t are
 * p in termPtr[t]..termPtr[t+1], unit[p] ascending, tf[p*F + f] the count of t in field f of that unit
 * (saturating at 65535). len[u*F + f] is the number of terms (after stop words) in field f of unit u.
 *
 * Scoring, BM25F in the form of Robertson and Zaragoza (weighted term frequencies, each field length-
 * normalised on its own, one saturation):
 *   tf~(t, u) = sum_f w_f tf_f(t, u) / (1 - b_f + b_f len_f(u) / avglen_f)
 *   score(q, u) = sum over query terms t (with their multiplicity) of idf(t) (k1 + 1) tf~ / (k1 + tf~)
 *   idf(t) = ln(1 + (N - df + 0.5) / (df + 0.5)), df = units with t in any field (never negative)
 * With one field of weight 1 this is plain Okapi BM25.
 */
export interface Postings {
  nUnits: number;
  nFields: number;
  termPtr: Int32Array;
  unit: Int32Array;
  tf: Uint16Array;
  len: Int32Array;
}

const TF_MAX = 65535;

function grow<T extends Int32Array | Uint16Array>(a: T, need: number, make: (n: number) => T): T {
  if (need <= a.length) return a;
  const b = make(Math.max(need, a.length * 2));
  b.set(a);
  return b;
}

/** Collects units one at a time (their term ids per field), then lays the postings out by term. */
export class PostingsBuilder {
  private nUnits = 0;
  private nTrip = 0;
  private tripTerm = new Int32Array(1024);
  private tripUnit = new Int32Array(1024);
  private tripTf: Uint16Array;
  private len: Int32Array;
  private readonly local = new Map<number, number>();

  constructor(readonly nFields: number) {
    this.tripTf = new Uint16Array(1024 * nFields);
    this.len = new Int32Array(64 * nFields);
  }

  /** Adds one unit: `fields[f]` the term ids of field f, in text order. Returns the unit's row. */
  add(fields: readonly ArrayLike<number>[]): number {
    const F = this.nFields;
    const u = this.nUnits++;
    this.len = grow(this.len, (u + 1) * F, (n) => new Int32Array(n));
    this.local.clear();
    for (let f = 0; f < F; f++) {
      const terms = fields[f]!;
      this.len[u * F + f] = terms.length;
      for (let i = 0; i < terms.length; i++) {
        const t = terms[i]!;
        let at = this.local.get(t);
        if (at === undefined) {
          at = this.nTrip++;
          this.local.set(t, at);
          this.tripTerm = grow(this.tripTerm, this.nTrip, (n) => new Int32Array(n));
          this.tripUnit = grow(this.tripUnit, this.nTrip, (n) => new Int32Array(n));
          this.tripTf = grow(this.tripTf, this.nTrip * F, (n) => new Uint16Array(n));
          this.tripTerm[at] = t;
          this.tripUnit[at] = u;
        }
        const k = at * F + f;
        if (this.tripTf[k]! < TF_MAX) this.tripTf[k]!++;
      }
    }
    return u;
  }

  /** The postings over term ids 0..nTerms-1, units in the order they were added. */
  finish(nTerms: number): Postings {
    const F = this.nFields;
    const n = this.nTrip;
    const termPtr = new Int32Array(nTerms + 1);
    for (let i = 0; i < n; i++) termPtr[this.tripTerm[i]! + 1]!++;
    for (let t = 0; t < nTerms; t++) termPtr[t + 1]! += termPtr[t]!;
    const fill = termPtr.slice(0, nTerms);
    const unit = new Int32Array(n);
    const tf = new Uint16Array(n * F);
    // triples are in unit order, so each term's postings come out with units ascending
    for (let i = 0; i < n; i++) {
      const p = fill[this.tripTerm[i]!]!++;
      unit[p] = this.tripUnit[i]!;
      for (let f = 0; f < F; f++) tf[p * F + f] = this.tripTf[i * F + f]!;
    }
    return { nUnits: this.nUnits, nFields: F, termPtr, unit, tf, len: this.len.slice(0, this.nUnits * F) };
  }
}

/** BM25's idf, floored at the +1 inside the log so that it is never negative. */
export function idf(df: number, n: number): number {
  return Math.log(1 + (n - df + 0.5) / (df + 0.5));
}

/** Mean field lengths over all units (a unit with an empty field counts with length 0). */
export function avgFieldLengths(p: Postings): Float64Array {
  const F = p.nFields;
  const avg = new Float64Array(F);
  for (let u = 0; u < p.nUnits; u++) for (let f = 0; f < F; f++) avg[f]! += p.len[u * F + f]!;
  for (let f = 0; f < F; f++) avg[f] = p.nUnits > 0 ? avg[f]! / p.nUnits : 0;
  return avg;
}

/** norm[u*F + f] = w_f / (1 - b_f + b_f len_f(u) / avglen_f): what a count in that field is worth. */
export function fieldNorms(p: Postings, weight: ArrayLike<number>, b: ArrayLike<number>): Float64Array {
  const F = p.nFields;
  const avg = avgFieldLengths(p);
  const norm = new Float64Array(p.nUnits * F);
  for (let u = 0; u < p.nUnits; u++) {
    for (let f = 0; f < F; f++) {
      const bf = b[f]!;
      const rel = avg[f]! > 0 ? p.len[u * F + f]! / avg[f]! : 0;
      norm[u * F + f] = weight[f]! / (1 - bf + bf * rel);
    }
  }
  return norm;
}

/** Scratch of one query: a dense accumulator and the list of units it touched. */
export class Accumulator {
  readonly score: Float64Array;
  readonly touched: Int32Array;
  private readonly mark: Uint8Array;
  size = 0;

  constructor(n: number) {
    this.score = new Float64Array(n);
    this.touched = new Int32Array(n);
    this.mark = new Uint8Array(n);
  }

  add(u: number, s: number): void {
    if (this.mark[u] === 0) {
      this.mark[u] = 1;
      this.touched[this.size++] = u;
    }
    this.score[u]! += s;
  }

  reset(): void {
    for (let i = 0; i < this.size; i++) {
      const u = this.touched[i]!;
      this.score[u] = 0;
      this.mark[u] = 0;
    }
    this.size = 0;
  }
}

/** Adds term t's BM25F contribution, times `weight` (idf times the query count), to every unit that has it. */
export function accumulateTerm(p: Postings, norm: Float64Array, k1: number, t: number, weight: number, acc: Accumulator): void {
  const F = p.nFields;
  const { unit, tf } = p;
  const k1p1 = k1 + 1;
  for (let q = p.termPtr[t]!, e = p.termPtr[t + 1]!; q < e; q++) {
    const u = unit[q]!;
    let x = 0;
    for (let f = 0; f < F; f++) x += tf[q * F + f]! * norm[u * F + f]!;
    acc.add(u, (weight * k1p1 * x) / (k1 + x));
  }
}

/** Position of unit u among term t's postings, or -1 (binary search: units ascend within a term). */
export function findPosting(p: Postings, t: number, u: number): number {
  let lo = p.termPtr[t]!;
  let hi = p.termPtr[t + 1]! - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const v = p.unit[mid]!;
    if (v === u) return mid;
    if (v < u) lo = mid + 1;
    else hi = mid - 1;
  }
  return -1;
}
