/**
 * The web UI over a project whose metadata is on the real PostgreSQL (each screen reads through the same
 * registry, tracking, alert and loop code as on SQLite): every screen answers 200 with what was
 * recorded. Skips without PostgreSQL (never under CI).
 */
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AlertStore } from '../../src/monitor/index.js';
import { ModelRegistry, Tracker } from '../../src/registry/index.js';
import { createUiServer } from '../../src/ui/web/server.js';
import { backendProject, META_BACKENDS } from '../meta-backends.js';

const sig = { features: [{ name: 'income', type: 'DOUBLE' }] };

describe.skipIf(!META_BACKENDS.includes('postgres'))('the web UI on PostgreSQL metadata', () => {
  let ctx: Awaited<ReturnType<typeof backendProject>>;
  let app: FastifyInstance;
  let runId = '';

  beforeAll(async () => {
    ctx = await backendProject('postgres');
    const tracker = new Tracker(ctx.project.meta.db, ctx.project.paths.artifactsDir);
    for (let i = 0; i < 3; i++) {
      runId = await tracker.withRun({ experiment: 'credit', name: `gbdt_${i}`, params: { depth: 4 + i }, tags: { owner: 'risk' } }, async (r) => {
        r.logCurve('valid_auc', [0.6, 0.65 + i / 100]);
        r.logMetrics({ auc: 0.7 + i / 100 });
        return r.id;
      });
    }
    const reg = new ModelRegistry(ctx.project.meta.db);
    reg.registerVersion('credit', { signature: sig, runId });
    reg.registerVersion('credit', { signature: sig });
    reg.setAlias('credit', 'champion', 1, { reason: 'first approved', actor: 'ana' });
    new AlertStore(ctx.project.meta.db).record([{ model: 'credit', version: 1, kind: 'feature_drift', subject: 'income', window: '2024-03', severity: 'warning', value: 0.2, threshold: 0.1, message: 'PSI 0.20 on income', evidence: {} }]);
    app = await createUiServer({ project: ctx.project });
  }, 60_000);
  afterAll(async () => { await app?.close(); ctx?.cleanup(); });

  const get = async (url: string): Promise<{ status: number; body: string }> => {
    const r = await app.inject({ method: 'GET', url });
    return { status: r.statusCode, body: r.body };
  };

  it('answers every screen from the PostgreSQL registry', async () => {
    const expectations: [string, string[]][] = [
      ['/', ['<b>3</b><span>runs</span>', '<b>2</b><span>model versions</span>']],
      ['/runs', ['gbdt_0', 'gbdt_2']],
      ['/runs?q=GBDT_1', ['gbdt_1']],
      [`/runs/${runId}`, ['gbdt_2', 'valid_auc']],
      ['/models', ['credit', 'champion']],
      ['/models/credit', ['first approved', 'ana']],
      ['/monitoring', ['credit']],
      ['/embeddings', ['Embeddings']],
    ];
    for (const [url, texts] of expectations) {
      const r = await get(url);
      expect(r.status, `${url}: ${r.body.slice(0, 300)}`).toBe(200);
      for (const t of texts) expect(r.body, `${url} shows ${t}`).toContain(t);
    }
    expect((await get('/runs?q=nothing-like-this')).body).not.toContain('gbdt_0');
  });
});
