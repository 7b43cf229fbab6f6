/**
 * The Models screens of the web UI on a real project (the retrain world: credit v1 trained, champion
 * set by hand): the list, the model page (versions, aliases, audit log, timeline, signature), the model
 * card (the training run's metrics, lineage, evaluation, reason codes, the report served beside it), a
 * real run of the retrain loop whose automatic promotion shows with its gate evidence, and the alias
 * move: by an admin key or with no keys it moves the alias and adds an audit row; a score-only key gets
 * 403; bad input re-renders the form with 400 and changes nothing. Every Vega-Lite spec compiles.
 */
import type { FastifyInstance } from 'fastify';
import { compile, type TopLevelSpec } from 'vega-lite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InProcessRunner, LoopStore, retrainLoop } from '../../src/loop/index.js';
import { ApiKeys, hashApiKey } from '../../src/serve/index.js';
import { Project } from '../../src/store/index.js';
import { createUiServer } from '../../src/ui/web/server.js';
import { tempDir } from '../helpers.js';
import { AS_OF, buildRetrainWorld, MODEL } from '../loop/retrain-world.js';

const ADMIN = 'admin-key-0123456789';
const SCORER = 'score-key-0123456789';
const keys = new ApiKeys([
  { name: 'ana', hash: hashApiKey(ADMIN), scopes: ['admin'] },
  { name: 'scorer', hash: hashApiKey(SCORER), scopes: ['score'] },
]);

const unescape = (s: string): string => s.replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
/** The Vega-Lite specs a page hands to kiln.js. */
const specsOf = (page: string): TopLevelSpec[] => [...page.matchAll(/data-spec="([^"]*)"/g)].map((m) => JSON.parse(unescape(m[1]!)) as TopLevelSpec);
/** The rows of the table with this id, as text cells. */
function rowsOf(page: string, id: string): string[][] {
  const t = new RegExp(`<table id="${id}">([\\s\\S]*?)</table>`).exec(page);
  if (!t) return [];
  const body = /<tbody>([\s\S]*)<\/tbody>/.exec(t[1]!)![1]!;
  return [...body.matchAll(/<tr>([\s\S]*?)<\/tr>/g)].map((r) => [...r[1]!.matchAll(/<td[^>]*>([\s\S]*?)<\/td>/g)].map((c) => unescape(c[1]!.replace(/<[^>]+>/g, '')).trim()));
}
const form = (f: Record<string, string>): string => new URLSearchParams(f).toString();
const FORM = { 'content-type': 'application/x-www-form-urlencoded' };

