/**
 * The HTTP server over a real world: a simulated lending world materialised into the embedded online
 * store, two trained versions of a credit model. Every route, every error class, canary and shadow.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DECISION_ID_RE, gbdtBundle, type DecisionRecord } from '../../src/serve/index.js';
import { buildWorld, route, testServer, type TestServer, type World } from './http-helpers.js';

let world: World;
let s: TestServer;
let eid: number;

beforeAll(async () => {
  world = await buildWorld();
  s = await testServer({ routes: [route(world.v1)], online: world.online, project: world.project, settings: { maxBatch: 50, bodyLimit: 64 * 1024 } });
  eid = world.entities[0]!;
});
afterAll(async () => { await s?.close(); await world?.cleanup(); });

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
async function call(method: 'GET' | 'POST' | 'PUT', url: string, payload?: unknown, app = s.app): Promise<{ status: number; body: Json }> {
  const r = await app.inject({ method, url, ...(payload === undefined ? {} : typeof payload === 'string' ? { payload, headers: { 'content-type': 'application/json' } } : { payload: payload as object }) });
  return { status: r.statusCode, body: r.headers['content-type']?.toString().includes('json') ? r.json() : { text: r.body } };
}
const predict = (payload: unknown, app = s.app): Promise<{ status: number; body: Json }> => call('POST', '/v1/models/credit/predict', payload, app);

describe('POST /v1/models/:name/predict', () => {
  it('scores an entity by id: decision id, model, version, probability, points, and logs the decision', async () => {
    const r = await predict({ entityId: eid });
    expect(r.status).toBe(200);
    const [res] = r.body.results;
    expect(res).toMatchObject({ model: 'credit', version: 1, entityId: String(eid) });
    expect(res.decisionId).toMatch(DECISION_ID_RE);
    expect(res.score.raw).toBeGreaterThan(0);
    expect(res.score.raw).toBeLessThan(1);
    expect(typeof res.score.points).toBe('number');
    expect(res.score.probability).toBe(gbdtBundle(world.v1).calibrator ? gbdtBundle(world.v1).calibrator!.apply(Float64Array.of(res.score.raw))[0] : res.score.raw);
    const rec = (await call('GET', `/v1/decisions/${res.decisionId}`)).body as DecisionRecord;
    expect(rec).toMatchObject({ id: res.decisionId, model: 'credit', version: 1, decidedBy: 'primary', entityId: String(eid), shadow: [] });
    expect(Object.keys(rec.features)).toEqual(world.v1.info.signature.features.map((f) => f.name));
    expect(rec.score.raw).toBe(res.score.raw);
  });

  it('scores many rows in one request with one log append, by id, as of a time, or as a full feature row', async () => {
    const first = (await predict({ entityId: eid })).body.results[0];
    const rec = (await call('GET', `/v1/decisions/${first.decisionId}`)).body as DecisionRecord;
    const before = s.decisions.appends;
    const asOf = new Date(Math.floor(Date.now() / 1000) * 1000 - 3_600_000).toISOString();
    const r = await predict({ rows: [{ entityId: world.entities[1]! }, { entityId: String(eid), asOf }, { features: rec.features }] });
    expect(r.status).toBe(200);
    expect(s.decisions.appends).toBe(before + 1);
    expect(r.body.results).toHaveLength(3);
    expect(r.body.results[1].asOf).toBe(asOf);
    expect(r.body.results[2]).toMatchObject({ entityId: null, asOf: null });
    // the same features and version give the same score
    expect(r.body.results[2].score).toEqual(first.score);
  });

  it('gives reasons with their texts when asked, and always for a declined row', async () => {
    // version 2 declines some of these borrowers today (version 1 none)
    const t = await testServer({ routes: [route(world.v2)], online: world.online });
    const rows = world.entities.map((entityId) => ({ entityId }));
    const plain = (await predict({ rows }, t.app)).body.results as Json[];
    const declined = plain.filter((x) => x.score.declined);
    const approved = plain.filter((x) => !x.score.declined);
    expect(declined.length).toBeGreaterThan(0);
    expect(approved.length).toBeGreaterThan(0);
    for (const x of declined) { expect(x.reasons, JSON.stringify(x)).not.toBeNull(); expect(x.reasons.length, JSON.stringify(x)).toBeGreaterThan(0); }
    for (const x of approved) expect(x.reasons).toBeNull();
    const again = (await predict({ rows, reasons: true }, t.app)).body.results as Json[];
    expect(again.map((x) => x.score)).toEqual(plain.map((x) => x.score));
    for (const x of again) expect(Array.isArray(x.reasons)).toBe(true); // possibly empty: nothing may push toward default
    // asked for, approved rows get them too (version 1 approves most of these)
    const asked = (await predict({ rows: rows.slice(0, 50), reasons: true })).body.results as Json[];
    expect(asked.every((x) => Array.isArray(x.reasons))).toBe(true);
    expect(asked.filter((x) => !x.score.declined).length).toBeGreaterThan(25);
    expect(asked.filter((x) => x.reasons.length > 0).length).toBeGreaterThan(0);
    const rec = await t.decisions.get(declined[0]!.decisionId);
    expect(rec.reasons!.map((x) => x.text)).toEqual(declined[0]!.reasons.map((x: Json) => x.text));
    await t.close();
  });

  it('records the shadow challenger and never returns it', async () => {
    const t = await testServer({ routes: [route(world.v1, { live: world.v2, mode: 'shadow', share: 0 })], online: world.online });
    const r = await predict({ rows: world.entities.slice(0, 5).map((entityId) => ({ entityId })) }, t.app);
    expect(r.status).toBe(200);
    for (const res of r.body.results) {
      expect(res.version).toBe(1);
      expect(JSON.stringify(res)).not.toContain('shadow');
      const rec = await t.decisions.get(res.decisionId);
      expect(rec.decidedBy).toBe('primary');
      expect(rec.shadow).toHaveLength(1);
      expect(rec.shadow[0]).toMatchObject({ model: 'credit', version: 2 });
    }
    await t.close();
  });

  it('lets a canary decide its share of entities, sticky by entity, with the primary in shadow', async () => {
    const t = await testServer({ routes: [route(world.v1, { live: world.v2, mode: 'canary', share: 0.5 })], online: world.online });
    const rows = world.entities.slice(0, 40).map((entityId) => ({ entityId }));
    const a = (await predict({ rows }, t.app)).body.results as Json[];
    const b = (await predict({ rows }, t.app)).body.results as Json[];
    expect(a.map((x) => x.version)).toEqual(b.map((x) => x.version));
    const canary = a.filter((x) => x.version === 2);
    expect(canary.length).toBeGreaterThan(5);
    expect(canary.length).toBeLessThan(35);
    const rec = await t.decisions.get(canary[0]!.decisionId);
    expect(rec).toMatchObject({ decidedBy: 'canary', version: 2 });
    expect(rec.shadow.map((x) => x.version)).toEqual([1]);
    // replay uses the version that decided
    const rp = await call('POST', `/v1/decisions/${canary[0]!.decisionId}/replay`, undefined, t.app);
    expect(rp.body).toMatchObject({ version: 2, equal: true });
    await t.close();
  });
});

describe('bad requests are 4xx naming the field', () => {
  const features = async (): Promise<Record<string, unknown>> => ((await call('GET', `/v1/decisions/${(await predict({ entityId: eid })).body.results[0].decisionId}`)).body as DecisionRecord).features;

  it('a missing feature', async () => {
    const { income: _drop, ...rest } = await features();
    const r = await predict({ rows: [{ features: rest }] });
    expect(r.status).toBe(400);
    expect(r.body).toMatchObject({ code: 'REQUEST_INVALID', path: ['rows', 0, 'features', 'income'] });
    expect(r.body.message).toContain("input 'income'");
  });

  it('a wrong type, and an unknown feature', async () => {
    const f = await features();
    let r = await predict({ features: { ...f, income: 'lots' } });
    expect(r.status).toBe(400);
    expect(r.body.path).toEqual(['rows', 0, 'features', 'income']);
    expect(r.body.message).toMatch(/number/);
    r = await predict({ features: { ...f, incme: 3 } });
    expect(r.status).toBe(400);
    expect(r.body.message).toContain("'incme'");
  });

  it('an unknown entity is 404 ENTITY_UNKNOWN naming the row and id, unless allowed', async () => {
    let r = await predict({ rows: [{ entityId: eid }, { entityId: 'no-such-borrower' }] });
    expect(r.status).toBe(404);
    expect(r.body).toMatchObject({ code: 'ENTITY_UNKNOWN', path: ['rows', 1, 'entityId'] });
    expect(r.body.message).toContain('"no-such-borrower"');
    r = await predict({ rows: [{ entityId: 'no-such-borrower' }], allowUnknown: true });
    expect(r.status).toBe(200);
  });

  it('a bad or future as-of time', async () => {
    let r = await predict({ rows: [{ entityId: eid }, { entityId: eid, asOf: 'yesterday' }] });
    expect(r.status).toBe(400);
    expect(r.body).toMatchObject({ code: 'REQUEST_INVALID', path: ['rows', 1, 'asOf'] });
    r = await predict({ entityId: eid, asOf: '2999-01-01T00:00:00Z' });
    expect(r.status).toBe(422);
    expect(r.body).toMatchObject({ code: 'ASOF_OUT_OF_RANGE', path: ['rows', 0, 'asOf'] });
  });

  it('too many rows, too large a body', async () => {
    let r = await predict({ rows: Array.from({ length: 51 }, () => ({ entityId: eid })) });
    expect(r.status).toBe(413);
    expect(r.body).toMatchObject({ code: 'PAYLOAD_TOO_LARGE', path: ['rows'] });
    r = await predict({ rows: [{ entityId: 'x'.repeat(70 * 1024) }] });
    expect(r.status).toBe(413);
    expect(r.body.code).toBe('PAYLOAD_TOO_LARGE');
  });

  it('an unknown model, malformed JSON, a bad shape, an unknown route', async () => {
    let r = await call('POST', '/v1/models/credt/predict', { entityId: eid });
    expect(r.status).toBe(404);
    expect(r.body).toMatchObject({ code: 'MODEL_NOT_SERVED', path: ['params', 'name'] });
    expect(r.body.message).toContain("did you mean 'credit'");
    r = await predict('{"entityId": ');
    expect(r.status).toBe(400);
    expect(r.body.code).toBe('REQUEST_INVALID');
    r = await predict({ rows: [{ entityId: eid, reasons: 1 }] });
    expect(r.status).toBe(400);
    expect(r.body.path.slice(0, 2)).toEqual(['rows', 0]);
    r = await predict({ rows: [] });
    expect(r.status).toBe(400);
    r = await call('GET', '/v1/nothing');
    expect(r.status).toBe(404);
  });

  it('an unknown decision id; a bug is a 500 INTERNAL, never blamed on the client', async () => {
    expect((await call('GET', '/v1/decisions/nope')).body.code).toBe('DECISION_NOT_FOUND');
    const t = await testServer({ routes: [], online: null });
    t.app.get('/boom', async () => { throw new TypeError('x is undefined'); });
    const write = process.stderr.write;
    process.stderr.write = (() => true) as typeof process.stderr.write;
    try {
      const r = await call('GET', '/boom', undefined, t.app);
      expect(r.status).toBe(500);
      expect(r.body.code).toBe('INTERNAL');
    } finally { process.stderr.write = write; }
    await t.close();
  });
});

describe('the other routes', () => {
  it('explain: TreeSHAP contributions that add up to the model margin', async () => {
    const r = await call('POST', '/v1/models/credit/explain', { entityId: eid });
    expect(r.status).toBe(200);
    const [x] = r.body.results;
    expect(Object.keys(x.contributions)).toEqual(world.v1.info.signature.features.map((f) => f.name));
    const margin = x.bias + Object.values(x.contributions as Record<string, number>).reduce((a, b) => a + b, 0);
    const raw = (await predict({ entityId: eid })).body.results[0].score.raw;
    expect(1 / (1 + Math.exp(-margin))).toBeCloseTo(raw, 7);
  });

  it('events are pushed into the online store and features/get reads them', async () => {
    const now = new Date(Date.now() - 1000).toISOString();
    const get = async (): Promise<Json> => (await call('POST', '/v1/features/get', { entityIds: [eid], features: ['txn_count_7d'] })).body;
    const before = await get();
    expect(before.results[0]).toMatchObject({ entityId: eid, known: true });
    const push = await call('POST', '/v1/events', { source: 'transactions', events: [{ borrower_id: eid, ts: now, txn_id: 990_000_001, amount: 12.5, category: 'grocery', merchant_id: 1, channel: 'online' }] });
    expect(push.status).toBe(200);
    expect(push.body.events).toBe(1);
    const after = await get();
    expect(after.results[0].values.txn_count_7d).toBe(before.results[0].values.txn_count_7d + 1);
    const bad = await call('POST', '/v1/events', { source: 'transactions', events: [{ borrower_id: eid, ts: 'soon', txn_id: 1, amount: 1, category: 'x', merchant_id: 1, channel: 'x' }] });
    expect(bad.status).toBe(422);
    expect(bad.body.message).toContain('events.0');
    expect((await call('POST', '/v1/features/get', { entityIds: [eid], asOf: 'noon' })).body.path).toEqual(['asOf']);
  });

  it('GET /v1/models lists versions and signatures; health and readiness', async () => {
    const m = (await call('GET', '/v1/models')).body.models;
    expect(m[0]).toMatchObject({ name: 'credit', version: 1, state: 'ready' });
    expect(m[0].signature.features.map((f: Json) => f.name)).toContain('income');
    expect((await call('GET', '/healthz')).status).toBe(200);
    expect((await call('GET', '/readyz')).body.ready).toBe(true);
  });

  it('PUT traffic reaches the model set (fixed routes refuse a change with a 400)', async () => {
    const r = await call('PUT', '/v1/models/credit/traffic', { traffic: { challenger: 'credit@2', mode: 'shadow' }, reason: 'try v2' });
    expect(r.status).toBe(400);
    expect(r.body.message).toContain('fixed versions');
    expect((await call('PUT', '/v1/models/credit/traffic', { traffic: { challenger: 'credit@2', mode: 'canary' }, reason: 'x' })).status).toBe(400);
  });

  it('replays a decision: the same features and version give the same score', async () => {
    const id = (await predict({ entityId: eid, reasons: true })).body.results[0].decisionId;
    const r = await call('POST', `/v1/decisions/${id}/replay`);
    expect(r.status).toBe(200);
    expect(r.body.equal).toBe(true);
    expect(r.body.replayed).toEqual(r.body.recorded);
  });

  it('/openapi.json lists every route and the model features', async () => {
    const doc = (await call('GET', '/openapi.json')).body;
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining([
      '/v1/models/{name}/predict', '/v1/models/{name}/explain', '/v1/models/{name}/traffic', '/v1/models', '/v1/features/get', '/v1/events',
      '/v1/decisions/{id}', '/v1/decisions/{id}/replay', '/healthz', '/readyz', '/metrics', '/openapi.json', '/v1/models/credit/predict',
    ]));
    const row = doc.components.schemas.credit_v1_features;
    expect(Object.keys(row.properties)).toEqual(world.v1.info.signature.features.map((f) => f.name));
    expect(row.properties.income.type).toEqual(expect.arrayContaining(['number']));
    expect(row.properties.employment_type.anyOf ?? row.properties.employment_type.type).toBeDefined();
    expect(doc.paths['/v1/events'].post['x-kiln-scope']).toBe('write');
  });

  it('/metrics: request counts, latency, feature reads, decision log and freshness, moving', async () => {
    const value = (text: string, re: RegExp): number => Number(re.exec(text)?.[1] ?? NaN);
    const m1 = (await call('GET', '/metrics')).body.text as string;
    for (const name of ['kiln_http_requests_total', 'kiln_http_request_duration_seconds_bucket', 'kiln_feature_read_duration_seconds_count', 'kiln_decision_log_queue_depth', 'kiln_decision_log_commit_seconds', 'kiln_decision_log_lag_seconds', 'kiln_online_freshness_seconds', 'kiln_model_served_version']) {
      expect(m1).toContain(name);
    }
    const ok = /kiln_http_requests_total\{route="\/v1\/models\/:name\/predict",method="POST",status="200",model="credit",version="1"\} (\d+)/;
    const reads = /kiln_feature_read_duration_seconds_count (\d+)/;
    await predict({ entityId: eid });
    const m2 = (await call('GET', '/metrics')).body.text as string;
    expect(value(m2, ok)).toBe(value(m1, ok) + 1);
    expect(value(m2, reads)).toBe(value(m1, reads) + 1);
    expect(m2).toContain('le="0.00025"');
    expect(value(m2, /^kiln_online_freshness_seconds (\S+)$/m)).toBeGreaterThanOrEqual(0);
  });

  it('close() drains, then closes the decision log', async () => {
    const t = await testServer({ routes: [route(world.v1)], online: world.online });
    const pending = predict({ entityId: eid }, t.app);
    await new Promise((r) => setImmediate(r));
    const closing = t.app.close();
    const done = await pending;
    expect(done.body).toMatchObject({ results: [{ model: 'credit' }] });
    expect(done.status).toBe(200);
    await closing;
    expect(t.decisions.closed).toBe(true);
    expect((await t.decisions.records()).map((r) => r.id)).toEqual([done.body.results[0].decisionId]);
    await t.close();
  });
});
