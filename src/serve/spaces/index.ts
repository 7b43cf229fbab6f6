/**
 * Embedding spaces served by `kiln serve`: the set of served versions (followed as their aliases move),
 * the look-ups the routes answer, and the routes. See docs/serving.md.
 */
export { openEmbeddingSet, defaultEmbeddingRefs, noEmbeddings, type EmbeddingSet, type EmbeddingSetOptions, type EmbeddingSpaceStatus, type EmbeddingEvent, type ServedVersion } from './set.js';
export { vectorOf, vectorsOf, neighborsOf, listOverlap, type NeighborsQuery, type NeighborHit, type FilterValue } from './query.js';
export { registerEmbeddingRoutes } from './routes.js';
export { EmbeddingsGetBodySchema, NeighborsBodySchema, NEIGHBORS_MAX_K } from './schemas.js';
