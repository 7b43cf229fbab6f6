/**
 * `/openapi.json`: an OpenAPI 3.1 document generated from the zod schemas that validate the payloads
 * (`z.toJSONSchema`), plus, for each served model, its own predict path whose feature row schema is built
 * from the serving version's signature (feature names and types), and the embedding routes with the
 * served spaces listed on their `space` parameter.
 */
import { z } from 'zod';
import { SearchBodySchema } from '../search-routes.js';
import { RecommendBodySchema } from '../recs-routes.js';
import { createRequire } from 'node:module';
import type { ModelSet } from '../types.js';
import type { EmbeddingSet } from '../spaces/set.js';
import {
  EmbeddingResponseSchema, EmbeddingSpacesResponseSchema, EmbeddingsGetBodySchema, EmbeddingsGetResponseSchema, NeighborsBodySchema, NeighborsResponseSchema,
} from '../spaces/schemas.js';
import {
  ErrorSchema, EventsBodySchema, ExplainBodySchema, FeaturesGetBodySchema, PredictBodySchema, PredictResponseSchema, TrafficBodySchema, featureRowSchema,
} from './schemas.js';

type Json = Record<string, unknown>;

const VERSION = ((): string => { try { return (createRequire(import.meta.url)('../../../package.json') as { version: string }).version; } catch { return 'unknown'; } })();

const json = (schema: z.ZodType, io: 'input' | 'output' = 'input'): Json => {
  const { $schema: _s, ...rest } = z.toJSONSchema(schema, { io, unrepresentable: 'any' }) as Json;
  return rest;
};

const errors = (codes: number[]): Json => Object.fromEntries(codes.map((c) => [String(c), { description: 'Error', content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } }]));

function op(summary: string, scope: string | null, body: Json | null, response: Json, errs: number[], extra: Json = {}): Json {
  return {
    summary,
    ...(scope ? { security: [{ bearer: [scope] }, { apiKey: [scope] }], 'x-kiln-scope': scope } : { security: [] }),
    ...(body ? { requestBody: { required: true, content: { 'application/json': { schema: body } } } } : {}),
    responses: { 200: { description: 'OK', content: { 'application/json': { schema: response } } }, ...errors(errs) },
    ...extra,
  };
}

const nameParam = { name: 'name', in: 'path', required: true, schema: { type: 'string' }, description: 'Model name' };
const idParam = { name: 'id', in: 'path', required: true, schema: { type: 'string' }, description: 'Decision id' };
const anyObject = { type: 'object' };

