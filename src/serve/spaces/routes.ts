/**
 * The embedding routes of `kiln serve` (scope `score`): a vector by id, a batch of vectors, neighbours
 * of an id or a vector (optionally the same query on a shadow version, with the overlap), and the served
 * spaces. A handler takes the served version once and reads only it (query.ts awaits nothing), so an
 * alias moving mid-request cannot mix versions in one answer.
 */
import type { FastifyInstance } from 'fastify';
import { KilnError } from '../../core/errors.js';
import type { ServeSettings } from '../settings.js';
import { parseBody, requestInvalid } from '../http/schemas.js';
import { listOverlap, neighborsOf, vectorOf, vectorsOf } from './query.js';
import { EmbeddingQuerySchema, EmbeddingsGetBodySchema, NeighborsBodySchema } from './schemas.js';
import type { EmbeddingSet } from './set.js';

type Space = { Params: { space: string } };
type SpaceId = { Params: { space: string; id: string }; Querystring: Record<string, unknown> };

/**
 * Registers the embedding routes on a server (createServer does it with the server's set).
 * @example registerEmbeddingRoutes(app, { embeddings: await openEmbeddingSet(project, null), settings });
 */
export function registerEmbeddingRoutes(app: FastifyInstance, deps: { readonly embeddings: EmbeddingSet; readonly settings: ServeSettings }): void {
  const { embeddings: set, settings } = deps;

  app.get('/v1/embeddings', { config: { scope: 'score' } }, async () => ({
    embeddings: set.status().map((s) => ({
      space: s.space, ref: s.ref, state: s.state, version: s.version, entity: s.entity, dim: s.dim, size: s.size, metric: s.metric,
      aliases: s.aliases, lastError: s.lastError, lastSwapAt: s.lastSwapAt,
    })),
  }));

  app.get<SpaceId>('/v1/embeddings/:space/:id', { config: { scope: 'score' } }, async (req) => {
    const q = EmbeddingQuerySchema.safeParse(req.query);
    if (!q.success) throw requestInvalid(q.error, 'embeddings', ['query']);
    const v = set.version(req.params.space, q.data.version, 'version');
    req.served = { model: v.space, version: String(v.info.version) };
    return { space: v.space, version: v.info.version, entity: v.info.entity, id: req.params.id, vector: vectorOf(v, req.params.id, ['params', 'id']) };
  });

  app.post<Space>('/v1/embeddings/:space/get', { config: { scope: 'score' } }, async (req) => {
    const body = parseBody(EmbeddingsGetBodySchema, req.body, 'embeddings/get');
    if (body.ids.length > settings.maxBatch) {
      throw new KilnError('PAYLOAD_TOO_LARGE', `ids: ${body.ids.length} ids in one request; this server takes at most ${settings.maxBatch} (serve.maxBatch)`, { path: ['ids'] });
    }
    const v = set.version(req.params.space, body.version, 'version');
    req.served = { model: v.space, version: String(v.info.version) };
    return { space: v.space, version: v.info.version, vectors: vectorsOf(v, body.ids) };
  });

  app.post<Space>('/v1/embeddings/:space/neighbors', { config: { scope: 'score' } }, async (req) => {
    const body = parseBody(NeighborsBodySchema, req.body, 'neighbors');
    if ((body.id === undefined) === (body.vector === undefined)) {
      throw body.id === undefined
        ? new KilnError('REQUEST_INVALID', 'neighbors: id: give an id of the space or a vector (exactly one of them)', { path: ['id'] })
        : new KilnError('REQUEST_INVALID', 'neighbors: vector: give an id or a vector, not both', { path: ['vector'] });
    }
    const v = set.version(req.params.space, body.version, 'version');
    req.served = { model: v.space, version: String(v.info.version) };
    const query = { id: body.id, vector: body.vector, k: body.k ?? 10, filters: body.filters, exclude: body.exclude };
    const neighbors = neighborsOf(v, query);
    if (body.shadow === undefined) return { space: v.space, version: v.info.version, neighbors };
    const s = set.version(v.space, body.shadow, 'shadow');
    let shadow: { version: number; neighbors: typeof neighbors; overlap: number | null; error?: string };
    try {
      const hits = neighborsOf(s, query);
      shadow = { version: s.info.version, neighbors: hits, overlap: listOverlap(neighbors.map((n) => n.id), hits.map((n) => n.id)) };
    } catch (e) {
      // The shadow version may lack the id, or have another dimension: the answer stands, the shadow says why.
      if (!(e instanceof KilnError)) throw e;
      shadow = { version: s.info.version, neighbors: [], overlap: null, error: e.message };
    }
    return { space: v.space, version: v.info.version, neighbors, shadow };
  });
}
