/**
 * `POST /v1/recommend/:name` (scope `score`): the top items for a user from a recommender declared in
 * the config and trained with `kiln recs train` (retrieve-then-rank in the request; popularity for a user
 * the model has not seen; `exclude`, `items` to re-rank the caller's own candidates). The newest version
 * of every trained recommender is opened when the server starts (a request may pin another `version`);
 * `POST /v1/recommend/:name/reload` (scope `admin`) picks up a version trained since. A recommender
 * whose ranker reads user or item features of the feature store reads them from the server's online
 * store at each request (`featureValues: 'online'`).
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { OnlineFeatureStore } from '../online/index.js';
import type { Project } from '../store/index.js';
import { parseBody } from './http/schemas.js';

const Key = z.union([z.string().min(1), z.number()]);

export const RecommendBodySchema = z.strictObject({
  user: Key.describe('The user key (as in the interactions table)'),
  k: z.number().int().min(1).max(1000).optional().describe('How many items (default 10)'),
  exclude: z.array(Key).max(100_000).optional().describe('Items never to return'),
  items: z.array(Key).max(5000).optional().describe("Re-rank these items instead of retrieving candidates (at most the recommender's candidates)"),
  attributes: z.boolean().optional().describe('Return the item attribute columns with each item'),
  version: z.number().int().min(1).optional().describe('A trained version (default the newest)'),
});

type Handle = import('../recs/index.js').RecommenderHandle;

export function registerRecsRoutes(app: FastifyInstance, deps: { readonly project: Project; readonly online?: OnlineFeatureStore | null }): void {
  const open = new Map<string, Promise<Handle>>();
  const handle = async (name: string, version?: number): Promise<Handle> => {
    const key = version === undefined ? name : `${name}@${version}`;
    let h = open.get(key);
    if (!h) {
      h = import('../recs/index.js').then(({ RecommenderHandle }) => RecommenderHandle.open(deps.project, name, version));
      open.set(key, h);
      h.catch(() => open.delete(key));
    }
    return h;
  };
  app.addHook('onReady', async () => {
    const { recommenderVersions } = await import('../recs/index.js');
    for (const name of Object.keys(deps.project.config.recommenders)) {
      if (recommenderVersions(deps.project, name).length === 0) continue;
      await handle(name).catch((e: Error) => app.log.warn({ recommender: name, err: e.message }, 'recommender not opened at start; requests will retry'));
    }
  });
  app.post<{ Params: { name: string } }>('/v1/recommend/:name', { config: { scope: 'score' } }, async (req) => {
    const body = parseBody(RecommendBodySchema, req.body, 'recommend');
    const h = await handle(req.params.name, body.version);
    req.served = { model: req.params.name, version: String(h.meta.version) };
    const { version: _v, ...rest } = body;
    return h.readsFeatureStore ? h.recommendOnline(rest, deps.online ?? null) : h.recommend(rest);
  });
  app.post<{ Params: { name: string } }>('/v1/recommend/:name/reload', { config: { scope: 'admin' } }, async (req) => {
    open.delete(req.params.name);
    const h = await handle(req.params.name);
    return { recommender: req.params.name, version: h.meta.version, trainedAt: h.meta.trainedAt };
  });
}