/** The document for the models and embedding spaces served now. */
export function openApiDocument(models: ModelSet, embeddings?: EmbeddingSet): Json {
  const schemas: Json = {
    Error: json(ErrorSchema, 'output'),
    PredictRequest: json(PredictBodySchema),
    PredictResponse: json(PredictResponseSchema, 'output'),
    ExplainRequest: json(ExplainBodySchema),
    FeaturesGetRequest: json(FeaturesGetBodySchema),
    EventsRequest: json(EventsBodySchema),
    TrafficRequest: json(TrafficBodySchema),
    EmbeddingResponse: json(EmbeddingResponseSchema, 'output'),
    EmbeddingsGetRequest: json(EmbeddingsGetBodySchema),
    EmbeddingsGetResponse: json(EmbeddingsGetResponseSchema, 'output'),
    NeighborsRequest: json(NeighborsBodySchema),
    NeighborsResponse: json(NeighborsResponseSchema, 'output'),
    EmbeddingSpaces: json(EmbeddingSpacesResponseSchema, 'output'),
    SearchRequest: json(SearchBodySchema),
    RecommendRequest: json(RecommendBodySchema),
  };
  const spaces = embeddings?.spaces() ?? [];
  const spaceParam = { name: 'space', in: 'path', required: true, schema: spaces.length ? { type: 'string', enum: spaces } : { type: 'string' }, description: 'Embedding space (served here)' };
  const versionParam = { name: 'version', in: 'query', required: false, schema: { type: 'string' }, description: 'Another registered version, by number or alias (a shadow look-up); default: the version served' };
  const entityParam = { name: 'id', in: 'path', required: true, schema: { type: 'string' }, description: 'Entity id' };
  const ref = (n: string): Json => ({ $ref: `#/components/schemas/${n}` });
  const paths: Json = {
    '/v1/models/{name}/predict': { post: op('Score rows: decision id, probability, points, decline, reasons', 'score', ref('PredictRequest'), ref('PredictResponse'), [400, 401, 403, 404, 413, 422, 503], { parameters: [nameParam] }) },
    '/v1/models/{name}/explain': { post: op('TreeSHAP contributions of the serving version', 'score', ref('ExplainRequest'), anyObject, [400, 401, 403, 404, 413, 422], { parameters: [nameParam] }) },
    '/v1/models/{name}/traffic': { put: op('Set or remove the challenger (shadow or canary)', 'admin', ref('TrafficRequest'), anyObject, [400, 401, 403, 404, 422], { parameters: [nameParam] }) },
    '/v1/models': { get: op('What is served: versions, aliases, signatures, challengers', 'score', null, anyObject, [401, 403]) },
    '/v1/features/get': { post: op('Online feature values of entities', 'score', ref('FeaturesGetRequest'), anyObject, [400, 401, 403, 404, 413, 422, 503]) },
    '/v1/events': { post: op('Push events into the online store', 'write', ref('EventsRequest'), anyObject, [400, 401, 403, 404, 413, 422, 503]) },
    '/v1/decisions/{id}': { get: op('A decision record', 'score', null, anyObject, [401, 403, 404], { parameters: [idParam] }) },
    '/v1/decisions/{id}/replay': { post: op("Re-score a decision's features with its version", 'score', null, anyObject, [401, 403, 404], { parameters: [idParam] }) },
    '/v1/embeddings': { get: op('The served embedding spaces: version, entity, dimension, size, metric, aliases', 'score', null, ref('EmbeddingSpaces'), [401, 403]) },
    '/v1/embeddings/{space}/{id}': { get: op('The vector of an entity', 'score', null, ref('EmbeddingResponse'), [400, 401, 403, 404], { parameters: [spaceParam, entityParam, versionParam] }) },
    '/v1/embeddings/{space}/get': { post: op('Vectors of a batch of entities (null for those the version lacks)', 'score', ref('EmbeddingsGetRequest'), ref('EmbeddingsGetResponse'), [400, 401, 403, 404, 413], { parameters: [spaceParam] }) },
    '/v1/embeddings/{space}/neighbors': { post: op('Nearest neighbours of an entity or a vector, optionally beside a shadow version', 'score', ref('NeighborsRequest'), ref('NeighborsResponse'), [400, 401, 403, 404], { parameters: [spaceParam] }) },
    '/v1/search/{index}': { post: op('Search an index built with kiln search build: lexical, vector or hybrid, filters, passages', 'score', ref('SearchRequest'), anyObject, [400, 401, 403, 404], { parameters: [{ name: 'index', in: 'path', required: true, schema: { type: 'string' }, description: 'Search index (declared under search in the config)' }] }) },
    '/v1/search/{index}/reload': { post: op('Reopen a search index after kiln search build', 'admin', null, anyObject, [401, 403, 404], { parameters: [{ name: 'index', in: 'path', required: true, schema: { type: 'string' } }] }) },
    '/v1/recommend/{name}': { post: op('Top items for a user: retrieve-then-rank (popularity for a user the model has not seen), exclusions, re-ranking of given items', 'score', ref('RecommendRequest'), anyObject, [400, 401, 403, 404, 422], { parameters: [{ name: 'name', in: 'path', required: true, schema: { type: 'string' }, description: 'Recommender (declared under recommenders in the config)' }] }) },
    '/v1/recommend/{name}/reload': { post: op('Open the newest version after kiln recs train', 'admin', null, anyObject, [401, 403, 404], { parameters: [{ name: 'name', in: 'path', required: true, schema: { type: 'string' } }] }) },
    '/healthz': { get: op('The process is up (open)', null, null, anyObject, []) },
    '/readyz': { get: op('Every configured model and embedding space and the online store are loaded (open)', null, null, anyObject, [503]) },
    '/metrics': { get: { summary: 'Prometheus metrics (open)', security: [], responses: { 200: { description: 'OK', content: { 'text/plain': { schema: { type: 'string' } } } } } } },
    '/openapi.json': { get: op('This document (open)', null, null, anyObject, []) },
  };
  for (const name of models.names()) {
    const route = models.route(name);
    if (!route) continue;
    const rowName = `${name}_v${route.primary.version}_features`;
    schemas[rowName] = json(featureRowSchema(route.primary));
    const rowsSchema = {
      oneOf: [
        { type: 'object', properties: { entityId: { type: ['string', 'number'] }, asOf: { type: 'string' } }, required: ['entityId'], additionalProperties: false },
        { type: 'object', properties: { features: ref(rowName) }, required: ['features'], additionalProperties: false },
      ],
    };
    const body = { type: 'object', properties: { rows: { type: 'array', items: rowsSchema, minItems: 1 }, reasons: { type: 'boolean' }, allowUnknown: { type: 'boolean' } }, required: ['rows'] };
    paths[`/v1/models/${name}/predict`] = { post: op(`Score rows with ${name} (version ${route.primary.version} serving)`, 'score', body, ref('PredictResponse'), [400, 401, 403, 413, 422, 503]) };
  }
  return {
    openapi: '3.1.0',
    info: { title: 'kiln serve', version: VERSION, description: 'Credit decisions with reason codes, and embedding look-ups. See docs/serving.md.' },
    paths,
    components: {
      schemas,
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer' }, apiKey: { type: 'apiKey', in: 'header', name: 'x-api-key' } },
    },
  };
}