describe('models screens', () => {
  const tmp = tempDir('kiln-ui-models-');
  let project: Project;
  let open: FastifyInstance;
  let locked: FastifyInstance;
  const pages: string[] = [];
  const get = async (app: FastifyInstance, url: string, key?: string): Promise<{ status: number; body: string; headers: Record<string, unknown> }> => {
    const r = await app.inject({ method: 'GET', url, headers: key ? { authorization: `Bearer ${key}` } : {} });
    if (r.statusCode === 200 && String(r.headers['content-type']).startsWith('text/html')) pages.push(r.body);
    return { status: r.statusCode, body: r.body, headers: r.headers };
  };

  beforeAll(async () => {
    await buildRetrainWorld(tmp.dir);
    project = await Project.open({ project: tmp.dir });
    open = await createUiServer({ project });
    locked = await createUiServer({ project, keys });
  }, 120_000);
  afterAll(async () => {
    await open?.close();
    await locked?.close();
    project?.close();
    tmp.cleanup();
  });

  it('lists every model with its latest version, aliases and links', async () => {
    const r = await get(open, '/models');
    expect(r.status).toBe(200);
    const [row] = rowsOf(r.body, 'models');
    expect(row!.slice(0, 4)).toEqual(['credit', 'v1', '1', 'champion → v1']);
    expect(r.body).toContain('href="/models/credit"');
    expect(r.body).toContain('href="/models/credit/versions/1"');
    expect(r.body).toContain('aria-current="page">Models');
  });

  it('shows a model: versions with their run, the alias, the init audit row, the signature', async () => {
    const v1 = project.registry.getVersion(MODEL, 1);
    const r = await get(open, '/models/credit');
    expect(r.status).toBe(200);
    expect(r.body).toContain('<h1>credit</h1>');
    const versions = rowsOf(r.body, 'versions');
    expect(versions).toHaveLength(1);
    expect(versions[0]!.slice(0, 5)).toEqual(['v1', 'champion', expect.stringContaining(v1.createdAt.slice(0, 10)), v1.createdBy, v1.runId!]);
    expect(r.body).toContain(`href="/runs/${v1.runId}"`);
    expect(rowsOf(r.body, 'aliases')[0]!.slice(0, 2)).toEqual(['champion', 'v1']);
    const audit = rowsOf(r.body, 'audit');
    // newest first: the alias set at init, then the registration
    expect(audit.map((a) => a.slice(2, 8))).toEqual([
      ['test', 'set alias', 'champion', 'v1', '–', 'init'],
      [v1.createdBy, 'register version', '–', 'v1', '–', `trained by run ${v1.runId}`],
    ]);
    expect(rowsOf(r.body, 'timeline')[0]!.slice(0, 2)).toEqual(['champion', 'v1']);
    const sig = rowsOf(r.body, 'signature');
    expect(sig.map((s) => s[0])).toEqual(v1.signature.features.map((f) => f.name));
    expect(sig[0]!.slice(1)).toEqual([v1.signature.features[0]!.type, v1.signature.features[0]!.version ?? '–']);
    expect(r.body).toContain('id="alias-form"'); // no keys: the open site may change things
    expect(specsOf(r.body)).toHaveLength(1);
  });

  it("the model card shows the version's facts, its run's metrics, lineage, evaluation and reason codes", async () => {
    const v1 = project.registry.getVersion(MODEL, 1);
    const run = project.tracker.getRun(v1.runId!);
    const r = await get(open, '/models/credit/versions/1');
    expect(r.status).toBe(200);
    expect(r.body).toContain('<h1>credit v1</h1>');
    const metrics = new Map(rowsOf(r.body, 'run-metrics').map(([k, v]) => [k!, v!]));
    expect(metrics.get('auc')).toBe(run.metrics.auc!.toFixed(4));
    expect(metrics.get('ks')).toBe(run.metrics.ks!.toFixed(4));
    expect(metrics.size).toBe(Object.keys(run.metrics).length);
    const features = rowsOf(r.body, 'lineage-features');
    expect(features.map((f) => f[0])).toEqual(run.lineage.filter((l) => l.kind === 'feature').map((l) => l.name));
    expect(r.body).toContain('Training set');
    expect(r.body).toContain(run.lineage.find((l) => l.kind === 'training_set')!.version!);
    expect(rowsOf(r.body, 'evaluation-metrics').find((m) => m[0] === 'auc')![1]).toBe(run.metrics.auc!.toFixed(4));
    expect(rowsOf(r.body, 'reason-codes').length).toBeGreaterThan(0);
    expect(rowsOf(r.body, 'fairness').length).toBeGreaterThan(1);
    expect(specsOf(r.body)).toHaveLength(2); // ROC and calibration

    // the run's report and model card, where the Runs screen serves a run's files
    expect(r.body).toContain(`href="/runs/${run.id}/artifacts/report.html"`);
    expect(r.body).toContain(`href="/runs/${run.id}/artifacts/model-card.md"`);
    const report = await get(open, `/runs/${run.id}/artifacts/report.html`);
    expect(report.status).toBe(200);
    expect(report.body).toContain('credit v1: model report');
    const card = await get(open, `/runs/${run.id}/artifacts/model-card.md`);
    expect([card.status, card.body.split('\n')[0]]).toEqual([200, '# Model card: credit v1']);
  });

  it('404 for an unknown model, version or loop run, with the name in the message', async () => {
    const m = await get(open, '/models/credti');
    expect(m.status).toBe(404);
    expect(m.body).toContain("no model &#39;credti&#39;; did you mean &#39;credit&#39;?");
    expect((await get(open, '/models/credit/versions/9')).status).toBe(404);
    expect((await get(open, '/models/credit/versions/x')).status).toBe(404);
    expect((await get(open, '/models/credit/loop-runs/lr-nope')).status).toBe(404);
    expect((await get(open, '/models/credti/versions/1')).status).toBe(404);
    expect((await open.inject({ method: 'POST', url: '/models/credti/aliases', headers: FORM, payload: form({ alias: 'champion', version: '1', reason: 'x' }) })).statusCode).toBe(404);
  });

  it("shows the retrain loop's automatic promotion with the gates that justified it", async () => {
    const def = retrainLoop(project, MODEL);
    const runner = new InProcessRunner(new LoopStore(project.meta.db), { [def.name]: def });
    let id: string;
    try {
      id = await runner.submit(def.name, { asOf: AS_OF, force: true }, { kind: 'manual' });
      const run = await runner.runToEnd(id);
      expect([run.status, run.outcome]).toEqual(['succeeded', 'promoted']);
    } finally {
      await runner.close();
    }
    expect(project.registry.resolve(`${MODEL}@champion`).version).toBe(2);
    const r = await get(open, '/models/credit');
    const timeline = rowsOf(r.body, 'timeline');
    expect(timeline.map((t) => t.slice(0, 2))).toEqual([['champion', 'v2'], ['champion', 'v1']]);
    expect(timeline[0]![4]).toBe('kiln-loop');
    expect(timeline[0]![6]).toMatch(new RegExp(`^loop run ${id} passed \\d+ gates$`));
    expect(r.body).toContain(`href="/models/credit/loop-runs/${id}"`);
    const gates = rowsOf(r.body, `gates-${id}`);
    expect(gates.length).toBeGreaterThan(1);
    expect(gates.map((g) => g[2])).toEqual(gates.map(() => expect.stringMatching(/^(passed|skipped)$/)));
    expect(gates.find((g) => g[0] === 'auc drop <= 0.02 (all)')).toBeDefined();
    const chart = specsOf(r.body)[0] as { data: { values: { alias: string; version: string; actor: string; reason: string }[] } };
    expect(chart.data.values.map((v) => [v.alias, v.version, v.actor])).toEqual([['champion', 'v1', 'test'], ['champion', 'v2', 'kiln-loop']]);

    const lr = await get(open, `/models/credit/loop-runs/${id}`);
    expect(lr.status).toBe(200);
    expect(rowsOf(lr.body, 'steps').map((s) => s.slice(0, 2))).toEqual([['refresh', 'done'], ['train', 'done'], ['evaluate', 'done'], ['gate', 'done'], ['act', 'done']]);
    expect(rowsOf(lr.body, 'gates')).toEqual(gates);
    const auc = rowsOf(lr.body, 'comparison').find((m) => m[0] === 'auc' && m[1] === 'all')!;
    const evaluated = new LoopStore(project.meta.db).getRun(id).steps.find((s) => s.name === 'evaluate')!.output as { metrics: { metric: string; slice: string; champion: number; challenger: number }[] };
    const want = evaluated.metrics.find((m) => m.metric === 'auc' && m.slice === 'all')!;
    expect(auc.slice(3, 5)).toEqual([want.champion.toFixed(4), want.challenger.toFixed(4)]);
    // the challenger's card names the loop run that trained it
    const card = await get(open, '/models/credit/versions/2');
    expect(card.body).toContain(`href="/models/credit/loop-runs/${id}"`);
  }, 120_000);

  it('an admin key moves an alias: the registry moves it and the audit row tops the table', async () => {
    const r = await locked.inject({ method: 'POST', url: '/models/credit/aliases', headers: { ...FORM, authorization: `Bearer ${ADMIN}` }, payload: form({ alias: 'champion', version: '1', reason: 'rollback: v2 declines too many thin files' }) });
    expect(r.statusCode).toBe(303);
    expect(r.headers.location).toBe('/models/credit?moved=champion&to=1&was=2');
    expect(project.registry.resolve(`${MODEL}@champion`).version).toBe(1);
    const last = project.registry.auditLog(MODEL).at(-1)!;
    expect(last).toMatchObject({ action: 'set_alias', alias: 'champion', version: 1, previousVersion: 2, actor: 'ana', reason: 'rollback: v2 declines too many thin files' });
    const p = await get(locked, r.headers.location as string, ADMIN);
    expect(p.body).toContain('champion now points at version 1 (was 2)');
    expect(rowsOf(p.body, 'audit')[0]!.slice(0, 8)).toEqual([String(last.id), expect.any(String), 'ana', 'set alias', 'champion', 'v1', 'v2', 'rollback: v2 declines too many thin files']);
    expect(rowsOf(p.body, 'timeline')[0]!.slice(0, 6)).toEqual(['champion', 'v1', expect.any(String), 'holds now', 'ana', 'rollback: v2 declines too many thin files']);
  });

  it('with no keys configured, a move is made as ui; a new alias name is created', async () => {
    const r = await open.inject({ method: 'POST', url: '/models/credit/aliases', headers: FORM, payload: form({ alias: 'shadow', version: '2', reason: 'watch v2 in shadow' }) });
    expect(r.statusCode).toBe(303);
    expect(project.registry.resolve(`${MODEL}@shadow`).version).toBe(2);
    expect(project.registry.auditLog(MODEL).at(-1)).toMatchObject({ alias: 'shadow', version: 2, previousVersion: null, actor: 'ui' });
    const p = await get(open, '/models/credit');
    expect(rowsOf(p.body, 'audit')[0]!.slice(2, 8)).toEqual(['ui', 'set alias', 'shadow', 'v2', '–', 'watch v2 in shadow']);
  });

  it('a score-only key gets 403 and nothing moves; it sees no form', async () => {
    const before = project.registry.auditLog(MODEL).length;
    const r = await locked.inject({ method: 'POST', url: '/models/credit/aliases', headers: { ...FORM, authorization: `Bearer ${SCORER}` }, payload: form({ alias: 'champion', version: '2', reason: 'sneaky' }) });
    expect(r.statusCode).toBe(403);
    expect(r.body).toContain('scope &#39;admin&#39;');
    expect(project.registry.resolve(`${MODEL}@champion`).version).toBe(1);
    expect(project.registry.auditLog(MODEL)).toHaveLength(before);
    const p = await get(locked, '/models/credit', SCORER);
    expect(p.status).toBe(200);
    expect(p.body).not.toContain('id="alias-form"');
    expect(p.body).toContain('Moving an alias needs an API key with scope admin; scorer may only look');
    expect((await locked.inject({ method: 'POST', url: '/models/credit/aliases', headers: FORM, payload: form({ alias: 'champion', version: '2', reason: 'x' }) })).statusCode).toBe(401);
  });

  it('bad input re-renders the page with 400 and a clear error; nothing changes', async () => {
    const before = project.registry.auditLog(MODEL).length;
    const cases: [Record<string, string>, string][] = [
      [{ alias: 'champion', version: '7', reason: 'promote' }, "Model &#39;credit&#39; has no version 7 (versions: 1..2)."],
      [{ alias: 'champion', version: '2', reason: '   ' }, 'Give a reason: it is kept in the audit log with the move.'],
      [{ alias: '', version: '2', reason: 'r' }, 'Give the alias a name'],
      [{ alias: 'champion', version: 'two', reason: 'r' }, 'Choose a version (a whole number); got &#39;two&#39;.'],
      [{ alias: '9lives', version: '2', reason: 'r' }, 'Alias &#39;9lives&#39; is not allowed'],
      [{ alias: 'champion', version: '1', reason: 'again' }, 'champion already points at version 1.'],
    ];
    for (const [f, message] of cases) {
      const r = await locked.inject({ method: 'POST', url: '/models/credit/aliases', headers: { ...FORM, authorization: `Bearer ${ADMIN}` }, payload: form(f) });
      expect(r.statusCode, JSON.stringify(f)).toBe(400);
      expect(r.body).toContain('role="alert"');
      expect(r.body).toContain(message);
      expect(r.body).toContain('Nothing was changed.');
      expect(r.body).toContain('<h1>credit</h1>');
      if (f.reason!.trim()) expect(r.body).toContain(`value="${f.reason}"`); // what was typed is kept
      if (f.version === '2') expect(r.body).toContain('<option value="2" selected>v2 (shadow) · ');
    }
    expect(project.registry.auditLog(MODEL)).toHaveLength(before);
    expect(project.registry.resolve(`${MODEL}@champion`).version).toBe(1);
  });

  it('pages the versions and the audit log; the signature of a chosen version; a wide signature by declared feature', async () => {
    const r = await get(open, '/models/credit?version=1');
    expect(r.body).toContain('Version <a href="/models/credit/versions/1">v1</a>:');
    expect((await get(open, '/models/credit?version=5')).status).toBe(404);

    // A second model, registered by hand: 30 versions without a run, 260 bucketed inputs.
    const features = Array.from({ length: 260 }, (_, i) => ({ name: i < 250 ? `spend_by_mcc__${i}` : `f${i}`, type: 'DOUBLE', version: 'abc123' }));
    for (let i = 0; i < 30; i++) project.registry.registerVersion('scorecard', { signature: { features, output: 'score' }, description: `hand-made ${i + 1}`, actor: 'bo' });
    const p1 = await get(open, '/models/scorecard');
    expect(rowsOf(p1.body, 'versions').map((v) => v[0])).toEqual(Array.from({ length: 25 }, (_, i) => `v${30 - i}`));
    expect(p1.body).toContain('1–25 of 30 versions');
    expect(p1.body).toContain('href="/models/scorecard?vpage=2#h-versions"');
    expect(p1.body).toContain('href="/models/scorecard?apage=2#h-audit"');
    const p2 = await get(open, '/models/scorecard?vpage=2');
    expect(rowsOf(p2.body, 'versions').map((v) => v[0])).toEqual(['v5', 'v4', 'v3', 'v2', 'v1']);
    expect(rowsOf(p2.body, 'audit').map((a) => a[5])).toEqual(Array.from({ length: 25 }, (_, i) => `v${30 - i}`)); // the audit log keeps its own page
    const past = await get(open, '/models/scorecard?vpage=9');
    expect(past.body).toContain('No versions on this page: scorecard has 30.');
    expect(past.body).toContain('page 9 is past the last (2) of 30 versions');
    expect(past.body).toContain('href="/models/scorecard?vpage=2#h-versions" rel="prev"');
    expect(rowsOf(p1.body, 'signature')).toEqual([['spend_by_mcc', '250', 'DOUBLE', 'abc123'], ['f250', '1', 'DOUBLE', 'abc123'], ...Array.from({ length: 9 }, (_, i) => [`f${251 + i}`, '1', 'DOUBLE', 'abc123'])]);
    const list = rowsOf((await get(open, '/models')).body, 'models');
    expect(list.map((m) => m.slice(0, 3))).toEqual([['credit', 'v2', '2'], ['scorecard', 'v30', '30']]);
    expect(list[1]![5]).toBe('hand-made 30');
    const card = await get(open, '/models/scorecard/versions/3');
    expect(card.status).toBe(200);
    expect(card.body).toContain('This version was registered without a training run');
    expect(card.body).not.toContain('/artifacts/');
  });

  it('under a prefix (kiln serve --ui) every link, form and redirect carries it', async () => {
    const ui = await createUiServer({ project, base: '/ui' });
    try {
      const r = await get(ui, '/ui/models/credit');
      expect(r.status).toBe(200);
      const links = [...r.body.matchAll(/(?:href|action)="([^"#]*)/g)].map((m) => m[1]!).filter((l) => l.startsWith('/'));
      expect(links.length).toBeGreaterThan(10);
      expect(links.filter((l) => !l.startsWith('/ui/'))).toEqual([]);
      expect(r.body).toContain('action="/ui/models/credit/aliases"');
      const moved = await ui.inject({ method: 'POST', url: '/ui/models/credit/aliases', headers: FORM, payload: form({ alias: 'shadow', version: '1', reason: 'v1 in shadow' }) });
      expect([moved.statusCode, moved.headers.location]).toEqual([303, '/ui/models/credit?moved=shadow&to=1&was=2']);
      const card = await get(ui, '/ui/models/credit/versions/2');
      expect([...card.body.matchAll(/href="(\/[^"]*)"/g)].map((m) => m[1]!).filter((l) => !l.startsWith('/ui/'))).toEqual([]);
    } finally {
      await ui.close();
    }
  });

  it('every link of the models pages leads to a page', async () => {
    const seen = new Set<string>();
    const lr = new LoopStore(project.meta.db).listRuns({ limit: 1 })[0]!.id;
    for (const start of ['/models', '/models/credit', '/models/credit/versions/1', '/models/credit/versions/2', `/models/credit/loop-runs/${lr}`]) {
      const r = await get(open, start);
      for (const m of r.body.matchAll(/href="(\/[^"#]*)/g)) {
        const url = unescape(m[1]!);
        if (seen.has(url) || url.startsWith('/assets/')) continue;
        seen.add(url);
        const res = await open.inject({ method: 'GET', url });
        expect(res.statusCode, `${url} (linked from ${start})`).toBe(200);
      }
    }
    expect([...seen].filter((u) => u.startsWith('/runs/')).length).toBeGreaterThanOrEqual(2);
    expect([...seen].filter((u) => u.startsWith('/features/')).length).toBeGreaterThan(10);
    expect(seen.has('/decisions?model=credit')).toBe(true);
  });

  it('every Vega-Lite spec the pages emitted compiles', () => {
    const specs = pages.flatMap(specsOf);
    expect(specs.length).toBeGreaterThanOrEqual(6);
    const warnings: string[] = [];
    const logger = { level: () => logger, error: (...m: unknown[]) => { warnings.push(m.join(' ')); return logger; }, warn: (...m: unknown[]) => { warnings.push(m.join(' ')); return logger; }, info: () => logger, debug: () => logger };
    for (const s of specs) expect(() => compile(s, { logger: logger as never })).not.toThrow();
    expect(warnings).toEqual([]);
  });
});
