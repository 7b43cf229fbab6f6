/**
 * Elementwise kernels the layers and optimizers share, in plain JavaScript: the reference for the
 * WebAssembly versions (elementwise-wasm-code.ts) and the kernels where WebAssembly is unavailable.
 * Row-major with a leading dimension where a matrix is involved; every one accumulates into its output.
 */

/** y[i] += alpha * x[i] for i < n. */
export function axpyJs(n: number, alpha: number, x: Float32Array, y: Float32Array): void {
  for (let i = 0; i < n; i++) y[i] = y[i]! + alpha * x[i]!;
}

/** y[r, j] += b[j] for r < rows, j < cols (row stride ldy): a bias broadcast over rows. */
export function addRowJs(rows: number, cols: number, b: Float32Array, y: Float32Array, ldy: number): void {
  for (let r = 0; r < rows; r++) {
    const o = r * ldy;
    for (let j = 0; j < cols; j++) y[o + j] = y[o + j]! + b[j]!;
  }
}

/** y[r, j] = b[j] for r < rows, j < cols (row stride ldy): a bias copied into every row. */
export function fillRowsJs(rows: number, cols: number, b: Float32Array, y: Float32Array, ldy: number): void {
  for (let r = 0; r < rows; r++) {
    const o = r * ldy;
    for (let j = 0; j < cols; j++) y[o + j] = b[j]!;
  }
}

/** out[j] += sum over r < rows of x[r, j] (row stride ldx), rows in order: a bias gradient. */
export function sumRowsJs(rows: number, cols: number, x: Float32Array, ldx: number, out: Float32Array): void {
  for (let r = 0; r < rows; r++) {
    const o = r * ldx;
    for (let j = 0; j < cols; j++) out[j] = out[j]! + x[o + j]!;
  }
}

/** Row-wise softmax of scale * s over the first `cols` entries of each of `rows` rows (row i at so + i * ld), in place. */
export function softmaxJs(rows: number, cols: number, s: Float32Array, so: number, ld: number, scale: number): void {
  for (let i = 0; i < rows; i++) {
    const o = so + i * ld;
    let m = -Infinity;
    for (let j = 0; j < cols; j++) {
      const z = s[o + j]! * scale;
      if (z > m) m = z;
    }
    let sum = 0;
    for (let j = 0; j < cols; j++) {
      const e = Math.exp(s[o + j]! * scale - m);
      s[o + j] = e;
      sum += e;
    }
    const inv = 1 / sum;
    for (let j = 0; j < cols; j++) s[o + j] = s[o + j]! * inv;
  }
}

/**
 * LayerNorm forward over rows of `dim` (see layers/layer-norm.ts): y = xhat * w + b with xhat = (x - mean)
 * * rstd, rstd = 1 / sqrt(var + eps); writes y, xhat and each row's rstd. Statistics in float64.
 */
export function layerNormJs(rows: number, dim: number, x: Float32Array, w: Float32Array, b: Float32Array, eps: number, y: Float32Array, xhat: Float32Array, rstd: Float32Array): void {
  for (let r = 0; r < rows; r++) {
    const o = r * dim;
    let s = 0;
    for (let j = 0; j < dim; j++) s += x[o + j]!;
    const mean = s / dim;
    let v = 0;
    for (let j = 0; j < dim; j++) {
      const c = x[o + j]! - mean;
      v += c * c;
    }
    const rs = 1 / Math.sqrt(v / dim + eps);
    rstd[r] = rs;
    for (let j = 0; j < dim; j++) {
      const h = (x[o + j]! - mean) * rs;
      xhat[o + j] = h;
      y[o + j] = h * w[j]! + b[j]!;
    }
  }
}

/** LayerNorm backward: dx = rstd * (g - mean(g) - xhat * mean(g * xhat)) with g = dy * w; gw += dy * xhat, gb += dy. */
export function layerNormBackwardJs(rows: number, dim: number, dy: Float32Array, xhat: Float32Array, rstd: Float32Array, w: Float32Array, gw: Float32Array, gb: Float32Array, dx: Float32Array): void {
  for (let r = 0; r < rows; r++) {
    const o = r * dim;
    let sg = 0;
    let sgh = 0;
    for (let j = 0; j < dim; j++) {
      const d = dy[o + j]!;
      const h = xhat[o + j]!;
      const g = d * w[j]!;
      sg += g;
      sgh += g * h;
      gw[j] = gw[j]! + d * h;
      gb[j] = gb[j]! + d;
    }
    const mg = sg / dim;
    const mgh = sgh / dim;
    const rs = rstd[r]!;
    for (let j = 0; j < dim; j++) dx[o + j] = rs * (dy[o + j]! * w[j]! - mg - xhat[o + j]! * mgh);
  }
}

/** y[yo + i] = a[ao + i] * b[bo + i] for i < n. */
export function mulJs(n: number, a: Float32Array, ao: number, b: Float32Array, bo: number, y: Float32Array, yo: number): void {
  for (let i = 0; i < n; i++) y[yo + i] = a[ao + i]! * b[bo + i]!;
}

