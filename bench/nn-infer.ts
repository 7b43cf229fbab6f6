/**
 * One-sequence inference latency of the sequence networks in bench/nn.ts, one thread, in isolation:
 * the transformer (64 events, d 64, 2 layers, 4 heads, ff 256) and the GRU (32 steps, 8 -> 32).
 * Prints p50 / p90 / p99 in ms over --reps calls after 500 warm-up calls, and the mean CPU time per
 * call (process.cpuUsage: steadier than wall time on a shared machine, for comparing changes). For a CPU profile:
 *   node --cpu-prof --cpu-prof-dir=/tmp/prof --import tsx bench/nn-infer.ts
 *
 * Usage: npx tsx bench/nn-infer.ts [--reps 5000] [--rounds 3] [--fma]
 */
import { loadavg } from 'node:os';
import { setFlagsFromString } from 'node:v8';
import { Rng } from '../src/core/rng.js';
import { Arena, kernelsFor, SeqNet, type Batch, type SeqNetSpec } from '../src/nn/index.js';
import { arg } from './util.js';

/** --fma: relaxed SIMD's fused multiply-add in the GEMM (a V8 flag on Node 20, set before the kernels compile; workers inherit it). */
const FMA = process.argv.includes('--fma');
if (FMA) setFlagsFromString('--experimental-wasm-relaxed-simd');

const REPS = arg('reps', 5000);
const ROUNDS = arg('rounds', 3);

function spec(encoder: SeqNetSpec['encoder'], t: number, f: number, pooling: SeqNetSpec['pooling']): SeqNetSpec {
  return { kind: 'seq', seed: 1, steps: t, numeric: f, categorical: [], encoder, pooling, tabular: 0, trunk: 0, heads: [{ name: 'default', type: 'binary', weight: 1 }] };
}

const cpuMs = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

function run(s: SeqNetSpec, t: number, f: number): { lat: number[]; cpu: number } {
  const arena = new Arena(1 << 24);
  const net = new SeqNet(s, arena);
  const ctx = { arena, k: kernelsFor(arena), training: false, rng: new Rng(0) };
  const rng = new Rng(5);
  // In the arena, as a served request's batch is (pipelines/sequence/bundle.ts): `.map` would copy it out to the JS kernels.
  const num = arena.f32(t * f);
  for (let i = 0; i < num.length; i++) num[i] = rng.normal();
  const len = arena.i32(1);
  len[0] = t;
  const batch: Batch = { n: 1, f32: { num }, i32: { len } };
  const out: number[] = [];
  let c0 = 0;
  for (let i = 0; i < REPS + 500; i++) {
    if (i === 500) c0 = cpuMs();
    const t0 = performance.now();
    const m = arena.mark();
    net.predict(ctx, batch);
    arena.release(m);
    if (i >= 500) out.push(performance.now() - t0);
  }
  return { lat: out.sort((a, b) => a - b), cpu: (cpuMs() - c0) / REPS };
}

const q = (x: number[], p: number): string => x[Math.min(x.length - 1, Math.floor(x.length * p))]!.toFixed(3);
console.log(`# load average ${loadavg().map((v) => v.toFixed(2)).join(' ')}${FMA ? '; GEMM with relaxed SIMD FMA' : ''}`);
const cases: [string, SeqNetSpec, number, number][] = [
  ['transformer d64 x2, 64 events', spec({ type: 'transformer', dim: 64, layers: 2, heads: 4, ff: 256, dropout: 0, positions: 'none' }, 64, 8, 'mean'), 64, 8],
  ['GRU 8->32, 32 steps', spec({ type: 'gru', hidden: 32 }, 32, 8, 'last'), 32, 8],
];
for (let r = 0; r < ROUNDS; r++) {
  for (const [name, s, t, f] of cases) {
    const { lat, cpu } = run(s, t, f);
    console.log(`${name}: p50 ${q(lat, 0.5)} ms  p90 ${q(lat, 0.9)} ms  p99 ${q(lat, 0.99)} ms  cpu ${cpu.toFixed(3)} ms/call`);
  }
}
