/**
 * A recommender whose ranker reads user and item features of the feature store: computed point-in-time
 * from the offline store at training (as of the last interaction; as of the first impression for the
 * impressions' rows), read from the online store at the request, so a request sees what happened since
 * training (here: views pushed after training change the item's feature and the ranker's score).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadRecsData, RecommenderHandle, resolveLive, trainRecommender } from '../../src/recs/index.js';
import { validateConfig } from '../../src/config/index.js';
import { materialize, openOnlineStore, type OnlineFeatureStore } from '../../src/online/index.js';
import { Project } from '../../src/store/index.js';
import { Rng } from '../../src/core/index.js';
import { tempProject } from '../helpers.js';

const DAY = 86_400_000;
const NOW = Date.now();
const CUT = NOW - 2 * 3_600_000;
const iso = (ms: number): string => new Date(ms).toISOString().replace('T', ' ').replace('Z', '');

const CONFIG = `import { defineConfig, entity, eventSource, count, last } from 'kiln';
const buyer = entity('buyer', { key: 'buyer' });
const sku = entity('sku', { key: 'sku' });
const buys = eventSource('buys', { entity: buyer, table: 'events', timestamp: 'at', columns: { sku: 'varchar', channel: 'varchar' } });
const views = eventSource('views', { entity: sku, timestamp: 'at', columns: { viewer: 'varchar' } });
const buys30 = count(buys, { name: 'buys_30d', window: '30d' });
const channel = last(buys, 'channel', { name: 'last_channel', window: '30d' });
const views7 = count(views, { name: 'views_7d', window: '7d' });
export default defineConfig({ name: 'fresh',
  features: [buyer, sku, buys, views, buys30, channel, views7],
  recommenders: {
    fresh: {
      interactions: { table: 'events', user: 'buyer', item: 'sku', time: 'at' },
      users: { features: ['buys_30d', 'last_channel'] },
      items: { table: 'catalogue', id: 'sku', categorical: ['shelf'], features: 'views_7d', maxAgeSeconds: 0 },
      generators: [{ kind: 'popularity' }, { kind: 'ease', lambda: 20 }],
      candidates: 30, ranker: { n_estimators: 30, learning_rate: 0.2 },
    },
    shown: {
      interactions: { table: 'events', user: 'buyer', item: 'sku', time: 'at' },
      impressions: { table: 'shown', user: 'buyer', item: 'sku', clicked: 'taken', time: 'at' },
      users: { features: 'buys_30d' },
      generators: [{ kind: 'popularity' }], candidates: 20, ranker: { n_estimators: 5 },
    },
    bad: {
      interactions: { table: 'events', user: 'buyer', item: 'sku' },
      users: { features: ['views_7d'] },
      generators: [{ kind: 'popularity' }],
    },
  },
});
`;

let ctx: Awaited<ReturnType<typeof tempProject>>;
let project: Project;
const views: { sku: string; at: number }[] = [];
const buysOf = new Map<string, number[]>();

beforeAll(async () => {
  ctx = await tempProject(CONFIG);
  project = ctx.project;
  const rng = new Rng(11, 0);
  const ev = ['buyer,sku,at,channel'];
  const hot = (i: number): number => (i % 4 === 0 ? 6 : 1);
  for (let u = 0; u < 120; u++) {
    for (let j = 0; j < 10; j++) {
      let i = rng.int(60);
      if (hot(i) === 1 && rng.uniform() < 0.6) i = 4 * rng.int(15);
      const at = CUT - rng.int(25 * 24) * 3_600_000;
      ev.push(`b${u},s${i},${iso(at)},${u % 3 === 0 ? 'app' : 'web'}`);
      buysOf.set(`b${u}`, [...(buysOf.get(`b${u}`) ?? []), at]);
    }
  }
  ev.push(`b0,s1,${iso(CUT)},app`);
  buysOf.get('b0')!.push(CUT);
  for (let i = 0; i < 60; i++) for (let v = rng.int(8 * hot(i)); v > 0; v--) views.push({ sku: `s${i}`, at: CUT - rng.int(6 * 24) * 3_600_000 - 1000 });
  writeFileSync(join(ctx.dir, 'events.csv'), `${ev.join('\n')}\n`);
  writeFileSync(join(ctx.dir, 'views.csv'), `sku,at,viewer\n${views.map((v) => `${v.sku},${iso(v.at)},x`).join('\n')}\n`);
  writeFileSync(join(ctx.dir, 'catalogue.csv'), `sku,shelf\n${Array.from({ length: 60 }, (_, i) => `s${i},shelf${i % 5}`).join('\n')}\n`);
  const shown = ['buyer,sku,at,taken'];
  for (let u = 0; u < 120; u++) for (let j = 0; j < 4; j++) shown.push(`b${u},s${(u + j * 7) % 60},${iso(CUT - 10 * DAY)},${j === 0 ? 1 : 0}`);
  writeFileSync(join(ctx.dir, 'shown.csv'), `${shown.join('\n')}\n`);
  for (const t of ['events', 'views', 'catalogue', 'shown']) {
    await project.offline.run(`CREATE TABLE ${t} AS SELECT * FROM read_csv('${join(ctx.dir, `${t}.csv`)}')`);
  }
}, 60_000);
afterAll(() => ctx?.cleanup());

describe('recommenders reading the feature store', () => {
  it('computes the features point-in-time: as of the last interaction, and as of the first impression for impression rows', async () => {
    const loaded = await loadRecsData(project, 'shown', project.config.recommenders.shown!);
    const users = loaded.keys.users;
    const atCut = loaded.data.userAttributes!.numeric!.buys_30d!;
    const atFirst = loaded.data.impressionAttributes!.userAttributes!.numeric!.buys_30d!;
    const first = CUT - 10 * DAY;
    let differ = 0;
    for (const [u, key] of users.entries()) {
      const times = buysOf.get(key)!;
      expect(atCut[u]).toBe(times.filter((t) => t <= CUT && t > CUT - 30 * DAY).length);
      expect(atFirst[u]).toBe(times.filter((t) => t < first && t >= first - 30 * DAY).length);
      if (atCut[u] !== atFirst[u]) differ++;
    }
    expect(differ).toBeGreaterThan(50);
    expect(loaded.live!.users).toMatchObject({ entity: 'buyer', key: 'buyer', numeric: ['buys_30d'], categorical: [], eventTimeBound: 'inclusive' });
    expect(Date.parse(loaded.live!.users!.asOf)).toBe(CUT);
  });

  it('trains with the features and reads them from the online store at the request', async () => {
    const meta = await trainRecommender(project, 'fresh');
    expect(meta.featureNames).toEqual(expect.arrayContaining(['user.buys_30d', 'user.last_channel', 'item.views_7d', 'item.shelf', 'pair.views_7d', 'pair.last_channel.share'.replace('last_channel', 'shelf')]));
    expect(meta.live!.users!.categories.last_channel).toEqual(['app', 'web']);
    const h = RecommenderHandle.open(project, 'fresh');
    expect(h.readsFeatureStore).toBe(true);
    const model = h.model;
    const item = (k: string): number => h.keys.items.indexOf(k);
    const stored = model.data.itemAttributes!.numeric!.views_7d!;
    expect(stored[item('s0')]).toBe(views.filter((v) => v.sku === 's0').length);

    const online: OnlineFeatureStore = await openOnlineStore(project);
    try {
      await materialize(project, { store: online, quiet: true });
      const before = await h.recommendOnline({ user: 'b5', k: 30 }, online);
      expect(before.featureValues).toBe('online');
      // nothing happened since the cut but the passing of two hours: the same values, the same ranking
      const frozen = h.recommend({ user: 'b5', k: 30 });
      expect(frozen.featureValues).toBe('training');
      expect(before.items).toEqual(frozen.items);

      // views pushed now: the item's feature moves, the request sees it, the stored values do not move
      const target = before.items.at(-1)!.item;
      const storedBefore = stored[item(target)]!;
      await online.push({ table: 'views' }, Array.from({ length: 40 }, (_, j) => ({ sku: target, at: new Date(NOW - 60_000 - j).toISOString(), viewer: 'y' })));
      const [row] = await online.getOnlineFeatures([target], 'views_7d');
      expect(row!.views_7d).toBe(storedBefore + 40);
      const after = await h.recommendOnline({ user: 'b5', k: 30 }, online);
      // the world's buyers favour much-viewed items: the ranker learned it, and the freshly viewed item rises
      expect(after.items.findIndex((x) => x.item === target)).toBeLessThan(before.items.length - 5);
      const cands = Int32Array.from(before.items, (x) => item(x.item));
      const fresh = model.rerankFresh(h.keys.users.indexOf('b5'), cands, {
        user: { numeric: { buys_30d: [buysOf.get('b5')!.filter((t) => t > NOW - 30 * DAY).length] }, categorical: { last_channel: [1] } },
        items: { numeric: { views_7d: Float32Array.from(cands, (i) => views.filter((v) => v.sku === h.keys.items[i] && v.at > NOW - 7 * DAY).length + (h.keys.items[i] === target ? 40 : 0)) } },
      });
      const byItem = new Map(after.items.map((x) => [x.item, x.score]));
      for (let r = 0; r < fresh.items.length; r++) expect(byItem.get(h.keys.items[fresh.items[r]!]!)).toBeCloseTo(fresh.scores[r]!, 5);
      expect(stored[item(target)]).toBe(storedBefore);

      // items' values are reused for maxAgeSeconds (default 5): the second request reads only the user
      const h2 = RecommenderHandle.open(project, 'fresh');
      delete h2.meta.spec.items!.maxAgeSeconds;
      const reads: number[] = [];
      const counting = { getOnlineFeatures: (ids: readonly (string | number)[], f?: string | readonly string[]) => { reads.push(ids.length); return online.getOnlineFeatures(ids, f); } };
      const first = await h2.recommendOnline({ user: 'b5', k: 30 }, counting);
      const second = await h2.recommendOnline({ user: 'b5', k: 30 }, counting);
      expect([reads.length, reads[0], reads[2]]).toEqual([3, 1, 1]);
      expect(reads[1]).toBeGreaterThanOrEqual(30);
      expect(second.items).toEqual(first.items);

      // through the route: the server's online store
      const { testServer } = await import('../serve/http-helpers.js');
      const server = await testServer({ routes: [], online, project });
      try {
        const res = await server.app.inject({ method: 'POST', url: '/v1/recommend/fresh', payload: { user: 'b5', k: 30 } });
        expect(res.statusCode).toBe(200);
        const body = res.json() as { featureValues: string; items: { item: string; score: number }[] };
        expect(body.featureValues).toBe('online');
        expect(body.items).toEqual(after.items.map(({ item: i, score }) => ({ item: i, score: expect.closeTo(score, 5) as unknown as number, rank: expect.any(Number) as unknown as number })));
      } finally {
        await server.close();
      }
    } finally {
      await online.close();
    }
  });

  it('names a feature of the wrong entity, a sequence feature, and attributes without a table or features', async () => {
    await expect(loadRecsData(project, 'bad', project.config.recommenders.bad!)).rejects.toThrow(/recommender 'bad': users.features: no user of the interactions is a key of views.sku \(entity 'sku'\)/);
    const spec = (users: unknown): unknown => ({ name: 'p', recommenders: { r: { interactions: { table: 't', user: 'u', item: 'i' }, users, generators: [{ kind: 'popularity' }] } } });
    expect(() => validateConfig(spec({}), 'kiln.config.ts')).toThrow(/recommenders.r.users: expected a table \(with id\) or features/);
    expect(() => validateConfig(spec({ numeric: ['x'], features: 'f' }), 'kiln.config.ts')).toThrow(/recommenders.r.users.table: id, numeric and categorical are columns of a table/);
    expect(() => validateConfig(spec({ table: 't' }), 'kiln.config.ts')).toThrow(/recommenders.r.users.id: expected the id column/);
    expect(() => validateConfig(spec({ features: 'f', maxAgeSeconds: 3 }), 'kiln.config.ts')).toThrow(/recommenders.r.users.maxAgeSeconds: only items' values are reused/);
    expect(() => resolveLive(project, 'r', 'users', ['nope'])).toThrow(/recommender 'r': users.features: unknown feature or feature set 'nope'/);
  });
});
