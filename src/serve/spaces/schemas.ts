/**
 * The payloads of the embedding routes as zod schemas: they validate requests (an issue becomes a
 * REQUEST_INVALID naming the field) and `/openapi.json` is generated from them.
 */
import { z } from 'zod';

/** A version of the space by number or alias; a string of digits is a number. */
export const VersionSelectorSchema = z.union([
  z.number().int().positive(),
  z.string().regex(/^(\d+|[A-Za-z][A-Za-z0-9_-]{0,63})$/, 'expected a version number or an alias (e.g. 3, "current")'),
]).describe('A registered version of the space, by number or alias (default: the version served)');

export const EmbeddingQuerySchema = z.strictObject({
  version: VersionSelectorSchema.optional(),
});

export const EmbeddingsGetBodySchema = z.strictObject({
  ids: z.array(z.string().min(1)).min(1).describe('Entity ids (at most serve.maxBatch)'),
  version: VersionSelectorSchema.optional(),
});

const FilterValueSchema = z.union([z.string(), z.number(), z.boolean(), z.null()]);
export const NEIGHBORS_MAX_K = 1000;

export const NeighborsBodySchema = z.strictObject({
  id: z.string().min(1).optional().describe('An entity of the space (left out of its own neighbours)'),
  vector: z.array(z.number().finite()).min(1).optional().describe("A vector of the space's dimension"),
  k: z.number().int().min(1).max(NEIGHBORS_MAX_K).optional().describe('How many neighbours (default 10)'),
  filters: z.record(z.string().min(1), z.union([FilterValueSchema, z.array(FilterValueSchema).min(1)])).optional()
    .describe('Attribute values the neighbours must have; a list: any of them'),
  exclude: z.array(z.string()).optional().describe('Ids never returned'),
  version: VersionSelectorSchema.optional(),
  shadow: VersionSelectorSchema.optional().describe('Another version to run the same query on, with the overlap of the two answers'),
});
export type NeighborsBody = z.infer<typeof NeighborsBodySchema>;

const NeighborSchema = z.object({ id: z.string(), score: z.number().describe('Similarity: 1 - distance for cos and ip, minus the squared distance for l2') });

export const EmbeddingResponseSchema = z.object({
  space: z.string(), version: z.number().int(), entity: z.string(), id: z.string(), vector: z.array(z.number()),
});
export const EmbeddingsGetResponseSchema = z.object({
  space: z.string(), version: z.number().int(), vectors: z.array(z.array(z.number()).nullable()).describe('In the order of ids; null for an id the version does not hold'),
});
export const NeighborsResponseSchema = z.object({
  space: z.string(),
  version: z.number().int(),
  neighbors: z.array(NeighborSchema),
  shadow: z.object({
    version: z.number().int(),
    neighbors: z.array(NeighborSchema),
    overlap: z.number().nullable().describe('Share of ids the two answers have in common (|a ∩ b| / max(|a|, |b|)); null when the shadow query failed'),
    error: z.string().optional().describe('Why the shadow version could not answer (e.g. it has no vector for the id)'),
  }).optional(),
});
export const EmbeddingSpacesResponseSchema = z.object({
  embeddings: z.array(z.object({
    space: z.string(), ref: z.string(), state: z.enum(['ready', 'failed']), version: z.number().int().nullable(), entity: z.string().nullable(),
    dim: z.number().int().nullable(), size: z.number().int().nullable(), metric: z.enum(['cos', 'ip', 'l2']).nullable(), aliases: z.array(z.string()),
    lastError: z.object({ time: z.string(), version: z.number().int().nullable(), message: z.string() }).nullable(), lastSwapAt: z.string().nullable(),
  })),
});
