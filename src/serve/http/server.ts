/**
 * The Fastify server of `kiln serve`, built but not listening. Per request: the route's scope is checked
 * against the API key (onRequest), the handler runs (routes.ts), and the response is counted and timed
 * per route, model and version (onResponse). Every error leaves as `{ code, message, path }` with the
 * status of its code (src/core/error-codes.ts): a KilnError as it is, Fastify's own parse, validation and
 * body-limit errors as REQUEST_INVALID / PAYLOAD_TOO_LARGE, and anything else as a 500 INTERNAL logged
 * with its stack (a bug, never the client's fault). `close()` stops accepting, waits for requests in
 * flight (then closes the keep-alive connections they held), then flushes and closes the decision log.
 */
import { hostname } from 'node:os';
import Fastify, { type FastifyError, type FastifyInstance, type FastifyServerOptions } from 'fastify';
import { KilnError } from '../../core/errors.js';
import { httpStatus } from '../../core/error-codes.js';
import type { OnlineFeatureStore } from '../../online/index.js';
import type { Project } from '../../store/index.js';
import { ApiKeys, isLoopback, type ApiKeyScope, type Caller } from '../auth.js';
import type { ServeSettings } from '../settings.js';
import type { DecisionWriter, LiveVersion, ModelSet } from '../types.js';
import { noEmbeddings, type EmbeddingSet } from '../spaces/set.js';
import { registerEmbeddingRoutes } from '../spaces/routes.js';
import { registerSearchRoutes } from '../search-routes.js';
import { registerRecsRoutes } from '../recs-routes.js';
import { serverMetrics, type ServerMetrics } from './metrics.js';
import { registerRoutes } from './routes.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The API key scope the route needs; none: open. */
    scope?: ApiKeyScope;
  }
  interface FastifyRequest {
    /** The key's holder (null: no keys configured, or an open route). */
    caller: Caller | null;
    /** Model and version the request was served by, for the metrics labels. */
    served: { model: string; version: string } | null;
  }
}

export interface ServerOptions {
  readonly models: ModelSet;
  readonly decisions: DecisionWriter;
  readonly online: OnlineFeatureStore | null;
  readonly settings: ServeSettings;
  /** The embedding spaces served (default: none). */
  readonly embeddings?: EmbeddingSet;
  readonly project?: Project;
  /** Loads a version by reference ('credit@3'), for replays of versions no longer served. */
  readonly loadVersion?: (ref: string) => LiveVersion | Promise<LiveVersion>;
  /** Fastify's logger: false (default), true, or its options. Authorization and x-api-key are always redacted. */
  readonly logger?: boolean | Record<string, unknown>;
  /** Mount the web UI at /ui (`kiln serve --ui`), with the server's API keys. */
  readonly ui?: boolean;
  /** The BullMQ key prefix the UI's Jobs screen reads (default kiln-backfill; Redis: $KILN_REDIS_URL). */
  readonly uiQueue?: string;
}

export interface KilnServer extends FastifyInstance {
  readonly kiln: { readonly metrics: ServerMetrics; readonly keys: ApiKeys; readonly draining: () => boolean };
}

const REDACT = ['req.headers.authorization', 'req.headers["x-api-key"]', 'headers.authorization', 'headers["x-api-key"]'];

function errorBody(e: KilnError): { code: string; message: string; path?: (string | number)[] } {
  return e.path ? { code: e.code, message: e.message, path: e.path } : { code: e.code, message: e.message };
}

/** Fastify's own client errors (parse, content type, body limit) as KilnErrors; null for anything else. */
function clientError(e: FastifyError, bodyLimit: number): KilnError | null {
  if (e.code === 'FST_ERR_CTP_BODY_TOO_LARGE' || e.statusCode === 413) {
    return new KilnError('PAYLOAD_TOO_LARGE', `the request body is larger than this server takes (${bodyLimit} bytes, serve.bodyLimit): send fewer rows per request`, { path: ['body'] });
  }
  if (e.validation || (typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500)) {
    const what = e.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE' ? 'send the body as JSON (Content-Type: application/json)'
      : e.code === 'FST_ERR_CTP_EMPTY_JSON_BODY' ? 'the body is empty; send a JSON object'
        : e instanceof SyntaxError || /JSON/i.test(e.message) ? `the body is not valid JSON (${e.message})` : e.message;
    return new KilnError('REQUEST_INVALID', what, { path: ['body'] });
  }
  return null;
}

/**
 * The server for a model set, a decision log and (optionally) an online store.
 * @example const app = createServer({ models, decisions, online, settings }); await app.listen({ port: 8080 });
 */
