/**
 * The web UI as a person uses it, in Debian's Chromium (playwright-core): every screen opens without a
 * console error on a project with a trained, aliased model, its features and 100,000 runs; charts render;
 * the runs page answers within its budget; a run comparison by ticking boxes; keyboard navigation (skip
 * link, focus visible); a phone's width. Screenshots of each screen go to test/ui/.screenshots/.
 * Skips with a message when Chromium is absent (.ci/run installs it).
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import type { FastifyInstance } from 'fastify';
import { materialize, openOnlineStore } from '../../src/online/index.js';
import { createServer } from '../../src/serve/http/index.js';
import { decisionLogDir, fixedModelSet, loadLiveVersion, openDecisionLog, SERVE_DEFAULTS } from '../../src/serve/index.js';
import { Project } from '../../src/store/index.js';
import { createUiServer } from '../../src/ui/web/index.js';
import { buildRetrainWorld } from '../loop/retrain-world.js';
import { chartsRendered, collectErrors, haveChromium, launch, lowContrast, SHOTS } from './browser.js';
import { trainSpace } from '../../src/embeddings/index.js';
import { spaceProject } from '../embeddings/space-fixture.js';
import { seedRuns } from './seed-runs.js';

const RUNS = 100_000;
const has = haveChromium();
if (!has) console.warn('test/ui/browser.test.ts: skipped: no Chromium at /usr/bin/chromium (apt-get install -y chromium; .ci/run does)');

let project: Project;
let app: FastifyInstance;
let browser: Browser;
let url = '';

beforeAll(async () => {
  if (!has) return;
  const dir = mkdtempSync(join(tmpdir(), 'kiln-ui-browser-'));
  await buildRetrainWorld(dir);
  project = await Project.open({ project: dir });
  seedRuns(project, RUNS);
  await scoreSome(project);
  app = await createUiServer({ project });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const addr = app.server.address();
  url = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
  browser = await launch();
}, 180_000);
afterAll(async () => { await browser?.close(); await app?.close(); project?.close(); });

/** Decisions, as a server makes them: credit@1 scores four borrowers (as of 2024-06-01) with reasons. */
async function scoreSome(p: Project): Promise<void> {
  const asOf = '2024-06-01T00:00:00.000Z';
  const online = await openOnlineStore(p, { features: 'credit_v1' });
  try {
    await materialize(p, { store: online, asOf, quiet: true });
    const ids = (await p.offline.all<{ k: string }>(`SELECT DISTINCT borrower_id::VARCHAR AS k FROM loan_labels WHERE funded_at < TIMESTAMP '2024-06-01' ORDER BY 1 LIMIT 40`)).map((r) => r.k);
    const known = (await online.lookup(ids, 'credit_v1', { asOf })).filter((l) => l.known).map((l) => String(l.entity)).slice(0, 4);
    p.releaseOffline();
    const log = await openDecisionLog(decisionLogDir(p.paths.dataDir));
    const serve = createServer({
      models: fixedModelSet([{ name: 'credit', primary: loadLiveVersion(p, 'credit@1'), challenger: null }]), decisions: log, online, project: p,
      settings: { ...SERVE_DEFAULTS, models: [], embeddings: [], apiKeys: [], traffic: {} },
    });
    const res = await serve.inject({ method: 'POST', url: '/v1/models/credit/predict', payload: { rows: known.map((e) => ({ entityId: e, asOf })), reasons: true } });
    if (res.statusCode !== 200) throw new Error(`predict: ${res.statusCode} ${res.body}`);
    await log.flush();
    await serve.close();
    await log.close();
  } finally {
    await online.close();
  }
}

