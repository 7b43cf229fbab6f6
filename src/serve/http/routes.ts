/**
 * The routes of `kiln serve`. Each validates its body with the zod schema of schemas.ts (a failure is a
 * 4xx naming the field), names the API key scope it needs in its route config, and keeps the request
 * path lean: per-version work is cached (predict.ts), one online lookup and one score call per version.
 */
import { KilnError, didYouMean } from '../../core/errors.js';
import { parseUtc } from '../../core/time.js';
import type { OnlineFeatureStore } from '../../online/index.js';
import { retireLive } from '../models/live.js';
import { checkRows, decide, explainRows, prepareVersion, replay, resolveRows, resultOf, rowsOf } from '../predict.js';
import type { ServeSettings } from '../settings.js';
import type { DecisionWriter, LiveVersion, ModelRoute, ModelSet, TrafficSpec } from '../types.js';
import type { EmbeddingSet } from '../spaces/set.js';
import type { ServerMetrics } from './metrics.js';
import { openApiDocument } from './openapi.js';
import { EventsBodySchema, ExplainBodySchema, FeaturesGetBodySchema, PredictBodySchema, TrafficBodySchema, parseBody } from './schemas.js';
import type { FastifyInstance } from 'fastify';

interface RouteDeps {
  readonly models: ModelSet;
  readonly embeddings: EmbeddingSet;
  readonly decisions: DecisionWriter;
  readonly online: OnlineFeatureStore | null;
  readonly settings: ServeSettings;
  readonly loadVersion?: (ref: string) => LiveVersion | Promise<LiveVersion>;
  readonly metrics: ServerMetrics;
  readonly draining: () => boolean;
}

type Named = { Params: { name: string } };
type ById = { Params: { id: string } };

/** The inputs of a route's versions together (what one online lookup reads), cached per route. */
const routeInputs = new WeakMap<ModelRoute, string[]>();
function inputsOf(route: ModelRoute): string[] {
  let inputs = routeInputs.get(route);
  if (!inputs) {
    const set = new Set(prepareVersion(route.primary).inputs);
    if (route.challenger) for (const n of prepareVersion(route.challenger.live).inputs) set.add(n);
    inputs = [...set];
    routeInputs.set(route, inputs);
  }
  return inputs;
}

function needOnline(online: OnlineFeatureStore | null): OnlineFeatureStore {
  if (!online) throw new KilnError('ONLINE_UNAVAILABLE', 'this server runs without an online store; start it with one to read or push features');
  return online;
}

