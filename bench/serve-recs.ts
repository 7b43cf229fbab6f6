/**
 * `POST /v1/recommend/:name` under load (issue 18: p99 <= 10 ms with 200 candidates re-ranked), on two
 * shapes, each a recommender declared in a config and trained with trainRecommender:
 *   MovieLens-100k   examples/movielens (943 users x 1,682 films; EASE^R, ALS, BPR, item2vec,
 *                    co-occurrence, popularity; 200 candidates), when ../shared/data is there
 *   marketplace      syntheticMarketplace at --users x --items (ALS, item2vec, popularity; 200 candidates;
 *                    string keys, timestamps, a category diversity rule)
 *   marketplace + feature store   the same, its ranker also reading three feature-store features read
 *                    from the online store at each request (the user's, and the 200 candidates')
 * The server is a `kiln serve --project DIR` process; the load comes from bench/serve-load.ts in another
 * process: saturated throughput over --connections keep-alive connections, then an open loop at --rate
 * requests/s or half the saturated rate, whichever is lower. Bodies cycle through 2,000 users drawn with a
 * seed (k = 10). For scale: the same requests in process (RecommenderHandle, no HTTP).
 *   npx tsx bench/serve-recs.ts [--seconds 10] [--rate 200] [--connections 4] [--users 5000] [--items 3000]
 *     [--movielens-project DIR]   (a project where examples/movielens/run.ts has trained movies: no retraining)
 */
import type { ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { Rng } from '../src/core/rng.js';
import { RecommenderHandle, syntheticMarketplace, trainRecommender } from '../src/recs/index.js';
import { materialize, openOnlineStore } from '../src/online/index.js';
import { initProject, Project } from '../src/store/index.js';
import { defaultData, loadMovieLens } from '../examples/movielens/run.js';
import { tempDir } from '../test/helpers.js';
import { arg, loadMeasure, machine, printTable, startProcess } from './util.js';

const SECONDS = arg('seconds', 10);
const RATE = arg('rate', 200);
const CONNECTIONS = arg('connections', 4);
const ROOT = join(import.meta.dirname, '..');
const BIN = join(ROOT, 'bin', 'kiln.js');
const children: ChildProcess[] = [];
const cleanups: (() => void)[] = [];
process.on('exit', () => { for (const c of children) c.kill('SIGKILL'); for (const c of cleanups) c(); });

const ms = (x: number): string => x.toFixed(2);
const quantile = (xs: number[], p: number): number => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(p * xs.length))]!;
const rows: (string | number)[][] = [];

async function measure(label: string, dir: string, name: string, users: string[]): Promise<void> {
  const project = await Project.open({ project: dir });
  const h = RecommenderHandle.open(project, name);
  const online = h.readsFeatureStore ? await openOnlineStore(project) : null;
  if (online) await materialize(project, { store: online, quiet: true });
  const inproc: number[] = [];
  for (let r = 0; r < 2; r++) {
    for (const user of users) {
      const t0 = performance.now();
      JSON.stringify(online ? await h.recommendOnline({ user, k: 10 }, online) : h.recommend({ user, k: 10 }));
      inproc.push(performance.now() - t0);
    }
  }
  inproc.splice(0, users.length);
  await online?.close();
  project.close();
  rows.push([label, 'in process (no HTTP)', '', ms(quantile(inproc, 0.5)), ms(quantile(inproc, 0.99)), 0]);
  const bodies = join(dir, 'bodies.json');
  writeFileSync(bodies, JSON.stringify(users.map((user) => ({ user, k: 10 }))));
  const serve = await startProcess([BIN, 'serve', '--project', dir], 'kiln serve', '/readyz', children);
  const url = `${serve.url}/v1/recommend/${name}`;
  const sat = loadMeasure(url, { rate: 0, seconds: SECONDS, connections: CONNECTIONS, bodies });
  rows.push([label, `saturated, ${CONNECTIONS} conn`, sat.rps.toFixed(0), ms(sat.p50), ms(sat.p99), sat.errors + sat.non2xx]);
  const rate = Math.max(1, Math.min(RATE, Math.floor(sat.rps / 2 / 10) * 10));
  const open = loadMeasure(url, { rate, seconds: SECONDS, connections: CONNECTIONS, bodies });
  rows.push([label, `open loop ${rate}/s`, open.rps.toFixed(0), ms(open.p50), ms(open.p99), open.errors + open.non2xx]);
  await serve.stop();
}

function pick(keys: string[], n: number, seed: number): string[] {
  const rng = new Rng(seed, 0x5e7);
  return Array.from({ length: n }, () => keys[rng.int(keys.length)]!);
}

