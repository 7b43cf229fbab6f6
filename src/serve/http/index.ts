/**
 * The HTTP server of `kiln serve` (Fastify): predict, explain, features, events, decisions, models,
 * traffic, health, readiness, metrics and the OpenAPI document. See docs/serving.md.
 */
export { createServer, checkBinding, closeOnSignals, type ServerOptions, type KilnServer } from './server.js';
export { openApiDocument } from './openapi.js';
export { serverMetrics, type ServerMetrics } from './metrics.js';
export { featureRowSchema, jsonTypeOf, PredictBodySchema, ExplainBodySchema, FeaturesGetBodySchema, EventsBodySchema, TrafficBodySchema } from './schemas.js';
export { startServer, type StartDeps, type RunningServer } from './start.js';
