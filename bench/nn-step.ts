/**
 * One thread's training steps of the bench/nn.ts sequence networks (forward + backward through
 * SeqNet.lossAndGrad; no optimizer), batch 128 (a shard of 256 on 2 threads): mean wall and CPU ms per
 * step. For a CPU profile of the step's parts:
 *   node --cpu-prof --cpu-prof-dir=/tmp/prof --import tsx bench/nn-step.ts
 *
 * Usage: npx tsx bench/nn-step.ts [--steps 20] [--only gru|transformer] [--fma]
 */
import { setFlagsFromString } from 'node:v8';
import { Rng } from '../src/core/rng.js';
import { Arena, kernelsFor, SeqNet, type Batch, type SeqNetSpec } from '../src/nn/index.js';
import { arg } from './util.js';

/** --fma: relaxed SIMD's fused multiply-add in the GEMM (a V8 flag on Node 20, set before the kernels compile; workers inherit it). */
const FMA = process.argv.includes('--fma');
if (FMA) setFlagsFromString('--experimental-wasm-relaxed-simd');

const STEPS = arg('steps', 20);
const only = process.argv.includes('--only') ? process.argv[process.argv.indexOf('--only') + 1] : '';
const B = 128;

function spec(encoder: SeqNetSpec['encoder'], t: number, f: number, pooling: SeqNetSpec['pooling']): SeqNetSpec {
  return { kind: 'seq', seed: 1, steps: t, numeric: f, categorical: [], encoder, pooling, tabular: 0, trunk: 0, heads: [{ name: 'default', type: 'binary', weight: 1 }] };
}
const cpuMs = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

function run(name: string, s: SeqNetSpec, t: number, f: number): void {
  const arena = new Arena(1 << 26);
  const net = new SeqNet(s, arena);
  const k = kernelsFor(arena);
  const rng = new Rng(5);
  const num = arena.f32(B * t * f);
  for (let i = 0; i < num.length; i++) num[i] = rng.normal();
  const len = arena.i32(B).fill(t);
  const y = arena.f32(B);
  for (let i = 0; i < B; i++) y[i] = rng.uniform() < 0.3 ? 1 : 0;
  const batch: Batch = { n: B, f32: { num, 'y.default': y }, i32: { len } };
  const step = (i: number): void => {
    const m = arena.mark();
    net.lossAndGrad({ arena, k, training: true, rng: new Rng(7, i) }, batch, 1 / B);
    arena.release(m);
  };
  for (let i = 0; i < 3; i++) step(i);
  const w0 = performance.now();
  const c0 = cpuMs();
  for (let i = 0; i < STEPS; i++) step(i);
  console.log(`${name}: ${((performance.now() - w0) / STEPS).toFixed(2)} ms/step wall, ${((cpuMs() - c0) / STEPS).toFixed(2)} ms/step cpu`);
}

if (only !== 'transformer') run(`GRU 8->32, ${B} x 32`, spec({ type: 'gru', hidden: 32 }, 32, 8, 'last'), 32, 8);
if (only !== 'gru') run(`transformer d64 x2, ${B} x 64`, spec({ type: 'transformer', dim: 64, layers: 2, heads: 4, ff: 256, dropout: 0.1, positions: 'none' }, 64, 8, 'mean'), 64, 8);
