/**
 * Embedding spaces served by `kiln serve`, against a real server listening on loopback (startServer,
 * fetch): look-ups by id and in batch, neighbours with filters and a shadow version, the 404s and 400s,
 * an alias moved while requests flow (the next poll serves the new version, no answer mixes versions),
 * readiness, API key scopes, the OpenAPI document and the settings; the CLI's startup error for a space
 * without a version. The answers are checked against `EmbeddingLookup` on the same registry.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isKilnError } from '../../src/core/errors.js';
import { EmbeddingLookup, trainSpace, type EmbeddingVersion } from '../../src/embeddings/index.js';
import { createServer, startServer, type RunningServer } from '../../src/serve/http/index.js';
import { fixedModelSet, hashApiKey, listOverlap, newApiKey, openEmbeddingSet, serveSettings, type EmbeddingSet } from '../../src/serve/index.js';
import type { Project } from '../../src/store/index.js';
import { tempProject } from '../helpers.js';
import { spaceProject, spacesConfig } from '../embeddings/space-fixture.js';
import { CountingLog, settings } from './http-helpers.js';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const CONFIG = spacesConfig("titles: { entity: 'merchant', source: { kind: 'interactions', table: 'txns', user: 'borrower', item: 'merchant', time: 'at' }, trainer: 'als', dim: 4 },")
  .replace("name: 'emb',", "name: 'emb', serve: { pollMs: 100, maxBatch: 50 },");

let project: Project;
let dir: string;
let cleanup: () => void;
let embeddings: EmbeddingSet;
let server: RunningServer;
let decisions: CountingLog;
let url: string;
const lines: string[] = [];
let v1: EmbeddingVersion, v2: EmbeddingVersion;
let lookup: EmbeddingLookup;

beforeAll(async () => {
  ({ project, dir, cleanup } = await spaceProject('serve', { borrowers: 240, config: CONFIG }));
  v1 = (await trainSpace(project, 'merchants', { quiet: true })).version;
  v2 = (await trainSpace(project, 'merchants', { quiet: true, until: '2024-04-01' })).version;
  await trainSpace(project, 'merchants_mf', { quiet: true });
  project.releaseOffline();
  project.embeddings.setAlias('merchants', 'current', 1, { reason: 'first cut' });
  lookup = new EmbeddingLookup(project.embeddings);
  const s = serveSettings(project, { port: 0 }, {});
  embeddings = await openEmbeddingSet(project, s.embeddings, { pollMs: s.pollMs, log: (l) => lines.push(l) });
  decisions = await CountingLog.open();
  server = await startServer(project, s, { models: fixedModelSet([]), embeddings, decisions, online: null, signals: false, log: (l) => lines.push(l) });
  url = server.url;
}, 60_000);

afterAll(async () => {
  await server?.close();
  await decisions?.dispose();
  project?.close();
  cleanup?.();
});

async function get(path: string, headers: Record<string, string> = {}): Promise<{ status: number; body: Json }> {
  const r = await fetch(`${url}${path}`, { headers });
  return { status: r.status, body: (await r.json()) as Json };
}

async function post(path: string, body: unknown): Promise<{ status: number; body: Json }> {
  const r = await fetch(`${url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: r.status, body: (await r.json()) as Json };
}

const vec = (version: number, id: string): number[] => Array.from(lookup.get(`merchants@${version}`, [id]).vectors[0]!);
const near = (version: number, q: Parameters<EmbeddingLookup['neighbors']>[1]): { id: string; score: number }[] => lookup.neighbors(`merchants@${version}`, q).neighbors;

describe('embedding routes', () => {
  it('serves every trained space by default (current, else latest) and lists them', async () => {
    expect(embeddings.spaces()).toEqual(['merchants', 'merchants_mf']);
    expect(lines.some((l) => l.includes('embeddings merchants: merchants@current is version 1'))).toBe(true);
    expect(lines).toContain('embeddings titles: declared but never trained, not served (kiln embeddings train titles)');
    expect(lines.some((l) => /listening on .*embeddings merchants, merchants_mf/.test(l))).toBe(true);
    const r = await get('/v1/embeddings');
    expect(r.status).toBe(200);
    expect(r.body.embeddings).toEqual([
      { space: 'merchants', ref: 'merchants@current', state: 'ready', version: 1, entity: 'merchant', dim: 16, size: 60, metric: 'cos', aliases: ['current'], lastError: null, lastSwapAt: null },
      { space: 'merchants_mf', ref: 'merchants_mf', state: 'ready', version: 1, entity: 'merchant', dim: 8, size: 60, metric: expect.any(String), aliases: [], lastError: null, lastSwapAt: null },
    ]);
  });

  it('looks a vector up by id, in the served version or another one (shadow look-up)', async () => {
    const r = await get('/v1/embeddings/merchants/m7');
    expect(r).toEqual({ status: 200, body: { space: 'merchants', version: 1, entity: 'merchant', id: 'm7', vector: vec(1, 'm7') } });
    expect(r.body.vector).toHaveLength(16);
    const other = await get('/v1/embeddings/merchants/m7?version=2');
    expect(other.body).toMatchObject({ version: 2, vector: vec(2, 'm7') });
    expect(other.body.vector).not.toEqual(r.body.vector);
    expect((await get('/v1/embeddings/merchants/m7?version=current')).body.version).toBe(1);
  });

  it('looks a batch up: null for ids the version does not hold; at most maxBatch ids', async () => {
    const r = await post('/v1/embeddings/merchants/get', { ids: ['m1', 'nobody', 'm2'] });
    expect(r).toEqual({ status: 200, body: { space: 'merchants', version: 1, vectors: [vec(1, 'm1'), null, vec(1, 'm2')] } });
    expect((await post('/v1/embeddings/merchants/get', { ids: ['m1'], version: 2 })).body).toEqual({ space: 'merchants', version: 2, vectors: [vec(2, 'm1')] });
    const big = await post('/v1/embeddings/merchants/get', { ids: Array.from({ length: 51 }, (_, i) => `m${i}`) });
    expect(big.status).toBe(413);
    expect(big.body).toMatchObject({ code: 'PAYLOAD_TOO_LARGE', path: ['ids'] });
    expect(big.body.message).toContain('at most 50 (serve.maxBatch)');
  });

  it('finds neighbours of an id or a vector, with filters and exclusions', async () => {
    const r = await post('/v1/embeddings/merchants/neighbors', { id: 'm0', k: 5 });
    expect(r.status).toBe(200);
    expect(r.body).toEqual({ space: 'merchants', version: 1, neighbors: near(1, { id: 'm0', k: 5 }) });
    expect(r.body.neighbors.map((n: Json) => n.id)).not.toContain('m0');
    const def = await post('/v1/embeddings/merchants/neighbors', { id: 'm0' });
    expect(def.body.neighbors).toHaveLength(10);
    // category cat0 is m % 6 == 0; paris is the odd merchants.
    const cat = await post('/v1/embeddings/merchants/neighbors', { id: 'm1', k: 8, filters: { category: 'cat0' } });
    expect(cat.body.neighbors).toHaveLength(8);
    expect(cat.body.neighbors.every((n: Json) => Number(n.id.slice(1)) % 6 === 0)).toBe(true);
    const paris = await post('/v1/embeddings/merchants/neighbors', { id: 'm1', k: 20, filters: { city: ['paris'], category: ['cat1', 'cat3'] } });
    expect(paris.body.neighbors.length).toBeGreaterThan(0);
    expect(paris.body.neighbors.every((n: Json) => Number(n.id.slice(1)) % 2 === 1 && [1, 3].includes(Number(n.id.slice(1)) % 6))).toBe(true);
    const first = r.body.neighbors[0].id as string;
    const ex = await post('/v1/embeddings/merchants/neighbors', { id: 'm0', k: 5, exclude: [first] });
    expect(ex.body.neighbors.map((n: Json) => n.id)).not.toContain(first);
    const byVector = await post('/v1/embeddings/merchants/neighbors', { vector: vec(1, 'm0'), k: 3 });
    expect(byVector.body.neighbors[0].id).toBe('m0');
    expect(byVector.body.neighbors[0].score).toBeCloseTo(1, 4);
  });

  it('runs the same query on a shadow version and reports the overlap', async () => {
    const r = await post('/v1/embeddings/merchants/neighbors', { id: 'm3', k: 10, shadow: 2 });
    expect(r.status).toBe(200);
    const a = near(1, { id: 'm3', k: 10 }), b = near(2, { id: 'm3', k: 10 });
    expect(r.body).toEqual({ space: 'merchants', version: 1, neighbors: a, shadow: { version: 2, neighbors: b, overlap: listOverlap(a.map((n) => n.id), b.map((n) => n.id)) } });
    expect(r.body.shadow.overlap).toBeGreaterThan(0);
    expect(r.body.shadow.overlap).toBeLessThanOrEqual(1);
    const both = await post('/v1/embeddings/merchants/neighbors', { id: 'm3', version: 2, shadow: 'current', filters: { city: 'lyon' } });
    expect(both.body).toMatchObject({ version: 2, shadow: { version: 1 } });
    const same = await post('/v1/embeddings/merchants/neighbors', { id: 'm3', shadow: 1 });
    expect(same.body.shadow.overlap).toBe(1);
    // A vector of another dimension: the answer stands, the shadow says why it has none.
    const mf = await post('/v1/embeddings/merchants_mf/neighbors', { vector: new Array(8).fill(0.5), k: 3 });
    expect(mf.body.neighbors).toHaveLength(3);
    expect(listOverlap(['a', 'b'], ['b', 'c'])).toBe(0.5);
    expect(listOverlap([], [])).toBe(1);
  });

  it('answers 404 for an unknown space, id, version or alias', async () => {
    const space = await get('/v1/embeddings/merchant/m1');
    expect(space.status).toBe(404);
    expect(space.body).toMatchObject({ code: 'EMBEDDING_NOT_FOUND', path: ['params', 'space'] });
    expect(space.body.message).toBe("embedding space 'merchant' is not served here; did you mean 'merchants'? (served: merchants, merchants_mf; serve.embeddings or --embeddings names them)");
    const id = await get('/v1/embeddings/merchants/zzz');
    expect(id.status).toBe(404);
    expect(id.body).toEqual({ code: 'EMBEDDING_NOT_FOUND', message: "embedding space 'merchants' version 1 has no vector for merchant 'zzz'", path: ['params', 'id'] });
    const nid = await post('/v1/embeddings/merchants/neighbors', { id: 'zzz' });
    expect([nid.status, nid.body.code, nid.body.path]).toEqual([404, 'EMBEDDING_NOT_FOUND', ['id']]);
    const version = await get('/v1/embeddings/merchants/m1?version=9');
    expect([version.status, version.body.code, version.body.path]).toEqual([404, 'VERSION_NOT_FOUND', ['version']]);
    expect(version.body.message).toBe("version: embedding space 'merchants' has no version 9 (versions: 1..2)");
    const alias = await post('/v1/embeddings/merchants/neighbors', { id: 'm1', shadow: 'prod' });
    expect([alias.status, alias.body.code, alias.body.path]).toEqual([404, 'ALIAS_NOT_FOUND', ['shadow']]);
    expect((await post('/v1/embeddings/titles/get', { ids: ['m1'] })).body.code).toBe('EMBEDDING_NOT_FOUND');
  });

  it('answers 400 naming the field', async () => {
    const bad = async (body: unknown, path: (string | number)[], message: string | RegExp): Promise<void> => {
      const r = await post('/v1/embeddings/merchants/neighbors', body);
      expect(r.status, JSON.stringify(r.body)).toBe(400);
      expect(r.body.code).toBe('REQUEST_INVALID');
      expect(r.body.path).toEqual(path);
      expect(r.body.message).toMatch(message);
    };
    await bad({ k: 3 }, ['id'], 'give an id of the space or a vector');
    await bad({ id: 'm1', vector: vec(1, 'm1') }, ['vector'], 'not both');
    await bad({ vector: [1, 2, 3] }, ['vector'], 'expected 16 numbers (the dimension of merchants version 1), got 3');
    await bad({ id: 'm1', k: 0 }, ['k'], /k:/);
    await bad({ id: 'm1', k: 1001 }, ['k'], /k:/);
    await bad({ id: 'm1', filters: { colour: 'red' } }, ['filters', 'colour'], "keeps no attribute 'colour' (attributes: category, city)");
    await bad({ id: 'm1', kk: 3 }, [], "unknown field 'kk'");
    await bad({ id: 'm1', version: 'a b' }, ['version'], /version/);
    const mf = await post('/v1/embeddings/merchants_mf/neighbors', { id: 'm1', filters: { city: 'paris' } });
    expect([mf.status, mf.body.path]).toEqual([400, ['filters']]);
    expect(mf.body.message).toContain('keeps no attributes to filter on');
    const empty = await post('/v1/embeddings/merchants/get', { ids: [] });
    expect([empty.status, empty.body.path]).toEqual([400, ['ids']]);
    const query = await get('/v1/embeddings/merchants/m1?versoin=2');
    expect([query.status, query.body.path]).toEqual([400, ['query']]);
    expect(query.body.message).toContain("unknown field 'versoin'");
  });

  it('is ready when every configured space is loaded; the OpenAPI document lists the routes', async () => {
    const ready = await get('/readyz');
    expect(ready.status).toBe(200);
    expect(ready.body).toMatchObject({ ready: true, models: [], embeddings: [{ space: 'merchants', state: 'ready', version: 1 }, { space: 'merchants_mf', state: 'ready', version: 1 }] });
    const doc = (await get('/openapi.json')).body;
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/v1/embeddings', '/v1/embeddings/{space}/{id}', '/v1/embeddings/{space}/get', '/v1/embeddings/{space}/neighbors']));
    expect(doc.paths['/v1/embeddings/{space}/neighbors'].post['x-kiln-scope']).toBe('score');
    expect(doc.paths['/v1/embeddings/{space}/{id}'].get.parameters[0].schema.enum).toEqual(['merchants', 'merchants_mf']);
    expect(doc.components.schemas.NeighborsRequest.properties.k).toMatchObject({ minimum: 1, maximum: 1000 });
    const metrics = await (await fetch(`${url}/metrics`)).text();
    expect(metrics).toMatch(/kiln_http_requests_total\{route="\/v1\/embeddings\/:space\/neighbors",method="POST",status="200",model="merchants",version="1"\} \d+/);
    expect(metrics).toMatch(/kiln_http_request_duration_seconds_count\{route="\/v1\/embeddings\/:space\/:id",method="GET",model="merchants",version="1"\} \d+/);
    expect(metrics).toContain('kiln_embedding_served_version{space="merchants"} 1');
  });

  it('follows an alias moved while serving: the next poll serves the new version, no answer mixes versions', async () => {
    const seen: { version: number; vector: number[]; neighbors: Json[] }[] = [];
    let moved = false;
    const flow = (async () => {
      const deadline = Date.now() + 10_000;
      while (Date.now() < deadline) {
        const rs = await Promise.all(Array.from({ length: 4 }, async () => {
          const [a, b] = await Promise.all([get('/v1/embeddings/merchants/m5'), post('/v1/embeddings/merchants/neighbors', { id: 'm5', k: 5 })]);
          expect([a.status, b.status]).toEqual([200, 200]);
          return [{ version: a.body.version, vector: a.body.vector, neighbors: [] }, { version: b.body.version, vector: [], neighbors: b.body.neighbors }];
        }));
        seen.push(...rs.flat());
        if (moved && seen.at(-1)!.version === 2) return;
      }
    })();
    await new Promise((r) => setTimeout(r, 150));
    project.embeddings.setAlias('merchants', 'current', 2, { reason: 'cut over' });
    moved = true;
    const t0 = Date.now();
    await flow;
    expect(Date.now() - t0).toBeLessThan(3000);
    expect(new Set(seen.map((s) => s.version))).toEqual(new Set([1, 2]));
    for (const s of seen) {
      if (s.vector.length) expect(s.vector).toEqual(vec(s.version, 'm5'));
      else expect(s.neighbors).toEqual(near(s.version, { id: 'm5', k: 5 }));
    }
    // Once swapped, never back.
    const firstNew = seen.findIndex((s) => s.version === 2);
    expect(seen.slice(firstNew + 8).every((s) => s.version === 2)).toBe(true);
    expect(lines).toContain(lines.find((l) => /embeddings merchants: merchants@current swapped from version 1 to 2 \(opened in \d+ ms\)/.test(l)));
    const listed = (await get('/v1/embeddings')).body.embeddings[0];
    expect(listed).toMatchObject({ version: 2, aliases: ['current'] });
    expect(listed.lastSwapAt).not.toBeNull();
    // The previous version is still readable by number.
    expect((await get('/v1/embeddings/merchants/m5?version=1')).body.vector).toEqual(vec(1, 'm5'));
    const metrics = await (await fetch(`${url}/metrics`)).text();
    expect(metrics).toContain('kiln_embedding_events_total{kind="swap",space="merchants"} 1');
  }, 20_000);

  it('needs the score scope when API keys are on', async () => {
    const score = newApiKey(), write = newApiKey();
    const log = await CountingLog.open();
    const app = createServer({
      models: fixedModelSet([]), embeddings, decisions: log, online: null,
      settings: settings({ apiKeys: [{ name: 's', hash: hashApiKey(score), scopes: ['score'] }, { name: 'w', hash: hashApiKey(write), scopes: ['write'] }] }),
    });
    try {
      const at = (key?: string) => app.inject({ method: 'GET', url: '/v1/embeddings/merchants/m1', headers: key ? { authorization: `Bearer ${key}` } : {} });
      expect((await at()).statusCode).toBe(401);
      expect((await at(write)).statusCode).toBe(403);
      expect((await at(score)).statusCode).toBe(200);
      expect((await app.inject({ method: 'POST', url: '/v1/embeddings/merchants/neighbors', payload: { id: 'm1' } })).statusCode).toBe(401);
    } finally {
      await app.close();
      await log.dispose();
    }
  });
});

describe('serve.embeddings settings and startup', () => {
  it('takes flag > env > config > default; none serves none', async () => {
    expect(serveSettings(project, {}, {})).toMatchObject({ embeddings: null, pollMs: 100, maxBatch: 50 });
    expect(serveSettings(project, {}, { KILN_SERVE_EMBEDDINGS: 'merchants@2, titles' }).embeddings).toEqual(['merchants@2', 'titles']);
    expect(serveSettings(project, { embeddings: 'merchants_mf' }, { KILN_SERVE_EMBEDDINGS: 'merchants@2' }).embeddings).toEqual(['merchants_mf']);
    expect(serveSettings(project, { embeddings: 'none' }, {}).embeddings).toEqual([]);
    expect(serveSettings(project, {}, { KILN_SERVE_EMBEDDINGS: '' }).embeddings).toBeNull();
    expect(() => serveSettings(project, { embeddings: 'merchants@@2' }, {})).toThrow("--embeddings: 'merchants@@2' is not an embedding space reference");
    const cfg = await tempProject(`export default { name: 's', serve: { embeddings: ['merchants@current'] } };\n`);
    try {
      expect(serveSettings(cfg.project, {}, {}).embeddings).toEqual(['merchants@current']);
      expect(serveSettings(cfg.project, {}, { KILN_SERVE_EMBEDDINGS: 'none' }).embeddings).toEqual([]);
    } finally {
      cfg.project.close();
      cfg.cleanup();
    }
  });

  it('refuses to start on a space without a version, or an alias that is not set', async () => {
    const fails = async (refs: string[]): Promise<Error> => openEmbeddingSet(project, refs, { pollMs: 0, log: () => {} }).then(() => { throw new Error('opened'); }, (e: Error) => e);
    const none = await fails(['titles@current']);
    expect(isKilnError(none, 'EMBEDDING_NOT_FOUND')).toBe(true);
    expect(none.message).toMatch(/^kiln serve: cannot serve embedding space 'titles@current': embedding space 'titles' has no versions.*Train it with 'kiln embeddings train titles' or leave it out of serve.embeddings/);
    const alias = await fails(['merchants@prod']);
    expect(isKilnError(alias, 'ALIAS_NOT_FOUND')).toBe(true);
    expect(alias.message).toContain("has no alias 'prod' (aliases: current). Set it with 'kiln embeddings alias merchants@N prod --reason ...', serve another reference, or leave it out");
    expect((await fails(['merchants@1', 'merchants@2'])).message).toContain("names embedding space 'merchants' twice");
    const pinned = await openEmbeddingSet(project, ['merchants@1'], { pollMs: 0, log: () => {} });
    expect(pinned.status()[0]).toMatchObject({ ref: 'merchants@1', version: 1 });
    await pinned.close();
  });

  it('kiln serve exits with the startup error, and serves spaces without models', async () => {
    const bin = join(import.meta.dirname, '..', '..', 'bin', 'kiln.js');
    const run = (args: string[]): { exited: Promise<number | null>; stderr: () => string; kill: () => void; listening: Promise<string | null> } => {
      const child = spawn(process.execPath, [bin, 'serve', '--project', dir, '--port', '0', ...args], { env: { ...process.env, NO_COLOR: '1' }, stdio: ['ignore', 'ignore', 'pipe'] });
      let err = '';
      const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
      const listening = new Promise<string | null>((resolve) => {
        child.stderr!.setEncoding('utf8').on('data', (c: string) => { err += c; const m = /listening on (http:\/\/\S+)/.exec(err); if (m) resolve(m[1]!); });
        void exited.then(() => resolve(null));
      });
      return { exited, stderr: () => err, kill: () => child.kill('SIGTERM'), listening };
    };
    const bad = run(['--embeddings', 'titles']);
    expect(await bad.exited).toBe(66);
    expect(bad.stderr()).toContain("cannot serve embedding space 'titles'");
    const ok = run(['--embeddings', 'merchants@1']);
    const at = await ok.listening;
    try {
      expect(at, ok.stderr()).not.toBeNull();
      const r = await fetch(`${at!}/v1/embeddings/merchants/m2`);
      expect(((await r.json()) as Json).vector).toEqual(vec(1, 'm2'));
      expect(ok.stderr()).toContain('(no models; embeddings merchants;');
    } finally {
      ok.kill();
      expect(await ok.exited).toBe(0);
    }
  }, 30_000);
});
