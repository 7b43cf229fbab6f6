/**
 * The web UI's runs screen over 100,000 seeded runs: the first page, a filtered page, a page sorted by
 * a metric and a deep page each answer within the time budget (paging in SQL); filters return the runs
 * they should; a run's page, artifacts and report; a comparison with deltas; API keys (sign-in, cookie,
 * read-only keys may look).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { ApiKeys, hashApiKey } from '../../src/serve/index.js';
import { createUiServer } from '../../src/ui/web/index.js';
import { tempProject } from '../helpers.js';
import { finalAuc, seedRuns } from './seed-runs.js';

const N = 100_000;
let ctx: Awaited<ReturnType<typeof tempProject>>;
let app: FastifyInstance;
let realRun: string;

beforeAll(async () => {
  ctx = await tempProject(`export default { name: 'ui-runs' };\n`);
  seedRuns(ctx.project, N);
  const run = ctx.project.tracker.startRun({ experiment: 'real', name: 'trained <model>' });
  run.logParams({ max_depth: 4 });
  for (let s = 0; s < 5; s++) run.logMetric('valid_auc', 0.7 + s / 100, s);
  run.logArtifact('report.html', { data: '<html><body><h1>Report of the run</h1></body></html>' });
  run.end();
  realRun = run.id;
  app = await createUiServer({ project: ctx.project });
}, 120_000);
afterAll(async () => { await app?.close(); ctx?.cleanup(); });

async function get(url: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string; ms: number; headers: Record<string, unknown> }> {
  const t0 = performance.now();
  const res = await app.inject({ method: 'GET', url, headers });
  return { status: res.statusCode, body: res.body, ms: performance.now() - t0, headers: res.headers };
}

const rowsOf = (body: string): string[] => [...body.matchAll(/<tr><td><input type="checkbox" name="id" value="([^"]+)"/g)].map((m) => m[1]!);

describe('runs screen', () => {
  it('pages 100,000 runs in SQL within the time budget', async () => {
    await get('/runs');
    const budget = 1500;
    const first = await get('/runs');
    expect(first.status).toBe(200);
    expect(first.body).toContain(`of ${(N + 1).toLocaleString('en-US')}`);
    expect(rowsOf(first.body)).toHaveLength(50);
    expect(rowsOf(first.body)[0]).toBe(realRun);
    const deep = await get('/runs?page=1500&size=50');
    expect(rowsOf(deep.body)[0]).toBe(`seed${String(N - 1 - 1499 * 50 + 1).padStart(8, '0')}`);
    const sorted = await get('/runs?sort=metric:auc&dir=desc');
    const top = rowsOf(sorted.body).map((id) => Number(id.slice(4)));
    for (const i of top) expect(finalAuc(i)).toBeCloseTo(0.6999, 6);
    const filtered = await get('/runs?tag=team%3Dc&param=depth%3D4&metric=auc%3E%3D0.69');
    const ids = rowsOf(filtered.body).map((id) => Number(id.slice(4)));
    expect(ids.length).toBe(50);
    for (const i of ids) expect([i % 3, 2 + (i % 6), finalAuc(i) >= 0.69]).toEqual([2, 4, true]);
    const expected = Array.from({ length: N }, (_, i) => i).filter((i) => i % 3 === 2 && 2 + (i % 6) === 4 && finalAuc(i) >= 0.69).length;
    expect(filtered.body).toContain(`of ${expected.toLocaleString('en-US')}`);
    for (const r of [first, deep, sorted, filtered]) expect(r.ms).toBeLessThan(budget);
    console.log(`runs page at ${N} runs: first ${first.ms.toFixed(0)} ms, page 1500 ${deep.ms.toFixed(0)} ms, sorted by auc ${sorted.ms.toFixed(0)} ms, three filters ${filtered.ms.toFixed(0)} ms`);
  });

  it('searches text, and names a bad filter', async () => {
    const hit = await get('/runs?q=run-4242');
    expect(rowsOf(hit.body)).toContain('seed00004242');
    const bad = await get('/runs?metric=auc~3');
    expect(bad.status).toBe(400);
    expect(bad.body).toContain('metric filter');
    expect((await get('/runs?status=odd')).status).toBe(400);
  });

  it("shows a run's page with its curve, artifacts and report, escaping its name", async () => {
    const r = await get(`/runs/${realRun}`);
    expect(r.status).toBe(200);
    expect(r.body).toContain('trained &lt;model&gt;');
    expect(r.body).not.toContain('trained <model>');
    expect(r.body).toContain('valid_auc by step');
    const rep = await get(`/runs/${realRun}/artifacts/report.html`);
    expect([rep.status, rep.body]).toEqual([200, expect.stringContaining('Report of the run')]);
    expect((await get(`/runs/${realRun}/artifacts/../../meta.sqlite`)).status).toBe(404);
    expect((await get('/runs/nope')).status).toBe(404);
  });

  it('compares runs with deltas against the first', async () => {
    const r = await get('/runs/compare?id=seed00000001&id=seed00000002&id=seed00000003');
    expect(r.status).toBe(200);
    expect(r.body).toContain('(+0.0001)');
    expect(r.body).toContain('<strong>depth</strong>');
    expect((await get('/runs/compare?id=seed00000001')).status).toBe(400);
  });

  it('is mounted at /ui by kiln serve --ui, with the server\'s keys', async () => {
    const { testServer } = await import('../serve/http-helpers.js');
    const admin = 'admin-key-0123456789abcdef';
    const server = await testServer({ routes: [], online: null, project: ctx.project, ui: true, settings: { apiKeys: [{ name: 'ops', hash: hashApiKey(admin), scopes: ['admin'] }] } });
    try {
      const anon = await server.app.inject({ method: 'GET', url: '/ui/runs' });
      expect([anon.statusCode, anon.headers.location]).toEqual([303, '/ui/login?next=%2Fui%2Fruns']);
      const page = await server.app.inject({ method: 'GET', url: '/ui/runs?q=run-7', headers: { authorization: `Bearer ${admin}` } });
      expect(page.statusCode).toBe(200);
      expect(page.body).toMatch(/href="\/ui\/runs\/seed\d{8}"/);
      expect(page.body).toContain('ops (admin)');
      expect((await server.app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
    } finally {
      await server.close();
    }
  });

  it('asks for a key when keys are configured; any key may look', async () => {
    const score = 'score-key-0123456789abcdef';
    const keys = new ApiKeys([{ name: 'analyst', hash: hashApiKey(score), scopes: ['score'] }]);
    const locked = await createUiServer({ project: ctx.project, keys });
    try {
      const anon = await locked.inject({ method: 'GET', url: '/runs' });
      expect([anon.statusCode, anon.headers.location]).toEqual([303, '/login?next=%2Fruns']);
      const bad = await locked.inject({ method: 'POST', url: '/login', payload: 'key=wrong&next=%2Fruns', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
      expect(bad.headers.location).toMatch(/failed=1/);
      const login = await locked.inject({ method: 'POST', url: '/login', payload: `key=${score}&next=%2Fruns`, headers: { 'content-type': 'application/x-www-form-urlencoded' } });
      expect([login.statusCode, login.headers.location]).toEqual([303, '/runs']);
      const cookie = String(login.headers['set-cookie']).split(';')[0]!;
      expect(String(login.headers['set-cookie'])).toMatch(/HttpOnly; SameSite=Strict/);
      const page = await locked.inject({ method: 'GET', url: '/runs', headers: { cookie } });
      expect(page.statusCode).toBe(200);
      expect(page.body).toContain('analyst (read-only)');
      const bearer = await locked.inject({ method: 'GET', url: `/runs/${realRun}`, headers: { authorization: `Bearer ${score}` } });
      expect(bearer.statusCode).toBe(200);
      expect((await locked.inject({ method: 'GET', url: '/assets/kiln.css' })).statusCode).toBe(200);
    } finally {
      await locked.close();
    }
  });
});
