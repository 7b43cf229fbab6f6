/**
 * Next-item prediction (issue 18): each user's last interaction by time is held out (leaveLastOut) and
 * ranked against every item the user has not interacted with in train (full ranking, no sampled
 * negatives); HR@10 (= Recall@10 with one target), nDCG@10 and MRR over the users.
 *
 * Rows: popularity, item2vec (the existing generator), EASE^R (for reference), and the `sequence`
 * generator with a GRU (GRU4Rec style) and a causal transformer (SASRec style). Hyper-parameters never
 * see the test item: each grid is scored on a validation split carved from train the same way (each
 * user's second-to-last item, leaveLastOut applied to train), the best by validation nDCG@10 is refitted
 * on the whole train split, with `--seeds` seeds for the seeded models (mean ± sample sd; fit seconds
 * are the mean of those fits). The ratio column is nDCG@10 over popularity's (the reference).
 * A second shape (syntheticMarketplace: no order beyond each user's activity window) runs the same code
 * with the first point of each grid.
 * Data: ../shared/data/movielens-100k/u.data (MOVIELENS_DATA overrides); skipped with a message when absent.
 *
 *   npx tsx bench/next-item.ts [--seeds 2] [--quick 1] [--only movielens|synthetic]
 */
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import {
  evaluateNextItem, fitGenerator, leaveLastOut, syntheticMarketplace,
  type GeneratorSpec, type InteractionTable, type NextItemReport,
} from '../src/recs/index.js';
import { arg, machine, printTable } from './util.js';

const DIR = process.env.MOVIELENS_DATA ?? resolve(import.meta.dirname, '../../shared/data/movielens-100k');

function loadMovieLens(): InteractionTable | null {
  const file = resolve(DIR, 'u.data');
  if (!existsSync(file)) {
    console.log(`bench/next-item: MovieLens-100k not found at ${DIR} (u.data); skipped. Set MOVIELENS_DATA to its folder.`);
    return null;
  }
  const u: number[] = [];
  const i: number[] = [];
  const t: number[] = [];
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    const [user, item, , ts] = line.split('\t').map(Number);
    u.push(user! - 1);
    i.push(item! - 1);
    t.push(ts!);
  }
  return { nUsers: Math.max(...u) + 1, nItems: Math.max(...i) + 1, users: Int32Array.from(u), items: Int32Array.from(i), times: Float64Array.from(t) };
}

interface Group {
  label: string;
  specs: GeneratorSpec[];
  /** Refitted with each seed on train (a spec field `seed`). */
  seeded: boolean;
}

function plan(quick: boolean): Group[] {
  const seq = { kind: 'sequence' as const, dim: 64, maxLen: 50, epochs: 20, batch: 64 };
  const g: Group[] = [
    { label: 'popularity', specs: [{ kind: 'popularity' }], seeded: false },
    {
      label: 'item2vec',
      specs: [
        ...[0.2, 0.1, 0.3].map((popularityWeight) => ({ kind: 'item2vec' as const, dim: 64, epochs: 10, popularityWeight })),
        { kind: 'item2vec', mode: 'item-to-item', dim: 64, epochs: 10, popularityWeight: 0.2 },
      ],
      seeded: true,
    },
    { label: 'EASE^R', specs: [300, 100, 1000].map((lambda) => ({ kind: 'ease' as const, lambda })), seeded: false },
    { label: 'sequence GRU', specs: [[0.005, 0.2], [0.005, 0.5], [0.002, 0.5]].map(([lr, dropout]) => ({ ...seq, lr, dropout })), seeded: true },
    { label: 'sequence transformer', specs: [0.005, 0.002].map((lr) => ({ ...seq, cell: 'transformer' as const, layers: 2, heads: 2, lr, dropout: 0.2 })), seeded: true },
  ];
  return quick ? g.map((x) => ({ ...x, specs: x.specs.slice(0, 1) })) : g;
}

