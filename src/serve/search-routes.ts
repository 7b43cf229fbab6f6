/**
 * `POST /v1/search/:index` (scope `score`): a query against a search index declared in the config and
 * built with `kiln search build` (lexical BM25F, vector, or hybrid; filters; passages for
 * retrieval-augmented generation). An index opens on its first query and stays open; a rebuild is
 * picked up by `POST /v1/search/:index/reload` (scope `admin`).
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { Project } from '../store/index.js';
import { parseBody } from './http/schemas.js';

export const SearchBodySchema = z.strictObject({
  query: z.string().min(1).describe('The query text'),
  k: z.number().int().min(1).max(1000).optional().describe('How many documents (default 10)'),
  mode: z.enum(['lexical', 'vector', 'hybrid']).optional().describe('Default: hybrid when the index has a vector side, else lexical'),
  filters: z.record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.array(z.union([z.string(), z.number(), z.boolean()]))])).optional().describe('Values of the index filter columns'),
  passages: z.boolean().optional().describe('Also the best passages, with their document, field, offsets and text'),
});

type Handle = import('../search/index.js').SearchIndexHandle;

export function registerSearchRoutes(app: FastifyInstance, deps: { readonly project: Project }): void {
  const open = new Map<string, Promise<Handle>>();
  const handle = async (name: string): Promise<Handle> => {
    let h = open.get(name);
    if (!h) {
      const { SearchIndexHandle } = await import('../search/index.js');
      h = SearchIndexHandle.open(deps.project, name);
      open.set(name, h);
      h.catch(() => open.delete(name));
    }
    return h;
  };
  app.post<{ Params: { index: string } }>('/v1/search/:index', { config: { scope: 'score' } }, async (req) => {
    const body = parseBody(SearchBodySchema, req.body, 'search');
    const h = await handle(req.params.index);
    req.served = { model: req.params.index, version: h.meta.builtAt };
    return h.search(body);
  });
  app.post<{ Params: { index: string } }>('/v1/search/:index/reload', { config: { scope: 'admin' } }, async (req) => {
    const old = open.get(req.params.index);
    open.delete(req.params.index);
    const h = await handle(req.params.index);
    if (old) await (await old.catch(() => null))?.close();
    return { index: req.params.index, builtAt: h.meta.builtAt, documents: h.meta.documents };
  });
  app.addHook('onClose', async () => {
    for (const h of open.values()) await (await h.catch(() => null))?.close();
  });
}
