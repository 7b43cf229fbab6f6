/**
 * Recommenders declared in the config over tables of their own shape (string keys, a timestamp, a
 * `where`, item and user attribute tables): train a version, recommend (known user, unknown user,
 * exclusions, re-ranking given items), the evaluation table, the HTTP route and the CLI; and the saved
 * model files: a loaded model ranks exactly as the fitted one, a changed file is refused.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  evaluateRecommender, fitRetrieveThenRank, loadRecsData, loadRetrieveThenRank, RecommenderHandle, saveRetrieveThenRank, stratifiedSplit, syntheticMarketplace, trainRecommender,
} from '../../src/recs/index.js';
import { initProject, Project } from '../../src/store/index.js';
import { kiln, tempDir } from '../helpers.js';

const market = syntheticMarketplace({ users: 300, items: 150, categories: 5, perUser: 18, seed: 5 });
let project: Project;
let dir: string;
let cleanup: () => void;

beforeAll(async () => {
  ({ dir, cleanup } = tempDir('kiln-recs-project-'));
  writeFileSync(join(dir, 'kiln.config.ts'), `import { defineConfig } from 'kiln';
export default defineConfig({ name: 'shop',
  recommenders: {
    shop: {
      interactions: { table: 'events', user: 'buyer', item: 'sku', time: 'at', weight: 'qty', where: "kind = 'buy'" },
      items: { table: 'catalogue', id: 'sku', numeric: ['price'], categorical: ['category'] },
      users: { table: 'buyers', id: 'buyer', numeric: ['thrift'] },
      generators: [{ kind: 'ease', lambda: 50 }, { kind: 'popularity' }, { kind: 'als', name: 'mf', factors: 8, iterations: 4 }],
      candidates: 60, diversity: { column: 'category', maxPerCategory: 4 }, ranker: { n_estimators: 40, learning_rate: 0.1 },
    },
    shop_shown: {
      interactions: { table: 'events', user: 'buyer', item: 'sku', time: 'at', where: "kind = 'buy'" },
      impressions: { table: 'shown', user: 'buyer', item: 'sku', clicked: 'taken', time: 'at', slate: 'request' },
      generators: [{ kind: 'popularity' }, { kind: 'ease', lambda: 50 }], candidates: 40, ranker: { n_estimators: 20 },
    },
  },
});
`);
  await initProject(dir);
  project = await Project.open({ project: dir });
  const t = market.table;
  const ev = ['buyer,sku,at,qty,kind'];
  for (let r = 0; r < t.users.length; r++) {
    ev.push(`u${t.users[r]},sku-${t.items[r]},${1_700_000_000 + Math.round(t.times![r]! * 86_400)},${1 + (r % 3)},buy`);
    if (r % 7 === 0) ev.push(`u${t.users[r]},sku-${(t.items[r]! + 1) % t.nItems},${1_700_000_000},1,view`);
  }
  writeFileSync(join(dir, 'events.csv'), `${ev.join('\n')}\n`);
  const price = market.itemAttributes.numeric!.price!;
  const cat = market.itemAttributes.categorical!.category!;
  writeFileSync(join(dir, 'catalogue.csv'), `sku,price,category\n${Array.from(price, (p, i) => `sku-${i},${p},c${cat[i]}`).join('\n')}\n`);
  const thrift = market.userAttributes.numeric!.thrift!;
  writeFileSync(join(dir, 'buyers.csv'), `buyer,thrift\n${Array.from(thrift, (v, u) => `u${u},${v}`).join('\n')}\n`);
  await project.offline.run(`CREATE TABLE events AS SELECT buyer, sku, to_timestamp("at") AS "at", qty, kind FROM read_csv('${join(dir, 'events.csv')}')`);
  await project.offline.run(`CREATE TABLE catalogue AS SELECT * FROM read_csv('${join(dir, 'catalogue.csv')}')`);
  await project.offline.run(`CREATE TABLE buyers AS SELECT * FROM read_csv('${join(dir, 'buyers.csv')}')`);
  const shown = ['request,buyer,sku,at,taken'];
  for (let u = 0; u < market.table.nUsers; u++) {
    for (let j = 0; j < 6; j++) shown.push(`r${u},u${u},sku-${(u * 7 + j * 13) % market.table.nItems},${1_800_000_000},${j === u % 6 ? 1 : 0}`);
  }
  shown.push('r-unknown,stranger,sku-1,1800000000,1');
  writeFileSync(join(dir, 'shown.csv'), `${shown.join('\n')}\n`);
  await project.offline.run(`CREATE TABLE shown AS SELECT request, buyer, sku, to_timestamp("at") AS "at", taken FROM read_csv('${join(dir, 'shown.csv')}')`);
}, 60_000);
afterAll(() => { project?.close(); cleanup?.(); });

describe('recommenders declared in the config', () => {
  it('trains a version and recommends: known users ranked, unknown users by popularity, rules applied', async () => {
    const lines: string[] = [];
    const meta = await trainRecommender(project, 'shop', { log: (l) => lines.push(l) });
    expect([meta.version, meta.users, meta.items, meta.interactions]).toEqual([1, 300, new Set(market.table.items).size, market.table.users.length]);
    expect(meta.timeUnit).toBe('seconds');
    expect(lines.at(-1)).toMatch(/recs shop: v1 in/);
    const h = RecommenderHandle.open(project, 'shop');
    const user = 'u7';
    const bought = new Set<string>();
    for (let r = 0; r < market.table.users.length; r++) if (market.table.users[r] === 7) bought.add(`sku-${market.table.items[r]}`);
    const r = h.recommend({ user, k: 10, attributes: true });
    expect([r.strategy, r.version, r.items.length]).toEqual(['ranked', 1, 10]);
    expect(r.items.some((i) => bought.has(i.item))).toBe(false);
    const perCat = new Map<unknown, number>();
    for (const i of r.items) perCat.set(i.attributes!.category, (perCat.get(i.attributes!.category) ?? 0) + 1);
    expect(Math.max(...perCat.values())).toBeLessThanOrEqual(4);
    expect(r.items.map((i) => i.rank)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    const ex = h.recommend({ user, k: 10, exclude: [r.items[0]!.item, 'no-such-sku'] });
    expect(ex.items.map((i) => i.item)).not.toContain(r.items[0]!.item);
    expect(ex.unknownItems).toEqual(['no-such-sku']);
    const given = r.items.slice(0, 6).map((i) => i.item).reverse();
    const rer = h.recommend({ user, k: 10, items: [...given, [...bought][0]!] });
    expect(rer.items.map((i) => i.item).sort()).toEqual([...given].sort());
    expect(rer.items.every((i, p) => p === 0 || i.score <= rer.items[p - 1]!.score)).toBe(true);
    const cold = h.recommend({ user: 'new-user', k: 5 });
    expect(cold.strategy).toBe('popularity');
    expect(cold.items[0]!.score).toBeGreaterThanOrEqual(cold.items[4]!.score);
    expect(() => h.recommend({ user, k: 0 })).toThrow(/k must be an integer in \[1, 1000\]/);
    expect(() => RecommenderHandle.open(project, 'shp')).toThrow(/no recommender 'shp'.*did you mean 'shop'/);
  }, 60_000);

  it('names the recommender, table and column of bad input', async () => {
    const spec = project.config.recommenders.shop!;
    const bad = (patch: object): Promise<unknown> => loadRecsData(project, 'shop', { ...spec, ...patch } as typeof spec);
    await expect(bad({ interactions: { ...spec.interactions, item: 'skuu' } })).rejects.toThrow(/recommender 'shop': interactions.item: table 'events' has no column 'skuu'; did you mean 'sku'/);
    await expect(bad({ interactions: { ...spec.interactions, table: 'event' } })).rejects.toThrow(/interactions.table 'event' is not in the offline store; did you mean 'events'/);
    await expect(bad({ interactions: { ...spec.interactions, where: "kind = 'nothing'" } })).rejects.toThrow(/'events' has no interactions where kind = 'nothing'/);
    await expect(bad({ interactions: { ...spec.interactions, where: 'kind ===' } })).rejects.toThrow(/reading 'events' where kind === failed/);
    await expect(bad({ interactions: { ...spec.interactions, time: 'kind' } })).rejects.toThrow(/interactions.time: column 'kind' of 'events' is VARCHAR; expected a timestamp, date or number/);
    await expect(bad({ items: { ...spec.items!, numeric: ['category'] } })).rejects.toThrow(/items.numeric.0: column 'category' of 'catalogue' is VARCHAR/);
  });

  it('learns from an impressions table: one group per request, users the interactions lack left out', async () => {
    const lines: string[] = [];
    const meta = await trainRecommender(project, 'shop_shown', { log: (l) => lines.push(l) });
    expect(meta.report.impressionGroups).toBeGreaterThan(250);
    expect(meta.report.groups).toBeGreaterThan(meta.report.impressionGroups);
    expect(lines.some((l) => /impressions: \d+ slates/.test(l))).toBe(true);
    const spec = project.config.recommenders.shop_shown!;
    await expect(loadRecsData(project, 'shop_shown', { ...spec, impressions: { ...spec.impressions!, time: 'taken' } })).rejects.toThrow(/impressions.time: column 'taken' of 'shown' is BIGINT; it must be a timestamp or date, as the interactions' time is/);
  });

  it('evaluates the declared pipeline on a held-out split: every generator, and retrieve-then-rank above popularity', async () => {
    const r = await evaluateRecommender(project, 'shop', { seed: 3 });
    expect(r.rows.map((x) => x.model)).toEqual(['ease', 'popularity', 'mf (als)', 'retrieve-then-rank']);
    for (const x of r.rows) expect(x.ndcg).toBeGreaterThan(0);
    const by = Object.fromEntries(r.rows.map((x) => [x.model, x.ndcg]));
    expect(by['retrieve-then-rank']).toBeGreaterThan(by.popularity! * 1.1);
    expect(r.users).toBeGreaterThan(290);
  }, 60_000);

  it('serves POST /v1/recommend/:name and the CLI', async () => {
    const { testServer } = await import('../serve/http-helpers.js');
    const server = await testServer({ routes: [], online: null, project });
    try {
      const res = await server.app.inject({ method: 'POST', url: '/v1/recommend/shop', payload: { user: 'u7', k: 5 } });
      expect(res.statusCode).toBe(200);
      const body = res.json() as { strategy: string; items: { item: string }[] };
      expect(body.items.map((i) => i.item)).toEqual(RecommenderHandle.open(project, 'shop').recommend({ user: 'u7', k: 5 }).items.map((i) => i.item));
      expect((await server.app.inject({ method: 'POST', url: '/v1/recommend/nope', payload: { user: 'u7' } })).statusCode).toBe(404);
      expect((await server.app.inject({ method: 'POST', url: '/v1/recommend/shop', payload: { user: 'u7', k: 0 } })).statusCode).toBe(400);
      expect((await server.app.inject({ method: 'POST', url: '/v1/recommend/shop', payload: { user: 'u7', version: 9 } })).statusCode).toBe(404);
      const doc = (await server.app.inject({ method: 'GET', url: '/openapi.json' })).json() as { paths: Record<string, unknown> };
      expect(Object.keys(doc.paths)).toContain('/v1/recommend/{name}');
    } finally {
      await server.close();
    }
    project.releaseOffline();
    const cli = await kiln(['recs', 'recommend', 'shop', 'u7', '-k', '3'], dir);
    expect(cli.code, cli.stderr).toBe(0);
    expect(cli.stdout).toMatch(/retrieve-then-rank[\s\S]*sku-\d+/);
    const list = await kiln(['recs', 'list', '--json'], dir);
    expect(list.code, list.stderr).toBe(0);
    expect(JSON.parse(list.stdout)).toEqual([expect.objectContaining({ name: 'shop', versions: [1], latest: expect.objectContaining({ version: 1, users: 300 }) }), expect.objectContaining({ name: 'shop_shown', versions: [1] })]);
    const missing = await kiln(['recs', 'recommend', 'nope', 'u7'], dir);
    expect(missing.code).toBe(66);
    expect(missing.stderr).toMatch(/RECOMMENDER_NOT_FOUND|no recommender 'nope'/);
  }, 60_000);
});

describe('saved recommenders', () => {
  it('load to the same rankings, and refuse a changed file', async () => {
    const { train } = stratifiedSplit(market.table, { ratio: 0.8, seed: 1 });
    const model = await fitRetrieveThenRank({ train, userAttributes: market.userAttributes, itemAttributes: market.itemAttributes }, {
      generators: [
        { kind: 'popularity' }, { kind: 'cooccurrence' }, { kind: 'item2vec', name: 'i2v', dim: 8, epochs: 2, mode: 'item-to-item', neighbours: 10 },
        { kind: 'item2vec', name: 'mean', dim: 8, epochs: 2, ann: true }, { kind: 'bpr', factors: 8, epochs: 3, ann: { overFetch: 3 } },
      ],
      candidates: 40, ranker: { n_estimators: 20 }, diversity: { column: 'category', maxPerCategory: 3 },
    });
    const { dir: d, cleanup: done } = tempDir('kiln-recs-save-');
    try {
      saveRetrieveThenRank(model, d);
      const back = loadRetrieveThenRank(d);
      for (let u = 0; u < 60; u++) {
        const a = model.recommend(u, 10);
        const b = back.recommend(u, 10);
        expect(Array.from(b.items)).toEqual(Array.from(a.items));
        expect(Array.from(b.scores)).toEqual(Array.from(a.scores));
      }
      const bin = join(d, 'arrays.bin');
      const bytes = readFileSync(bin);
      bytes[bytes.length - 1] = bytes[bytes.length - 1]! ^ 1;
      writeFileSync(bin, bytes);
      expect(() => loadRetrieveThenRank(d)).toThrow(/arrays.bin does not match model.json/);
    } finally {
      done();
    }
  }, 60_000);
});