const short = (s: GeneratorSpec): string => JSON.stringify(s).replace(/"kind":"[^"]+",?/, '').replace(/"/g, '');

function meanSd(xs: number[]): string {
  const m = xs.reduce((a, b) => a + b, 0) / xs.length;
  if (xs.length < 2) return m.toFixed(4);
  const sd = Math.sqrt(xs.reduce((a, b) => a + (b - m) ** 2, 0) / (xs.length - 1));
  return `${m.toFixed(4)} ± ${sd.toFixed(4)}`;
}

async function score(spec: GeneratorSpec, train: InteractionTable, test: InteractionTable): Promise<{ r: NextItemReport; seconds: number }> {
  const t0 = performance.now();
  const g = await fitGenerator(spec, train);
  const seconds = (performance.now() - t0) / 1000;
  return { r: evaluateNextItem({ train, test, scoreAll: (u, out) => g.scoreAll(u, out) }), seconds };
}

async function run(name: string, table: InteractionTable, groups: Group[], seeds: number): Promise<void> {
  const { train, test } = leaveLastOut(table);
  const valid = leaveLastOut(train);
  console.log(`\n${name}: ${table.users.length} interactions, ${table.nUsers} users, ${table.nItems} items; leave-last-out: ${train.users.length} train, ${test.users.length} test (validation: ${valid.test.users.length} second-to-last items)`);
  const rows: (string | number)[][] = [];
  let popNdcg = NaN;
  for (const { label, specs, seeded } of groups) {
    let best = specs[0]!;
    let bestNdcg = -1;
    const shown: string[] = [];
    for (const spec of specs) {
      const { r, seconds } = await score(spec, valid.train, valid.test);
      shown.push(`${short(spec) || '-'}: HR ${r.hr.toFixed(4)} nDCG ${r.ndcg.toFixed(4)} (${seconds.toFixed(1)} s)`);
      if (r.ndcg > bestNdcg) { bestNdcg = r.ndcg; best = spec; }
    }
    if (specs.length > 1) console.log(`  ${label} validation: ${shown.join('; ')} -> ${short(best)}`);
    const runs: { r: NextItemReport; seconds: number }[] = [];
    for (let s = 1; s <= (seeded ? seeds : 1); s++) runs.push(await score(seeded ? ({ ...best, seed: s } as GeneratorSpec) : best, train, test));
    const ndcg = runs.reduce((a, x) => a + x.r.ndcg, 0) / runs.length;
    if (label === 'popularity') popNdcg = ndcg;
    rows.push([
      `kiln ${label}`, meanSd(runs.map((x) => x.r.hr)), meanSd(runs.map((x) => x.r.ndcg)), meanSd(runs.map((x) => x.r.mrr)),
      (ndcg / popNdcg).toFixed(2), (runs.reduce((a, x) => a + x.seconds, 0) / runs.length).toFixed(1), seeded ? String(runs.length) : '-', short(best) || '-',
    ]);
    console.log(`  ${label}: done (${runs.map((x) => x.seconds.toFixed(1)).join(', ')} s)`);
  }
  printTable(['model', 'HR@10', 'nDCG@10', 'MRR', 'nDCG / popularity', 'fit s', 'seeds', 'settings (chosen on validation)'], rows);
}

async function main(): Promise<void> {
  console.log(`bench/next-item: ${machine()}`);
  const quick = arg('quick', 0) === 1;
  const seeds = arg('seeds', 2);
  const at = process.argv.indexOf('--only');
  const only = at >= 0 ? process.argv[at + 1] : undefined;
  if (only !== 'synthetic') {
    const ml = loadMovieLens();
    if (ml) await run('MovieLens-100k', ml, plan(quick), seeds);
  }
  if (only !== 'movielens') {
    const m = syntheticMarketplace({ users: 2000, items: 800, perUser: 25, seed: 3 });
    await run('synthetic marketplace (another shape)', m.table, plan(true), seeds);
  }
}

await main();
