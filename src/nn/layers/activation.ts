/**
 * Element-wise activations as pure kernels over typed arrays: forward y = f(z) and backward
 * dz = dy * f'(z) from the pre-activation z.
 *
 *   relu(z) = max(z, 0),            relu'(z) = [z > 0]
 *   gelu(z) = z * Phi(z)  (exact, PyTorch's default approximate='none'; Phi the standard normal CDF,
 *             Phi(z) = (1 + erf(z / sqrt 2)) / 2),  gelu'(z) = Phi(z) + z * phi(z)
 *
 * erf comes from the Chebyshev fit of erfc in Numerical Recipes (erfcc, fractional error < 1.2e-7),
 * well inside float32's resolution.
 */
export type Activation = 'relu' | 'gelu';

const INV_SQRT2 = Math.SQRT1_2;
const INV_SQRT_2PI = 1 / Math.sqrt(2 * Math.PI);

export function erf(x: number): number {
  const z = Math.abs(x);
  const t = 1 / (1 + 0.5 * z);
  const poly = -z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806
    + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277))))))));
  const erfc = t * Math.exp(poly);
  return x >= 0 ? 1 - erfc : erfc - 1;
}

export function activate(kind: Activation, z: Float32Array, y: Float32Array, n = z.length): void {
  if (kind === 'relu') {
    for (let i = 0; i < n; i++) {
      const v = z[i]!;
      y[i] = v > 0 ? v : 0;
    }
    return;
  }
  for (let i = 0; i < n; i++) {
    const v = z[i]!;
    y[i] = 0.5 * v * (1 + erf(v * INV_SQRT2));
  }
}

/** dz[i] = dy[i] * f'(z[i]). */
export function activateBackward(kind: Activation, z: Float32Array, dy: Float32Array, dz: Float32Array, n = z.length): void {
  if (kind === 'relu') {
    for (let i = 0; i < n; i++) dz[i] = z[i]! > 0 ? dy[i]! : 0;
    return;
  }
  for (let i = 0; i < n; i++) {
    const v = z[i]!;
    const cdf = 0.5 * (1 + erf(v * INV_SQRT2));
    dz[i] = dy[i]! * (cdf + v * INV_SQRT_2PI * Math.exp(-0.5 * v * v));
  }
}
