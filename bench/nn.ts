/**
 * kiln's neural engine against PyTorch (Debian's python3-torch, CPU, 2 threads, OMP_WAIT_POLICY=PASSIVE),
 * run back to back in this script on the same shapes:
 *   - a GRU epoch: numeric inputs 8 -> hidden 32, 4,096 sequences of 32 steps, batch 256, Adam, BCE on the last state;
 *   - a transformer epoch: 8 -> Dense 64, 2 encoder layers (4 heads, ff 256, dropout 0.1), 4,096 sequences
 *     of 64, batch 256, mean pooling, Adam;
 *   - one-sequence transformer inference (64 events), one thread: p50 / p99 latency.
 * Plus a second shape of each (--shapes 2, default): GRU hidden 64 over 64 steps; transformer d 32 over 128.
 * Targets (issue 16): epochs <= 3x PyTorch's time; inference p99 <= 1 ms and ahead of PyTorch's.
 *
 * Usage: npm run bench -- nn   or   npx tsx bench/nn.ts [--reps 3] [--threads 2] [--no-torch] [--fma]
 * (--fma: relaxed SIMD's fused multiply-add in the GEMM, off by default on Node 20; see kernels/gemm-wasm.ts)
 */
import { spawnSync } from 'node:child_process';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { Rng } from '../src/core/rng.js';
import { Adam, Arena, DataParallel, kernelsFor, SeqNet, sharedField, type Batch, type SeqNetSpec, type TrainData } from '../src/nn/index.js';
import { arg, machine, printTable } from './util.js';

/** --fma: relaxed SIMD's fused multiply-add in the GEMM (a V8 flag on Node 20, set before the kernels compile; workers inherit it). */
const FMA = process.argv.includes('--fma');
if (FMA) setFlagsFromString('--experimental-wasm-relaxed-simd');

const PY = '/usr/bin/python3';
const REPS = arg('reps', 3);
const THREADS = arg('threads', 2);
const SHAPES = arg('shapes', 2);
const INFER = arg('infer', 3000);
const noTorch = process.argv.includes('--no-torch');

interface GruShape { n: number; t: number; f: number; h: number; b: number }
interface TrShape { n: number; t: number; f: number; d: number; heads: number; ff: number; layers: number; b: number }
const GRU_SHAPES: GruShape[] = [{ n: 4096, t: 32, f: 8, h: 32, b: 256 }, { n: 4096, t: 64, f: 8, h: 64, b: 256 }].slice(0, SHAPES);
const TR_SHAPES: TrShape[] = [{ n: 4096, t: 64, f: 8, d: 64, heads: 4, ff: 256, layers: 2, b: 256 }, { n: 2048, t: 128, f: 8, d: 32, heads: 4, ff: 128, layers: 2, b: 128 }].slice(0, SHAPES);

function data(n: number, t: number, f: number, seed: number): TrainData {
  const rng = new Rng(seed);
  const num = new Float32Array(n * t * f).map(() => rng.normal());
  const len = new Int32Array(n).fill(t);
  const y = new Float32Array(n).map(() => (rng.uniform() < 0.3 ? 1 : 0));
  return { rows: n, fields: [sharedField('num', t * f, num), sharedField('len', 1, len), sharedField('y.default', 1, y)] };
}

function seqSpec(encoder: SeqNetSpec['encoder'], t: number, f: number, pooling: SeqNetSpec['pooling']): SeqNetSpec {
  return { kind: 'seq', seed: 1, steps: t, numeric: f, categorical: [], encoder, pooling, tabular: 0, trunk: 0, heads: [{ name: 'default', type: 'binary', weight: 1 }] };
}

/** Seconds per epoch (after one warm-up epoch). */
async function epochs(spec: SeqNetSpec, d: TrainData, b: number, reps: number): Promise<number[]> {
  const dp = await DataParallel.start(spec, d, { nthread: THREADS, shards: THREADS, maxBatch: b, seed: 3 });
  const opt = new Adam(dp.params, { lr: 1e-3 });
  const out: number[] = [];
  let step = 0;
  const rows = Int32Array.from({ length: d.rows }, (_, i) => i);
  for (let r = 0; r < reps + 1; r++) {
    const t0 = performance.now();
    for (let i = 0; i < d.rows; i += b) {
      dp.step(rows.subarray(i, Math.min(d.rows, i + b)), step++);
      opt.step();
    }
    if (r > 0) out.push((performance.now() - t0) / 1000);
  }
  await dp.close();
  return out;
}