console.log(`bench/serve-recs: ${machine()}`);
console.log(`load average at start: ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);

const ml = defaultData();
const mlProjectAt = process.argv.indexOf('--movielens-project');
if (mlProjectAt >= 0) {
  const dir = process.argv[mlProjectAt + 1]!;
  console.log(`MovieLens-100k: the movies recommender already trained in ${dir}`);
  await measure('MovieLens-100k (200 candidates)', dir, 'movies', pick(Array.from({ length: 943 }, (_, u) => String(u + 1)), 2000, 1));
} else if (existsSync(join(ml, 'u.data'))) {
  const { dir, cleanup } = tempDir('kiln-bench-recs-ml-');
  cleanups.push(cleanup);
  copyFileSync(join(ROOT, 'examples', 'movielens', 'kiln.config.ts'), join(dir, 'kiln.config.ts'));
  await initProject(dir);
  const project = await Project.open({ project: dir });
  await loadMovieLens(project, ml);
  const meta = await trainRecommender(project, 'movies');
  project.close();
  console.log(`MovieLens-100k: trained movies v${meta.version} in ${meta.seconds.toFixed(1)} s (${meta.report.rounds} ranker rounds, ${meta.featureNames.length} features)`);
  await measure('MovieLens-100k (200 candidates)', dir, 'movies', pick(Array.from({ length: 943 }, (_, u) => String(u + 1)), 2000, 1));
} else {
  console.log(`MovieLens-100k not found at ${ml}; that shape is skipped (set MOVIELENS_DATA).`);
}

/**
 * The marketplace shape; with `live`, its ranker also reads features of the feature store (the buyer's
 * purchases in 30 days, the item's buyers in 7 and 30 days), read from the server's online store at each
 * request: one read for the user, one for the 200 candidates. Times end an hour ago so windows hold events.
 */
async function marketplace(live: boolean): Promise<void> {
  const users = arg('users', 5_000);
  const items = arg('items', 3_000);
  const { dir, cleanup } = tempDir('kiln-bench-recs-mk-');
  cleanups.push(cleanup);
  const features = live ? `
  features: [buyer, sku, buys, sold, buys30, sold7, sold30],` : '';
  writeFileSync(join(dir, 'kiln.config.ts'), `import { entity, eventSource, count } from 'kiln';
const buyer = entity('buyer', { key: 'buyer' });
const sku = entity('sku', { key: 'sku' });
const buys = eventSource('buys', { entity: buyer, table: 'events', timestamp: 'at', columns: { sku: 'varchar' } });
const sold = eventSource('sold', { entity: sku, table: 'events', timestamp: 'at', columns: { buyer: 'varchar' } });
const buys30 = count(buys, { name: 'buys_30d', window: '30d' });
const sold7 = count(sold, { name: 'sold_7d', window: '7d' });
const sold30 = count(sold, { name: 'sold_30d', window: '30d' });
export default { name: 'market',${features}
  recommenders: { market: {
    interactions: { table: 'events', user: 'buyer', item: 'sku', time: 'at' },
    items: { table: 'catalogue', id: 'sku', numeric: ['price'], categorical: ['category']${live ? ", features: ['sold_7d', 'sold_30d']" : ''} },${live ? "\n    users: { features: 'buys_30d' }," : ''}
    generators: [{ kind: 'als', factors: 32, regularization: 10, iterations: 10 }, { kind: 'item2vec', dim: 32, epochs: 5 }, { kind: 'popularity' }],
    candidates: 200, diversity: { column: 'category', maxPerCategory: 4 }, ranker: { n_estimators: 60, learning_rate: 0.1 },
  } },
};\n`);
  await initProject(dir);
  const project = await Project.open({ project: dir });
  const m = syntheticMarketplace({ users, items, categories: 20, perUser: 20, seed: 9 });
  const t = m.table;
  let hi = -Infinity;
  for (const x of t.times!) hi = Math.max(hi, x);
  const end = Math.floor(Date.now() / 1000) - 3600;
  const ev = ['buyer,sku,at'];
  for (let r = 0; r < t.users.length; r++) ev.push(`u${t.users[r]},sku-${t.items[r]},${end - Math.round((hi - t.times![r]!) * 86_400)}`);
  writeFileSync(join(dir, 'events.csv'), `${ev.join('\n')}\n`);
  const price = m.itemAttributes.numeric!.price!;
  const cat = m.itemAttributes.categorical!.category!;
  writeFileSync(join(dir, 'catalogue.csv'), `sku,price,category\n${Array.from(price, (p, i) => `sku-${i},${p},c${cat[i]}`).join('\n')}\n`);
  await project.offline.run(`CREATE TABLE events AS SELECT buyer, sku, to_timestamp("at")::TIMESTAMP AS "at" FROM read_csv('${join(dir, 'events.csv')}')`);
  await project.offline.run(`CREATE TABLE catalogue AS SELECT * FROM read_csv('${join(dir, 'catalogue.csv')}')`);
  const meta = await trainRecommender(project, 'market');
  project.close();
  console.log(`marketplace${live ? ' + feature store' : ''}: ${t.users.length} interactions, ${users} users x ${items} items; trained in ${meta.seconds.toFixed(1)} s (${meta.featureNames.length} ranker features)`);
  await measure(`marketplace ${users} x ${items}${live ? ', 3 features read online' : ''} (200 candidates)`, dir, 'market', pick(Array.from({ length: users }, (_, u) => `u${u}`), 2000, 2));
}

await marketplace(false);
await marketplace(true);

console.log('');
printTable(['recommender', 'load', 'requests/s', 'p50 ms', 'p99 ms', 'errors'], rows);
console.log(`target: p99 <= 10 ms for 200 candidates re-ranked (issue 18)`);
console.log(`load average at end: ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