export function registerRoutes(app: FastifyInstance, deps: RouteDeps): void {
  const { models, decisions, settings, metrics } = deps;
  const onRead = (ms: number): void => metrics.featureRead(ms);

  const routeFor = (name: string): ModelRoute => {
    const route = models.route(name);
    if (route) return route;
    const names = models.names();
    if (names.includes(name)) throw new KilnError('NOT_READY', `model '${name}' is configured but not loaded yet (or its load failed); retry shortly, /readyz gives the detail`, { path: ['params', 'name'] });
    const hint = didYouMean(name, names);
    throw new KilnError('MODEL_NOT_SERVED', `model '${name}' is not served here${hint ? `; did you mean '${hint}'?` : ''} (served: ${names.join(', ') || 'none'})`, { path: ['params', 'name'] });
  };

  app.post<Named>('/v1/models/:name/predict', { config: { scope: 'score' } }, async (req) => {
    const started = performance.now();
    const route = routeFor(req.params.name);
    req.served = { model: route.name, version: String(route.primary.version) };
    const body = parseBody(PredictBodySchema, req.body, 'predict');
    const rows = rowsOf(body);
    const resolved = await resolveRows(rows, inputsOf(route), prepareVersion(route.primary).rowSchema, { online: deps.online, maxBatch: settings.maxBatch, allowUnknown: body.allowUnknown ?? false, onRead });
    const time = new Date().toISOString();
    checkRows(route, rows, resolved, time);
    const embeddings = body.embedding ? new Array<Float32Array | null>(rows.length).fill(null) : undefined;
    const records = await decide(route, rows, resolved, { reasons: body.reasons ?? false, started, time, ...(embeddings ? { embeddings } : {}) });
    await decisions.append(records);
    const kindOf = (version: number): LiveVersion['kind'] => (route.challenger?.live.version === version ? route.challenger.live : route.primary).kind;
    return { results: records.map((r, i) => resultOf(r, embeddings?.[i] ?? null, kindOf(r.version))) };
  });

  app.post<Named>('/v1/models/:name/explain', { config: { scope: 'score' } }, async (req) => {
    const route = routeFor(req.params.name);
    const live = route.primary;
    req.served = { model: live.name, version: String(live.version) };
    const body = parseBody(ExplainBodySchema, req.body, 'explain');
    const rows = rowsOf(body);
    const p = prepareVersion(live);
    const resolved = await resolveRows(rows, p.inputs, p.rowSchema, { online: deps.online, maxBatch: settings.maxBatch, allowUnknown: body.allowUnknown ?? false, onRead });
    const shap = explainRows(live, resolved);
    return {
      model: live.name, version: live.version, units: 'log-odds of default',
      results: resolved.map((r, i) => ({ entityId: r.entityId, asOf: r.asOf, bias: shap[i]!.bias, contributions: shap[i]!.contributions })),
    };
  });

  app.put<Named>('/v1/models/:name/traffic', { config: { scope: 'admin' } }, async (req) => {
    const body = parseBody(TrafficBodySchema, req.body, 'traffic');
    if (!models.names().includes(req.params.name)) routeFor(req.params.name);
    const t = body.traffic;
    const traffic: TrafficSpec | null = t === null ? null : t.mode === 'canary' ? { challenger: t.challenger, mode: 'canary', share: t.share } : { challenger: t.challenger, mode: 'shadow' };
    const route = await models.setTraffic(req.params.name, traffic, { reason: body.reason, ...(req.caller ? { actor: `api-key:${req.caller.name}` } : {}) });
    req.served = { model: route.name, version: String(route.primary.version) };
    return { model: route.name, status: models.status().find((s) => s.name === route.name) ?? null };
  });

  app.get('/v1/models', { config: { scope: 'score' } }, async () => ({
    models: models.status().map((s) => {
      const route = models.route(s.name);
      return { ...s, signature: route ? route.primary.info.signature : null, challengerSignature: route?.challenger ? route.challenger.live.info.signature : null };
    }),
  }));

  app.post('/v1/features/get', { config: { scope: 'score' } }, async (req) => {
    const body = parseBody(FeaturesGetBodySchema, req.body, 'features/get');
    const online = needOnline(deps.online);
    if (body.entityIds.length > settings.maxBatch) {
      throw new KilnError('PAYLOAD_TOO_LARGE', `entityIds: ${body.entityIds.length} ids in one request; this server takes at most ${settings.maxBatch} (serve.maxBatch)`, { path: ['entityIds'] });
    }
    let asOf: string | undefined;
    if (body.asOf !== undefined) {
      let us: number;
      try { us = parseUtc(body.asOf, 'asOf'); } catch (e) { throw new KilnError('REQUEST_INVALID', `asOf: ${(e as Error).message.replace(/^asOf: /, '')}; expected ISO 8601 in UTC`, { path: ['asOf'] }); }
      if (us / 1000 > Date.now() + 60_000) throw new KilnError('ASOF_OUT_OF_RANGE', `asOf: ${body.asOf} is in the future; features can be read as of now or earlier`, { path: ['asOf'] });
      asOf = new Date(Math.floor(us / 1000)).toISOString();
    }
    const started = performance.now();
    const found = await online.lookup(body.entityIds, body.features, asOf === undefined ? {} : { asOf });
    onRead(performance.now() - started);
    return { asOf: asOf ?? new Date().toISOString(), results: found.map((l) => ({ entityId: l.entity, known: l.known, sources: l.sources, values: l.row })) };
  });

  app.post('/v1/events', { config: { scope: 'write' } }, async (req) => {
    const body = parseBody(EventsBodySchema, req.body, 'events');
    const online = needOnline(deps.online);
    if (body.events.length > settings.maxBatch) {
      throw new KilnError('PAYLOAD_TOO_LARGE', `events: ${body.events.length} events in one request; this server takes at most ${settings.maxBatch} (serve.maxBatch)`, { path: ['events'] });
    }
    const target = 'source' in body ? { source: body.source } : { table: body.table };
    const summary = await online.push(target, body.events, { extraColumns: body.ignoreExtraColumns ? 'ignore' : 'error', label: (i) => `events.${i}` });
    // Freshness: the newest event time among the target sources' time columns.
    const cols = new Set([...online.plan.sources.values()].filter((sp) => ('source' in target ? sp.source.name === target.source : sp.source.table === target.table)).map((sp) => sp.source.timestamp));
    let newest = 0;
    for (const e of body.events) {
      for (const c of cols) {
        const v = e[c];
        if (v === null || v === undefined) continue;
        try { newest = Math.max(newest, parseUtc(v, c) / 1000); } catch { /* validated by push */ }
      }
    }
    if (newest) metrics.eventSeen(newest);
    return summary;
  });

  app.get<ById>('/v1/decisions/:id', { config: { scope: 'score' } }, async (req) => decisions.get(req.params.id));

  app.post<ById>('/v1/decisions/:id/replay', { config: { scope: 'score' } }, async (req) => {
    const record = await decisions.get(req.params.id);
    const route = models.route(record.model);
    const onRoute = [route?.primary, route?.challenger?.live].find((v) => v?.version === record.version);
    req.served = { model: record.model, version: String(record.version) };
    if (onRoute) return { id: record.id, model: record.model, version: record.version, ...(await replay(record, onRoute)) };
    if (!deps.loadVersion) throw new KilnError('MODEL_NOT_SERVED', `decision ${record.id} was made by ${record.model} version ${record.version}, which this server neither serves nor can load (no registry)`, { path: ['params', 'id'] });
    const live = await deps.loadVersion(`${record.model}@${record.version}`);
    // Loaded for this replay only: an ONNX version's session is released after it.
    try {
      return { id: record.id, model: record.model, version: record.version, ...(await replay(record, live)) };
    } finally {
      await retireLive(live);
    }
  });

  app.get('/healthz', async () => ({ ok: true }));
  app.get('/readyz', async (_req, reply) => {
    const status = models.status();
    const spaces = deps.embeddings.status();
    const ready = !deps.draining() && models.ready() && deps.embeddings.ready();
    const body = {
      ready, draining: deps.draining(), online: deps.online ? 'loaded' : 'none',
      models: status.map((s) => ({ name: s.name, ref: s.ref, state: s.state, version: s.version, lastError: s.lastError })),
      embeddings: spaces.map((s) => ({ space: s.space, ref: s.ref, state: s.state, version: s.version, lastError: s.lastError })),
    };
    if (ready) return reply.code(200).send(body);
    const missing = [...status.filter((s) => s.state !== 'ready').map((s) => `${s.name} (${s.state})`), ...spaces.filter((s) => s.state !== 'ready').map((s) => `embedding space ${s.space} (${s.state})`)];
    return reply.code(503).send({ code: 'NOT_READY', message: deps.draining() ? 'the server is draining' : `not every model and embedding space is loaded: ${missing.join(', ')}`, ...body });
  });
  app.get('/metrics', async (_req, reply) => reply.type(metrics.registry.contentType).send(await metrics.registry.metrics()));
  app.get('/openapi.json', async () => openApiDocument(models, deps.embeddings));
}