describe.skipIf(!has)('the web UI in Chromium', () => {
  it('opens every screen without console errors, charts rendered, and keeps a screenshot of each', async () => {
    const run = project.tracker.searchRuns({ experiment: 'credit', size: 1 }).runs[0] ?? project.tracker.searchRuns({ size: 1 }).runs[0]!;
    const paths: [string, string][] = [
      ['overview', '/'], ['runs', '/runs'], ['run', `/runs/${run.id}`], ['compare', '/runs/compare?id=seed00000001&id=seed00000002'],
      ['models', '/models'], ['model', '/models/credit'], ['features', '/features'], ['feature', '/features/txn_count_30d?key=1&asOf=2024-06-01T00:00:00Z'],
      ['decisions', '/decisions'], ['monitoring', '/monitoring'], ['monitoring-model', '/monitoring/credit'], ['embeddings', '/embeddings'], ['jobs', '/jobs'],
    ];
    const page = await browser.newPage({ viewport: { width: 1366, height: 900 } });
    const errors = collectErrors(page);
    for (const [name, path] of paths) {
      const res = await page.goto(url + path);
      expect(res?.status(), `${path}`).toBe(200);
      const { failed } = await chartsRendered(page);
      expect(failed, `${path}: charts that failed`).toBe(0);
      expect(await page.locator('h1').count(), `${path}: one h1`).toBe(1);
      await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
      expect(errors, `${path}`).toEqual([]);
      expect(await lowContrast(page), `${path}: text below 4.5:1`).toEqual([]);
    }
    // A phone's width: no page scrolls sideways (wide tables scroll in their own box).
    await page.setViewportSize({ width: 390, height: 844 });
    for (const [name, path] of paths) {
      await page.goto(url + path);
      expect(await page.evaluate<number>('document.documentElement.scrollWidth - window.innerWidth'), `${name} at 390 px`).toBeLessThanOrEqual(0);
    }
    expect(errors).toEqual([]);
    await page.close();
  });

  it('serves the 100,000-run table within its budget and compares two ticked runs', async () => {
    const page = await browser.newPage();
    const errors = collectErrors(page);
    const t0 = performance.now();
    await page.goto(`${url}/runs`);
    const ms = performance.now() - t0;
    expect(await page.locator('#runs tbody tr').count()).toBe(50);
    expect(await page.locator('.pager').first().textContent()).toContain(`of ${(RUNS + 1).toLocaleString('en-US')}`);
    expect(ms).toBeLessThan(2000);
    await page.getByLabel('sort by auc').click();
    await page.waitForURL(/sort=metric%3Aauc/);
    const boxes = page.locator('#runs tbody input[type=checkbox]');
    await boxes.nth(0).check();
    await boxes.nth(1).check();
    await page.getByRole('button', { name: /Compare selected/ }).click();
    await page.waitForURL(/\/runs\/compare\?/);
    expect(await page.locator('h1').textContent()).toBe('Compare 2 runs');
    await chartsRendered(page);
    expect(errors).toEqual([]);
    console.log(`browser: /runs with ${RUNS} runs loaded in ${ms.toFixed(0)} ms`);
    await page.close();
  });

  it('moves an alias through the form: confirmed, then the audit row appears', async () => {
    const page = await browser.newPage();
    const errors = collectErrors(page);
    page.on('dialog', (d) => { void d.accept(); });
    await page.goto(`${url}/models/credit`);
    const form = page.locator('#alias-form');
    await form.getByLabel('Alias (existing or new)').fill('staging');
    await form.getByLabel('Version').selectOption('1');
    await form.getByLabel('Reason (kept in the audit log)').fill('browser test: staging gets v1');
    await form.getByRole('button', { name: 'Move alias' }).click();
    await page.waitForLoadState('load');
    expect(await page.locator('main').textContent()).toContain('browser test: staging gets v1');
    expect(project.registry.resolve('credit@staging').version).toBe(1);
    await page.screenshot({ path: join(SHOTS, 'model-after-move.png'), fullPage: true });
    expect(errors).toEqual([]);
    await page.close();
  });

  it('finds a decision and replays it', async () => {
    const page = await browser.newPage();
    const errors = collectErrors(page);
    await page.goto(`${url}/decisions`);
    await page.locator('main table a[href*="/decisions/"]').first().click();
    await page.waitForURL(/\/decisions\/[0-9A-Z]{26}/);
    const replay = page.locator('section', { has: page.getByRole('heading', { name: 'Replay' }) });
    expect(await replay.locator('.badge').first().textContent()).toBe('match');
    await page.screenshot({ path: join(SHOTS, 'decision.png'), fullPage: true });
    expect(errors).toEqual([]);
    await page.close();
  });

  it('is usable from the keyboard and at a phone width', async () => {
    const page = await browser.newPage({ viewport: { width: 390, height: 844 } });
    await page.goto(`${url}/runs`);
    await page.keyboard.press('Tab');
    expect(await page.evaluate('document.activeElement?.textContent')).toBe('Skip to content');
    await page.keyboard.press('Enter');
    expect(await page.evaluate('document.activeElement?.id')).toBe('main');
    const overflow = await page.evaluate<number>('document.documentElement.scrollWidth - window.innerWidth');
    expect(overflow).toBeLessThanOrEqual(0);
    await page.screenshot({ path: join(SHOTS, 'runs-phone.png'), fullPage: false });
    await page.close();
  });
});

describe.skipIf(!has)('the embeddings screen in Chromium', () => {
  it('draws the projection of a space and an entity\'s neighbours in two versions', async () => {
    const { project: p, cleanup } = await spaceProject('ui-browser');
    const ui = await createUiServer({ project: p });
    try {
      await trainSpace(p, 'merchants', { quiet: true });
      await trainSpace(p, 'merchants', { quiet: true, until: '2024-07-01' });
      p.releaseOffline();
      await ui.listen({ port: 0, host: '127.0.0.1' });
      const addr = ui.server.address();
      const base = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
      const page = await browser.newPage({ viewport: { width: 1366, height: 900 } });
      const errors = collectErrors(page);
      await page.goto(`${base}/embeddings/merchants?entity=m3&a=1&b=2&k=5`);
      const { charts, failed } = await chartsRendered(page);
      expect([charts > 0, failed]).toEqual([true, 0]);
      expect(await page.locator('main').textContent()).toContain('m3');
      await page.screenshot({ path: join(SHOTS, 'embedding-space.png'), fullPage: true });
      expect(errors).toEqual([]);
      await page.close();
    } finally {
      await ui.close();
      p.close();
      cleanup();
    }
  }, 120_000);
});
