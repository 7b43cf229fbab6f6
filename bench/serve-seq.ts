/**
 * In-process latency of one sequence through `SequenceModel.score`, the call `kiln serve` makes per row
 * of a sequence version: encode one 20-event lastK value (ISO times, a categorical and two numeric
 * fields, as the online store returns it) into the model's arena, run the network, read the heads.
 * Two bundles are built here with the demo's recent_txns shape: a GRU (hidden 32) and a transformer
 * (d 32, 2 layers, 4 heads), each with a next-event head; their parameters are the networks' seeded
 * initial values (latency does not depend on training). Each case is warmed up, then timed call by call;
 * p50 / p99 / max in ms, on one thread. p99 on a shared machine measures its neighbours too: quote it
 * with the load average printed.
 *   npx tsx bench/serve-seq.ts [--calls 5000] [--events 20]
 */
import { loadavg } from 'node:os';
import { Rng } from '../src/core/rng.js';
import type { SequenceSpec as SeqConfig } from '../src/config/index.js';
import { Arena, SeqNet, learnEncoding, type SequenceSpec } from '../src/nn/index.js';
import { SEQUENCE_BUNDLE_FORMAT, SequenceModel, type SequenceBundleJson } from '../src/pipelines/index.js';
import { paramsJsonOf } from '../src/pipelines/sequence/bundle.js';
import { netSpec } from '../src/pipelines/sequence/prepare.js';
import { arg, machine, printTable } from './util.js';

const CALLS = arg('calls', 5000);
const EVENTS = arg('events', 20);
const CATEGORIES = ['grocery', 'fuel', 'travel', 'gambling', 'cash_advance', 'utilities', 'dining', 'online'];
const SPEC: SequenceSpec = {
  feature: 'recent_txns', featureVersion: null, k: EVENTS,
  fields: [{ name: 'amount', type: 'double', kind: 'numeric' }, { name: 'category', type: 'varchar', kind: 'categorical' }, { name: 'channel', type: 'varchar', kind: 'categorical' }],
};
const AT = Date.UTC(2025, 0, 1) * 1000;

function history(rng: Rng, n: number): Record<string, unknown>[] {
  let t = AT - 90 * 86_400e6;
  return Array.from({ length: n }, () => {
    t += rng.uniform() * (80 * 86_400e6) / n;
    return { ts: new Date(t / 1000).toISOString(), amount: Math.round(rng.uniform() * 20000) / 100, category: CATEGORIES[Math.floor(rng.uniform() * CATEGORIES.length)]!, channel: rng.uniform() < 0.5 ? 'pos' : 'online' };
  });
}

function bundleOf(cfg: Partial<SeqConfig> & { encoder: 'gru' | 'transformer'; size: number }): SequenceBundleJson {
  const rng = new Rng(3);
  const rows = Array.from({ length: 500 }, () => ({ events: history(rng, EVENTS), at: AT }));
  const encoding = learnEncoding(SPEC, rows, { steps: EVENTS });
  const full = { seed: 1, layers: 2, heads: 4, dropout: 0, positions: 'time', labelWeight: 1, trunk: 0, joint: false, tasks: [{ name: 'next_category', nextEvent: 'category', weight: 1 }], ...cfg } as unknown as SeqConfig;
  const classes = { next_category: [...encoding.categorical.find((c) => c.name === 'category')!.vocab] };
  const net = netSpec(full, encoding, 0, classes);
  const seq = new SeqNet(net, new Arena(1 << 24));
  return {
    format: SEQUENCE_BUNDLE_FORMAT,
    provenance: { model: 'bench', version: 1, runId: 'bench', createdAt: new Date(0).toISOString(), kilnVersion: 'bench', configHash: 'bench' },
    signature: { features: [{ name: 'recent_txns', type: 'SEQUENCE', version: null }] },
    input: 'recent_txns', encoding: encoding.toJSON(), tabular: [], classes, net,
    params: paramsJsonOf(seq.params.list), calibrator: null, scaling: { basePoints: 600, baseOdds: 50, pdo: 20 }, cutoff: 0.5,
  };
}

const pct = (x: Float64Array, p: number): number => x[Math.min(x.length - 1, Math.floor(x.length * p))]!;

function time(model: SequenceModel, events: Record<string, unknown>[]): Float64Array {
  for (let i = 0; i < 500; i++) model.score(events, AT);
  const lat = new Float64Array(CALLS);
  let sink = 0;
  for (let i = 0; i < CALLS; i++) {
    const t0 = performance.now();
    sink += model.score(events, AT).pd;
    lat[i] = performance.now() - t0;
  }
  if (!Number.isFinite(sink)) throw new Error('non-finite score');
  return lat.sort();
}

function main(): void {
  console.log(`# bench/serve-seq: SequenceModel.score, one ${EVENTS}-event sequence, one thread, ${CALLS} calls; ${machine()}; load average ${loadavg().map((v) => v.toFixed(2)).join(' ')}`);
  const events = history(new Rng(9), EVENTS);
  const cases: [string, SequenceBundleJson][] = [
    ['GRU, hidden 32', bundleOf({ encoder: 'gru', size: 32 })],
    ['transformer, d 32, 2 layers, 4 heads', bundleOf({ encoder: 'transformer', size: 32, ff: 128 })],
  ];
  const rows: (string | number)[][] = [];
  for (const [name, b] of cases) {
    const model = new SequenceModel(b);
    const lat = time(model, events);
    rows.push([name, pct(lat, 0.5).toFixed(3), pct(lat, 0.99).toFixed(3), lat[lat.length - 1]!.toFixed(3)]);
  }
  printTable(['model', 'p50 ms', 'p99 ms', 'max ms'], rows);
}

main();
