/**
 * Top-k by score with a bounded min-heap: keeps the k highest scores seen, ties broken by the lower row,
 * so results do not depend on the order rows are offered in.
 */
export class TopScores {
  private readonly s: Float64Array;
  private readonly r: Int32Array;
  size = 0;

  constructor(readonly k: number) {
    this.s = new Float64Array(k);
    this.r = new Int32Array(k);
  }

  /** True when entry i ranks below entry j (lower score, or same score and higher row). */
  private below(i: number, j: number): boolean {
    return this.s[i]! < this.s[j]! || (this.s[i] === this.s[j] && this.r[i]! > this.r[j]!);
  }

  private swap(i: number, j: number): void {
    const ts = this.s[i]!; this.s[i] = this.s[j]!; this.s[j] = ts;
    const tr = this.r[i]!; this.r[i] = this.r[j]!; this.r[j] = tr;
  }

  push(score: number, row: number): void {
    if (this.k === 0) return;
    if (this.size < this.k) {
      let i = this.size++;
      this.s[i] = score;
      this.r[i] = row;
      while (i > 0) {
        const p = (i - 1) >> 1;
        if (!this.below(i, p)) break;
        this.swap(i, p);
        i = p;
      }
      return;
    }
    if (score < this.s[0]! || (score === this.s[0] && row > this.r[0]!)) return;
    this.s[0] = score;
    this.r[0] = row;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const rr = l + 1;
      let m = i;
      if (l < this.size && this.below(l, m)) m = l;
      if (rr < this.size && this.below(rr, m)) m = rr;
      if (m === i) return;
      this.swap(i, m);
      i = m;
    }
  }

  /** Rows and scores, best first. */
  sorted(): { rows: Int32Array; scores: Float64Array } {
    const idx = Array.from({ length: this.size }, (_, i) => i);
    idx.sort((a, b) => this.s[b]! - this.s[a]! || this.r[a]! - this.r[b]!);
    return { rows: Int32Array.from(idx, (i) => this.r[i]!), scores: Float64Array.from(idx, (i) => this.s[i]!) };
  }
}
