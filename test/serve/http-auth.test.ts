/**
 * API keys on every route (missing, unknown, wrong scope), keys never logged, the loopback-only rule
 * without keys, `serveSettings` precedence (flag > env > config > default) and the config's `serve`
 * section. No world is needed: auth is decided before a handler runs.
 */
import { Writable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { isKilnError } from '../../src/core/errors.js';
import { ApiKeys, hashApiKey, newApiKey, parseEnvApiKeys } from '../../src/serve/auth.js';
import { checkBinding, createServer, startServer } from '../../src/serve/http/index.js';
import { fixedModelSet } from '../../src/serve/index.js';
import { serveSettings } from '../../src/serve/settings.js';
import { kiln, tempDir, tempProject } from '../helpers.js';
import { CountingLog, settings } from './http-helpers.js';

const SCORE = newApiKey();
const WRITE = newApiKey();
const ADMIN = newApiKey();
const keys = [
  { name: 'scorer', hash: hashApiKey(SCORE), scopes: ['score' as const] },
  { name: 'pusher', hash: hashApiKey(WRITE), scopes: ['write' as const] },
  { name: 'ops', hash: hashApiKey(ADMIN), scopes: ['admin' as const, 'score' as const] },
];

const logged: string[] = [];
const log = await CountingLog.open();
const app = createServer({
  models: fixedModelSet([]), decisions: log, online: null, settings: settings({ apiKeys: keys }),
  logger: { level: 'info', stream: new Writable({ write(chunk, _e, cb) { logged.push(String(chunk)); cb(); } }) },
});
afterAll(async () => { await app.close(); await log.dispose(); });

const ROUTES: { method: 'GET' | 'POST' | 'PUT'; url: string; scope: 'score' | 'write' | 'admin'; body?: unknown }[] = [
  { method: 'POST', url: '/v1/models/credit/predict', scope: 'score', body: { entityId: 1 } },
  { method: 'POST', url: '/v1/models/credit/explain', scope: 'score', body: { entityId: 1 } },
  { method: 'PUT', url: '/v1/models/credit/traffic', scope: 'admin', body: { traffic: null, reason: 'r' } },
  { method: 'GET', url: '/v1/models', scope: 'score' },
  { method: 'POST', url: '/v1/features/get', scope: 'score', body: { entityIds: [1] } },
  { method: 'POST', url: '/v1/events', scope: 'write', body: { source: 'transactions', events: [{}] } },
  { method: 'GET', url: '/v1/decisions/abc', scope: 'score' },
  { method: 'POST', url: '/v1/decisions/abc/replay', scope: 'score' },
];
const KEY_OF = { score: SCORE, write: WRITE, admin: ADMIN };
const WRONG_OF = { score: WRITE, write: SCORE, admin: SCORE };

async function send(r: (typeof ROUTES)[number], headers: Record<string, string>): Promise<{ status: number; body: { code: string; message: string } }> {
  const res = await app.inject({ method: r.method, url: r.url, headers, ...(r.body === undefined ? {} : { payload: r.body as object }) });
  return { status: res.statusCode, body: res.json() };
}

describe('API keys on every route', () => {
  for (const r of ROUTES) {
    it(`${r.method} ${r.url}: 401 without a key or with an unknown one, 403 with the wrong scope, through with '${r.scope}'`, async () => {
      let res = await send(r, {});
      expect(res.status).toBe(401);
      expect(res.body.code).toBe('UNAUTHORIZED');
      expect(res.body.message).toContain(`scope '${r.scope}'`);
      res = await send(r, { authorization: `Bearer ${newApiKey()}` });
      expect(res.status).toBe(401);
      res = await send(r, { authorization: 'Basic abc' });
      expect(res.status).toBe(401);
      res = await send(r, { authorization: `Bearer ${WRONG_OF[r.scope]}` });
      expect(res.status).toBe(403);
      expect(res.body).toMatchObject({ code: 'FORBIDDEN' });
      expect(res.body.message).toContain(`needs '${r.scope}'`);
      for (const h of [{ authorization: `Bearer ${KEY_OF[r.scope]}` }, { 'x-api-key': KEY_OF[r.scope] }] as Record<string, string>[]) {
        res = await send(r, h);
        expect([401, 403]).not.toContain(res.status); // past auth: the handler answers (no model, no online store here)
      }
    });
  }

  it('leaves /healthz, /readyz, /metrics and /openapi.json open', async () => {
    for (const url of ['/healthz', '/readyz', '/metrics', '/openapi.json']) expect((await app.inject({ method: 'GET', url })).statusCode).toBe(200);
  });

  it('never logs a key', () => {
    const text = logged.join('');
    expect(text.length).toBeGreaterThan(0);
    for (const k of [SCORE, WRITE, ADMIN]) expect(text).not.toContain(k);
  });
});

describe('keys', () => {
  it('hashes, generates and parses keys from the environment', () => {
    const k = newApiKey();
    expect(k).toMatch(/^kiln_[A-Za-z0-9_-]{43}$/);
    expect(newApiKey()).not.toBe(k);
    expect(hashApiKey('abc')).toBe('sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    const env = parseEnvApiKeys(`${k}:score+write, ${'x'.repeat(20)}:admin`);
    expect(env).toEqual([{ name: 'env#1', hash: hashApiKey(k), scopes: ['score', 'write'] }, { name: 'env#2', hash: hashApiKey('x'.repeat(20)), scopes: ['admin'] }]);
    expect(new ApiKeys(env).identify(k)).toEqual({ name: 'env#1', scopes: ['score', 'write'] });
    expect(() => parseEnvApiKeys(`${k}:root`)).toThrow(/unknown scope 'root'/);
    expect(() => parseEnvApiKeys('short:score')).toThrow(/at least 16/);
    expect(() => parseEnvApiKeys(k)).toThrow(/KEY:SCOPE/);
  });

  it('kiln serve keygen prints a key once and the config entry with its hash', async () => {
    const { dir, cleanup } = tempDir();
    const r = await kiln(['serve', 'keygen', '--scopes', 'score,write', '--name', 'app', '--json'], dir);
    expect(r.code, r.stderr).toBe(0);
    const { key, entry } = JSON.parse(r.stdout) as { key: string; entry: { name: string; hash: string; scopes: string[] } };
    expect(entry).toEqual({ name: 'app', hash: hashApiKey(key), scopes: ['score', 'write'] });
    const bad = await kiln(['serve', 'keygen', '--scopes', 'root'], dir);
    expect(bad.code).toBe(64);
    expect(bad.stderr).toContain("unknown scope 'root'");
    cleanup();
  });

  it('refuses a non-loopback host without keys, and says the server is unauthenticated on loopback', () => {
    expect(checkBinding(settings({ host: '127.0.0.1' }))).toMatch(/UNAUTHENTICATED.*loopback/);
    try { checkBinding(settings({ host: '0.0.0.0' })); expect.fail('bound'); } catch (e) {
      expect(isKilnError(e, 'USAGE')).toBe(true);
      expect((e as Error).message).toContain('refuses to listen on 0.0.0.0 without API keys');
    }
    expect(checkBinding(settings({ host: '0.0.0.0', apiKeys: keys }))).toContain('API keys: 3');
  });
});

describe('serve settings', () => {
  const CONFIG = `export default { name: 's', serve: { port: 9001, host: '127.0.0.2', models: ['credit@champion'], durability: 'buffered', flushMs: 20, bodyLimit: 4096, maxBatch: 10, pollMs: 500, shapThread: false,
    apiKeys: [{ name: 'a', hash: '${hashApiKey('k'.repeat(20))}', scopes: ['score'] }], traffic: { credit: { challenger: 'credit@challenger', mode: 'canary', share: 0.1 } } } };\n`;

  it('takes flag > env > config > default', async () => {
    const none = await tempProject(`export default { name: 's' };\n`);
    expect(serveSettings(none.project, {}, {})).toEqual({ port: 8080, host: '127.0.0.1', models: [], embeddings: null, durability: 'durable', flushMs: 50, bodyLimit: 1 << 20, maxBatch: 1000, pollMs: 5000, shapThread: true, apiKeys: [], traffic: {} });
    none.cleanup();
    const { project, cleanup } = await tempProject(CONFIG);
    const cfg = serveSettings(project, {}, {});
    expect(cfg).toMatchObject({ port: 9001, host: '127.0.0.2', models: ['credit@champion'], durability: 'buffered', flushMs: 20, bodyLimit: 4096, maxBatch: 10, pollMs: 500, shapThread: false, traffic: { credit: { challenger: 'credit@challenger', mode: 'canary', share: 0.1 } } });
    expect(cfg.apiKeys).toHaveLength(1);
    const env = { KILN_SERVE_PORT: '9002', KILN_SERVE_HOST: '::1', KILN_SERVE_MODELS: 'fraud@3, credit@2', KILN_DECISION_DURABILITY: 'durable', KILN_API_KEYS: `${'e'.repeat(20)}:write` };
    const e = serveSettings(project, {}, env);
    expect(e).toMatchObject({ port: 9002, host: '::1', models: ['fraud@3', 'credit@2'], durability: 'durable' });
    expect(e.apiKeys.map((k) => k.name)).toEqual(['a', 'env#1']);
    expect(serveSettings(project, {}, { KILN_SERVE_PORT: '', KILN_SERVE_MODELS: '' })).toMatchObject({ port: 9001, models: ['credit@champion'] });
    expect(serveSettings(project, { port: '0', host: 'localhost', models: 'credit@1', durability: 'buffered' }, env)).toMatchObject({ port: 0, host: 'localhost', models: ['credit@1'], durability: 'buffered' });
    expect(serveSettings(project, { shapThread: true }, env).shapThread).toBe(true);
    expect(() => serveSettings(project, { port: '80a' }, {})).toThrow(/--port must be a port number/);
    expect(() => serveSettings(project, {}, { KILN_DECISION_DURABILITY: 'sometimes' })).toThrow(/KILN_DECISION_DURABILITY must be 'durable' or 'buffered'/);
    expect(() => serveSettings(project, { models: 'credit@@1' }, {})).toThrow(/not a model reference/);
    cleanup();
  });

  it('checks the config section: unknown fields with did-you-mean, bad values named', async () => {
    for (const [body, want] of [
      [`{ prot: 80 }`, /serve\.prot: unknown field; did you mean 'port'\?/],
      [`{ durability: 'always' }`, /serve\.durability: expected one of "durable", "buffered"/],
      [`{ shapThread: 'yes' }`, /serve\.shapThread: expected boolean; got "yes"/],
      [`{ apiKeys: [{ name: 'a', hash: 'md5:x', scopes: ['score'] }] }`, /serve\.apiKeys\.0\.hash/],
      [`{ traffic: { credit: { challenger: 'credit@2', mode: 'canary' } } }`, /serve\.traffic\.credit\.share/],
    ] as const) {
      try { const p = await tempProject(`export default { name: 's', serve: ${body} };\n`); p.cleanup(); expect.fail(`accepted ${body}`); } catch (e) {
        expect(isKilnError(e, 'CONFIG_INVALID'), String(e)).toBe(true);
        expect((e as Error).message).toMatch(want);
      }
    }
  });
});

describe('startServer', () => {
  it('listens (loopback, no keys), answers over HTTP, and stops: drain, flush the log, close the parts', async () => {
    const { project, cleanup } = await tempProject(`export default { name: 'live' };\n`);
    const decisions = await CountingLog.open();
    const lines: string[] = [];
    let modelsClosed = false;
    const models = { ...fixedModelSet([]), close: async () => { modelsClosed = true; } };
    const s = await startServer(project, settings({ port: 0 }), { models, decisions, online: null, log: (l) => lines.push(l), signals: false });
    expect(s.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(lines.join('\n')).toContain('UNAUTHENTICATED');
    const r = await fetch(`${s.url}/healthz`);
    expect(await r.json()).toEqual({ ok: true });
    await s.close();
    await s.closed;
    expect(decisions.closed).toBe(true);
    expect(modelsClosed).toBe(true);
    await expect(startServer(project, settings({ host: '0.0.0.0', port: 0 }), { models, decisions, online: null, signals: false })).rejects.toThrow(/without API keys/);
    cleanup();
  });
});