/** One-sequence inference latencies (ms), one thread, no allocation past the arena's first use. */
function latency(spec: SeqNetSpec, t: number, f: number, reps: number): number[] {
  const arena = new Arena(1 << 24);
  const net = new SeqNet(spec, arena);
  const ctx = { arena, k: kernelsFor(arena), training: false, rng: new Rng(0) };
  const rng = new Rng(5);
  // In the arena, as a served request's batch is (pipelines/sequence/bundle.ts): `.map` would copy it out to the JS kernels.
  const num = arena.f32(t * f);
  for (let i = 0; i < num.length; i++) num[i] = rng.normal();
  const len = arena.i32(1);
  len[0] = t;
  const batch: Batch = { n: 1, f32: { num }, i32: { len } };
  const out: number[] = [];
  for (let i = 0; i < reps + 200; i++) {
    const t0 = performance.now();
    const m = arena.mark();
    net.predict(ctx, batch);
    arena.release(m);
    if (i >= 200) out.push(performance.now() - t0);
  }
  return out;
}

const median = (x: number[]): number => [...x].sort((a, b) => a - b)[Math.floor(x.length / 2)]!;
const pct = (x: number[], p: number): number => [...x].sort((a, b) => a - b)[Math.min(x.length - 1, Math.floor(x.length * p))]!;

async function main(): Promise<void> {
  console.log(`# bench/nn: kiln vs PyTorch on ${machine()}; load average ${loadavg().map((v) => v.toFixed(2)).join(' ')}; ${THREADS} threads${FMA ? '; GEMM with relaxed SIMD FMA' : ''}`);
  let torch: { torch: string; blas: string; gru: number[][]; transformer: { epochs: number[]; latency: number[] }[] } | null = null;
  if (!noTorch) {
    const cfg = { threads: THREADS, reps: REPS, trReps: Math.max(1, REPS - 1), inferReps: INFER, gru: GRU_SHAPES, transformer: TR_SHAPES };
    const r = spawnSync(PY, [join(import.meta.dirname, 'nn_torch.py'), JSON.stringify(cfg)], { encoding: 'utf8', env: { ...process.env, OMP_WAIT_POLICY: 'PASSIVE', OMP_NUM_THREADS: String(THREADS) }, maxBuffer: 1 << 26 });
    if (r.status === 0) torch = JSON.parse(r.stdout.trim().split('\n').at(-1)!);
    else console.log(`PyTorch yardstick skipped: ${(r.stderr || r.error?.message || '').trim().split('\n').at(-1)}`);
  }
  if (torch) console.log(`PyTorch ${torch.torch} (BLAS: ${torch.blas})`);
  const rows: (string | number)[][] = [];
  for (const [i, s] of GRU_SHAPES.entries()) {
    const k = await epochs(seqSpec({ type: 'gru', hidden: s.h }, s.t, s.f, 'last'), data(s.n, s.t, s.f, 1), s.b, REPS);
    const p = torch?.gru[i];
    rows.push([`GRU ${s.f}->${s.h}, ${s.n} x ${s.t}, batch ${s.b}: epoch s`, median(k).toFixed(3), p ? median(p).toFixed(3) : '-', p ? (median(k) / median(p)).toFixed(2) : '-', '<= 3']);
  }
  for (const [i, s] of TR_SHAPES.entries()) {
    const spec = seqSpec({ type: 'transformer', dim: s.d, layers: s.layers, heads: s.heads, ff: s.ff, dropout: 0.1, positions: 'none' }, s.t, s.f, 'mean');
    const k = await epochs(spec, data(s.n, s.t, s.f, 2), s.b, Math.max(1, REPS - 1));
    const p = torch?.transformer[i];
    rows.push([`transformer d${s.d} x${s.layers}, ${s.n} x ${s.t}, batch ${s.b}: epoch s`, median(k).toFixed(2), p ? median(p.epochs).toFixed(2) : '-', p ? (median(k) / median(p.epochs)).toFixed(2) : '-', '<= 3']);
    const lat = latency({ ...spec, encoder: { ...spec.encoder, dropout: 0 } as SeqNetSpec['encoder'] }, s.t, s.f, INFER);
    const pl = p?.latency.map((x) => x * 1000);
    rows.push([`  one sequence of ${s.t}, 1 thread: p50 ms`, median(lat).toFixed(3), pl ? median(pl).toFixed(3) : '-', pl ? (median(lat) / median(pl)).toFixed(2) : '-', '']);
    rows.push([`  one sequence of ${s.t}, 1 thread: p99 ms`, pct(lat, 0.99).toFixed(3), pl ? pct(pl, 0.99).toFixed(3) : '-', pl ? (pct(lat, 0.99) / pct(pl, 0.99)).toFixed(2) : '-', i === 0 ? '<= 1 ms, < 1' : '']);
  }
  printTable(['case', 'kiln', 'PyTorch', 'kiln / PyTorch', 'target'], rows);
}

await main();
