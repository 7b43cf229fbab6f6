/**
 * A small logistic regression (Newton-Raphson / IRLS with a ridge penalty on standardised features) and a
 * rank-based AUC, for the learnability tests of the simulator. No dependencies, dense, fine for a few
 * thousand rows and a few dozen features.
 */
export interface LogitModel {
  mean: Float64Array;
  sd: Float64Array;
  /** Intercept first. */
  coef: Float64Array;
}

export function fitLogit(x: number[][], y: number[], opts: { l2?: number; iterations?: number } = {}): LogitModel {
  const n = x.length;
  const p = x[0]?.length ?? 0;
  const l2 = opts.l2 ?? 5;
  const mean = new Float64Array(p);
  const sd = new Float64Array(p);
  for (const row of x) for (let j = 0; j < p; j++) mean[j]! += row[j]! / n;
  for (const row of x) for (let j = 0; j < p; j++) sd[j]! += (row[j]! - mean[j]!) ** 2 / n;
  for (let j = 0; j < p; j++) sd[j] = Math.sqrt(sd[j]!) || 1;
  const d = p + 1;
  const z = x.map((row) => {
    const out = new Float64Array(d);
    out[0] = 1;
    for (let j = 0; j < p; j++) out[j + 1] = (row[j]! - mean[j]!) / sd[j]!;
    return out;
  });
  const beta = new Float64Array(d);
  for (let it = 0; it < (opts.iterations ?? 25); it++) {
    const g = new Float64Array(d);
    const h = Array.from({ length: d }, () => new Float64Array(d));
    for (let i = 0; i < n; i++) {
      const zi = z[i]!;
      let eta = 0;
      for (let j = 0; j < d; j++) eta += beta[j]! * zi[j]!;
      const mu = 1 / (1 + Math.exp(-eta));
      const w = Math.max(mu * (1 - mu), 1e-9);
      const r = y[i]! - mu;
      for (let j = 0; j < d; j++) {
        g[j]! += r * zi[j]!;
        const wz = w * zi[j]!;
        const hj = h[j]!;
        for (let k = 0; k <= j; k++) hj[k]! += wz * zi[k]!;
      }
    }
    for (let j = 1; j < d; j++) { g[j]! -= l2 * beta[j]!; h[j]![j]! += l2; }
    for (let j = 0; j < d; j++) for (let k = j + 1; k < d; k++) h[j]![k] = h[k]![j]!;
    const step = solve(h, g);
    let change = 0;
    for (let j = 0; j < d; j++) { beta[j]! += step[j]!; change = Math.max(change, Math.abs(step[j]!)); }
    if (change < 1e-8) break;
  }
  return { mean, sd, coef: beta };
}

export function predictLogit(m: LogitModel, x: number[][]): number[] {
  return x.map((row) => {
    let eta = m.coef[0]!;
    for (let j = 0; j < row.length; j++) eta += m.coef[j + 1]! * ((row[j]! - m.mean[j]!) / m.sd[j]!);
    return 1 / (1 + Math.exp(-eta));
  });
}

/** Area under the ROC curve (Mann-Whitney, ties count one half). */
export function auc(score: number[], y: number[]): number {
  const idx = score.map((_, i) => i).sort((a, b) => score[a]! - score[b]!);
  let pos = 0;
  let rankSumPos = 0;
  for (let i = 0; i < idx.length;) {
    let j = i;
    while (j + 1 < idx.length && score[idx[j + 1]!] === score[idx[i]!]) j++;
    const avgRank = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) if (y[idx[k]!] === 1) { pos++; rankSumPos += avgRank; }
    i = j + 1;
  }
  const neg = idx.length - pos;
  if (pos === 0 || neg === 0) return NaN;
  return (rankSumPos - (pos * (pos + 1)) / 2) / (pos * neg);
}

/** Gaussian elimination with partial pivoting on a copy: solves a x = b. */
function solve(a: Float64Array[], b: Float64Array): Float64Array {
  const n = b.length;
  const m = a.map((row, i) => { const r = new Float64Array(n + 1); r.set(row); r[n] = b[i]!; return r; });
  for (let c = 0; c < n; c++) {
    let piv = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(m[r]![c]!) > Math.abs(m[piv]![c]!)) piv = r;
    [m[c], m[piv]] = [m[piv]!, m[c]!];
    const pr = m[c]!;
    const pv = pr[c]! || 1e-12;
    for (let r = c + 1; r < n; r++) {
      const row = m[r]!;
      const f = row[c]! / pv;
      if (f !== 0) for (let k = c; k <= n; k++) row[k]! -= f * pr[k]!;
    }
  }
  const out = new Float64Array(n);
  for (let r = n - 1; r >= 0; r--) {
    const row = m[r]!;
    let s = row[n]!;
    for (let k = r + 1; k < n; k++) s -= row[k]! * out[k]!;
    out[r] = s / (row[r]! || 1e-12);
  }
  return out;
}

/** Out-of-fold AUC of a logistic regression with k folds assigned by `fold(i)`. */
export function crossValidatedAuc(x: number[][], y: number[], fold: (i: number) => number, k = 3, l2?: number): number {
  const pred = new Array<number>(x.length).fill(0);
  for (let f = 0; f < k; f++) {
    const tr: number[] = [];
    const te: number[] = [];
    for (let i = 0; i < x.length; i++) (fold(i) === f ? te : tr).push(i);
    const m = fitLogit(tr.map((i) => x[i]!), tr.map((i) => y[i]!), l2 === undefined ? {} : { l2 });
    const p = predictLogit(m, te.map((i) => x[i]!));
    te.forEach((i, j) => { pred[i] = p[j]!; });
  }
  return auc(pred, y);
}