/**
 * The softmax backward folded with dropout (layers/attention.ts), in place over ds: per row of `cols`
 * (rows at stride ld; P and Pd at po in p and pd, ds at dso), ds = (Pd * ds - P * rowsum(Pd * ds)) * scale.
 */
export function softmaxBackwardJs(rows: number, cols: number, p: Float32Array, pd: Float32Array, po: number, ds: Float32Array, dso: number, ld: number, scale: number): void {
  for (let i = 0; i < rows; i++) {
    const r = dso + i * ld;
    const pr = po + i * ld;
    let sum = 0;
    for (let j = 0; j < cols; j++) sum += pd[pr + j]! * ds[r + j]!;
    for (let j = 0; j < cols; j++) ds[r + j] = (pd[pr + j]! * ds[r + j]! - p[pr + j]! * sum) * scale;
  }
}

/** y = max(z, 0) (NaN and -0 give 0). */
export function reluJs(n: number, z: Float32Array, y: Float32Array): void {
  for (let i = 0; i < n; i++) {
    const v = z[i]!;
    y[i] = v > 0 ? v : 0;
  }
}

/** dz = dy where z > 0, else 0. */
export function reluBackwardJs(n: number, z: Float32Array, dy: Float32Array, dz: Float32Array): void {
  for (let i = 0; i < n; i++) dz[i] = z[i]! > 0 ? dy[i]! : 0;
}

/**
 * One GRU step's gates for `rows` consecutive sequences (layers/gru.ts; the WebAssembly contract in
 * gru-wasm-code.ts): per row i, g at go + i*ldg holds [x_r x_z x_n] and gets [r z n]; gh at gho + i*3H
 * holds [h_r h_z h_n]; prev, hn, hs at their offset + i*H; y at yo + i*ldy.
 */
export function gruForwardJs(
  rows: number, H: number, g: Float32Array, go: number, ldg: number, gh: Float32Array, gho: number,
  prev: Float32Array, po: number, hn: Float32Array, hno: number, hs: Float32Array, hso: number, y: Float32Array, yo: number, ldy: number,
): void {
  for (let i = 0; i < rows; i++) {
    const a = go + i * ldg;
    const q = gho + i * 3 * H;
    const p = po + i * H;
    const hnAt = hno + i * H;
    const o = hso + i * H;
    const yAt = yo + i * ldy;
    for (let j = 0; j < H; j++) {
      const r = 1 / (1 + Math.exp(-(g[a + j]! + gh[q + j]!)));
      const z = 1 / (1 + Math.exp(-(g[a + H + j]! + gh[q + H + j]!)));
      const hnj = gh[q + 2 * H + j]!;
      const n = Math.tanh(g[a + 2 * H + j]! + r * hnj);
      const h = (1 - z) * n + z * prev[p + j]!;
      g[a + j] = r;
      g[a + H + j] = z;
      g[a + 2 * H + j] = n;
      hn[hnAt + j] = hnj;
      hs[o + j] = h;
      y[yAt + j] = h;
    }
  }
}

/**
 * One GRU step's gate gradients for `rows` consecutive sequences: d = cur + dy (dy null: none); g holds
 * [r z n] (stride ldg), prev and hn the step's inputs; writes [dr dz dn] to dgi (stride ldg), [dr dz dn*r]
 * to dgh (stride 3H) and d*z to pg.
 */
export function gruBackwardJs(
  rows: number, H: number, cur: Float32Array, co: number, dy: Float32Array | null, dyo: number, ldy: number,
  g: Float32Array, go: number, ldg: number, prev: Float32Array, po: number, hn: Float32Array, hno: number,
  dgi: Float32Array, dio: number, dgh: Float32Array, dho: number, pg: Float32Array, pgo: number,
): void {
  for (let i = 0; i < rows; i++) {
    const c = co + i * H;
    const yAt = dyo + i * ldy;
    const a = go + i * ldg;
    const p = po + i * H;
    const hnAt = hno + i * H;
    const di = dio + i * ldg;
    const dq = dho + i * 3 * H;
    const o = pgo + i * H;
    for (let j = 0; j < H; j++) {
      const d = cur[c + j]! + (dy ? dy[yAt + j]! : 0);
      const r = g[a + j]!;
      const z = g[a + H + j]!;
      const n = g[a + 2 * H + j]!;
      const dn = d * (1 - z) * (1 - n * n);
      const dz = d * (prev[p + j]! - n) * z * (1 - z);
      const dr = dn * hn[hnAt + j]! * r * (1 - r);
      dgi[di + j] = dr;
      dgi[di + H + j] = dz;
      dgi[di + 2 * H + j] = dn;
      dgh[dq + j] = dr;
      dgh[dq + H + j] = dz;
      dgh[dq + 2 * H + j] = dn * r;
      pg[o + j] = d * z;
    }
  }
}