export function createServer(opts: ServerOptions): KilnServer {
  const { settings, models, decisions } = opts;
  const embeddings = opts.embeddings ?? noEmbeddings();
  const keys = new ApiKeys(settings.apiKeys);
  const logger: FastifyServerOptions['logger'] = opts.logger === undefined || opts.logger === false ? false
    : { ...(opts.logger === true ? {} : opts.logger), redact: { paths: REDACT, censor: '[redacted]' } };
  const app = Fastify({ logger, bodyLimit: settings.bodyLimit, forceCloseConnections: 'idle', return503OnClosing: true }) as unknown as KilnServer;
  // Replicas sharing one registry (PostgreSQL) label every series with the replica, so a dashboard sums
  // or splits them; KILN_REPLICA names it (default host:pid).
  const replica = process.env.KILN_REPLICA?.trim() || (opts.project?.meta.shared ? `${hostname()}:${process.pid}` : undefined);
  const metrics = serverMetrics(models, decisions, { embeddings, ...(replica ? { replica } : {}) });
  const unsubscribeModels = models.onEvent((e) => metrics.modelEvent(e));
  const unsubscribeEmbeddings = embeddings.onEvent((e) => metrics.embeddingEvent(e));
  let draining = false;
  (app as { kiln: KilnServer['kiln'] }).kiln = { metrics, keys, draining: () => draining };

  app.decorateRequest('caller', null);
  app.decorateRequest('served', null);

  // Requests in flight: close() waits for them before it closes the decision log (injected requests too).
  let inFlight = 0;
  let idle: (() => void) | null = null;
  const open = new WeakSet<object>();
  app.addHook('onRequest', async (req) => {
    inFlight++;
    open.add(req);
    const scope = req.routeOptions.config.scope;
    if (scope && keys.enabled) req.caller = keys.authorize(req.headers as Record<string, string | undefined>, scope);
  });
  const settle = (req: object): void => {
    if (!open.delete(req) || --inFlight > 0) return;
    idle?.();
    // Draining: the keep-alive connections that were busy when close() began are idle now. Close them, else
    // the server's close waits until their clients hang up (Fastify's keep-alive timeout: 72 s).
    if (draining) setImmediate(() => app.server.closeIdleConnections());
  };
  app.addHook('onRequestAbort', async (req) => settle(req));
  app.addHook('onResponse', async (req, reply) => {
    settle(req);
    const route = req.routeOptions.url ?? 'unmatched';
    const s = req.served;
    metrics.request(route, req.method, reply.statusCode, s?.model ?? '', s?.version ?? '', reply.elapsedTime / 1000);
  });

  app.setErrorHandler((err: FastifyError, req, reply) => {
    let e: KilnError;
    if (err instanceof KilnError) e = err;
    else {
      const c = clientError(err, settings.bodyLimit);
      if (c) e = c;
      else {
        req.log.error({ err }, 'internal error (a bug in kiln)');
        if (!opts.logger) process.stderr.write(`kiln serve: internal error on ${req.method} ${req.url}: ${err.stack ?? String(err)}\n`);
        e = new KilnError('INTERNAL', `internal error (a bug in kiln, logged by the server): ${err.message}`);
      }
    }
    void reply.code(httpStatus(e)).send(errorBody(e));
  });
  app.setNotFoundHandler((req, reply) => {
    void reply.code(404).send({ code: 'REQUEST_INVALID', message: `no route ${req.method} ${req.url.split('?')[0]}; see /openapi.json for the routes`, path: ['url'] });
  });

  app.addHook('preClose', async () => { draining = true; });
  app.addHook('onClose', async () => {
    unsubscribeModels();
    unsubscribeEmbeddings();
    if (inFlight > 0) await new Promise<void>((resolve) => { idle = resolve; });
    await decisions.close();
  });

  registerRoutes(app, { ...opts, embeddings, metrics, draining: () => draining });
  registerEmbeddingRoutes(app, { embeddings, settings });
  if (opts.project) registerSearchRoutes(app, { project: opts.project });
  if (opts.project) registerRecsRoutes(app, { project: opts.project, online: opts.online });
  // The lag and pending of the project's streams (docs/stream.md), read from Redis at each scrape.
  const streamed = opts.project && Object.keys(opts.project.config.streams ?? {}).length ? opts.project : null;
  if (streamed) {
    let closeStreams: (() => Promise<void>) | null = null;
    app.addHook('onReady', async () => {
      const { streamMetrics } = await import('../../stream/index.js');
      closeStreams = streamMetrics(streamed, { registry: metrics.registry }).close;
    });
    app.addHook('onClose', async () => { await closeStreams?.(); });
  }
  if (opts.ui && opts.project) {
    const project = opts.project;
    const queue = opts.uiQueue ? { prefix: opts.uiQueue } : {};
    app.register(async (scope) => {
      const { registerUi } = await import('../../ui/web/index.js');
      await registerUi(scope, { project, base: '/ui', keys, queue });
    });
  }
  return app;
}

/** Refuses a non-loopback host without API keys; the line to print at start. */
export function checkBinding(settings: ServeSettings): string {
  if (settings.apiKeys.length) return `API keys: ${settings.apiKeys.length} (${settings.apiKeys.map((k) => `${k.name}: ${k.scopes.join('+')}`).join(', ')})`;
  if (!isLoopback(settings.host)) {
    throw new KilnError('USAGE', `kiln serve refuses to listen on ${settings.host} without API keys: anyone who reaches it could score and push events. Add keys (serve.apiKeys in the config, or KILN_API_KEYS; 'kiln serve keygen' makes one), or bind to 127.0.0.1`, { path: ['serve', 'host'] });
  }
  return `no API keys configured: the server is UNAUTHENTICATED and listens on loopback (${settings.host}) only`;
}

/** Closes the server gracefully on SIGTERM/SIGINT (once); returns a function that removes the handlers. */
export function closeOnSignals(close: () => Promise<void>, log: (s: string) => void = (s) => process.stderr.write(`${s}\n`)): () => void {
  let closing = false;
  const handler = (signal: NodeJS.Signals): void => {
    if (closing) return;
    closing = true;
    log(`kiln serve: ${signal}: draining requests in flight, then flushing the decision log`);
    close().then(() => { log('kiln serve: stopped'); process.exitCode ??= 0; }, (e: unknown) => { log(`kiln serve: error while stopping: ${(e as Error).message}`); process.exitCode = 1; });
  };
  process.on('SIGTERM', handler);
  process.on('SIGINT', handler);
  return () => { process.off('SIGTERM', handler); process.off('SIGINT', handler); };
}
