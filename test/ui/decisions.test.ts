import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decisionOutcome, joinOutcomes, labelAsOf, modelDecisions, outcomeSource, readOutcomes } from '../../src/monitor/index.js';
import { materialize, openOnlineStore, type OnlineFeatureStore } from '../../src/online/index.js';
import { trainModel } from '../../src/pipelines/index.js';
import { createServer, type KilnServer } from '../../src/serve/http/index.js';
import {
  decisionLogDir, fixedModelSet, loadLiveVersion, openDecisionLog, readDecisions, SERVE_DEFAULTS, type DecisionLog, type DecisionRecord, type ModelRoute,
} from '../../src/serve/index.js';
import { decide, prepareVersion, resolveRows } from '../../src/serve/predict.js';
import { Project } from '../../src/store/index.js';
import { num } from '../../src/ui/web/html.js';
import { createUiServer } from '../../src/ui/web/server.js';
import { buildRetrainWorld } from '../loop/retrain-world.js';

interface Result { decisionId: string; entityId: string | number | null; score: { probability: number; points: number }; reasons: { reason: string; text: string }[] | null }

/** The rows of a table of the page, as cell texts. */
function rowsOf(body: string, id: string): string[][] {
  const t = new RegExp(`<table id="${id}">([\\s\\S]*?)</table>`).exec(body)?.[1];
  if (!t) return [];
  return t.split('<tbody>')[1]!.split('<tr>').slice(1).map((tr) => [...tr.matchAll(/<td[^>]*>([\s\S]*?)<\/td>/g)].map((m) => m[1]!));
}
const idOf = (cell: string): string => /<code>([0-9A-Z]{26})<\/code>/.exec(cell)![1]!;

describe('web UI: decisions', () => {
  let dir: string;
  let project: Project;
  let online: OnlineFeatureStore;
  let log: DecisionLog;
  let serve: KilnServer;
  let app: FastifyInstance;
  let route: ModelRoute;
  const AS_OF = '2024-06-01T00:00:00.000Z';
  let entities: string[];
  let results: Result[];
  /** A decision made at AS_OF for a borrower whose loan was funded after it (the label matured since). */
  let past: DecisionRecord;
  let loan: { borrower_id: string; funded_at: string; y: number; av: string };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'kiln-ui-decisions-'));
    await buildRetrainWorld(dir);
    project = await Project.open({ project: dir });
    await trainModel(project, 'credit', { quiet: true, force: true }); // v2: the shadow challenger
    online = await openOnlineStore(project, { features: 'credit_v1' });
    await materialize(project, { store: online, asOf: AS_OF, quiet: true });
    // Borrowers funded in the 60 days after AS_OF (their outcome follows a decision at AS_OF), known online.
    const loans = await project.offline.all<{ borrower_id: string; funded_at: string; y: number; av: string }>(
      `SELECT borrower_id::VARCHAR AS borrower_id, funded_at, default_12m::INTEGER AS y, label_available_at AS av FROM loan_labels
       WHERE funded_at >= TIMESTAMP '2024-06-01' AND funded_at < TIMESTAMP '2024-07-31' ORDER BY funded_at, borrower_id`);
    const known = await online.lookup(loans.map((l) => l.borrower_id), 'credit_v1', { asOf: AS_OF });
    const fine = loans.filter((_, i) => known[i]!.known);
    loan = fine[0]!;
    entities = [...new Set(fine.map((l) => l.borrower_id))].slice(0, 52);
    expect(entities.length).toBe(52);
    project.releaseOffline();

    const v1 = loadLiveVersion(project, 'credit@1');
    const v2 = loadLiveVersion(project, 'credit@2');
    route = { name: 'credit', primary: v1, challenger: { live: v2, mode: 'shadow', share: 1 } };
    log = await openDecisionLog(decisionLogDir(project.paths.dataDir));
    // The decision at AS_OF, by the server's own decide (the request path with its time given).
    const rows = [{ entityId: loan.borrower_id, asOf: AS_OF }];
    const p = prepareVersion(v1);
    const resolved = await resolveRows(rows, p.inputs, p.rowSchema, { online, maxBatch: 1000, allowUnknown: false });
    past = (await decide(route, rows, resolved, { reasons: true, started: performance.now(), time: AS_OF }))[0]!;
    await log.append([past!]);
    // Then a server scores 52 borrowers (as of AS_OF) with reasons: decisions made now.
    serve = createServer({
      models: fixedModelSet([route]), decisions: log, online, project, loadVersion: (ref) => loadLiveVersion(project, ref),
      settings: { ...SERVE_DEFAULTS, models: [], embeddings: [], apiKeys: [], traffic: {} },
    });
    const res = await serve.inject({ method: 'POST', url: '/v1/models/credit/predict', payload: { rows: entities.map((e) => ({ entityId: e, asOf: AS_OF })), reasons: true } });
    expect(res.statusCode).toBe(200);
    results = (res.json() as { results: Result[] }).results;
    await log.flush();
    app = await createUiServer({ project });
  }, 120_000);

  afterAll(async () => {
    await app?.close();
    await serve?.close();
    await log?.close();
    await online?.close();
    project?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('lists decisions newest first, 50 a page, with the next page before the last id', async () => {
    const r = await app.inject({ url: '/decisions' });
    expect(r.statusCode).toBe(200);
    expect(r.body).toContain('<h1>Decisions</h1>');
    const rows = rowsOf(r.body, 'decisions');
    expect(rows).toHaveLength(50);
    const newest = [...results.map((x) => x.decisionId), past.id].sort().reverse();
    expect(rows.map((c) => idOf(c[0]!))).toEqual(newest.slice(0, 50));
    expect(rows[0]![2]).toBe('credit@1');
    expect(rows[0]![8]).toBe('credit@2'); // the shadow challenger
    const next = /<a href="([^"]+)">Older decisions<\/a>/.exec(r.body)![1]!.replace(/&amp;/g, '&');
    expect(next).toBe(`/decisions?before=${newest[49]}`);
    const p2 = await app.inject({ url: next });
    expect(rowsOf(p2.body, 'decisions').map((c) => idOf(c[0]!))).toEqual(newest.slice(50));
    expect(p2.body).not.toContain('Older decisions');
    expect(p2.body).toContain('>Newest</a>');
    // The reader's page bound, directly.
    const older: string[] = [];
    for await (const d of readDecisions(decisionLogDir(project.paths.dataDir), { order: 'desc', beforeId: newest[49]!.toLowerCase() })) older.push(d.id);
    expect(older).toEqual(newest.slice(50));
  });

  it('searches by entity and by decision id; a model filter', async () => {
    const e = loan.borrower_id;
    const r = await app.inject({ url: `/decisions?q=${e}` });
    expect(r.statusCode).toBe(200);
    const want: string[] = [];
    for await (const d of readDecisions(decisionLogDir(project.paths.dataDir), { order: 'desc', entityId: Number(e) })) want.push(d.id);
    expect(want).toEqual([results.find((x) => String(x.entityId) === e)!.decisionId, past.id]);
    expect(rowsOf(r.body, 'decisions').map((c) => idOf(c[0]!))).toEqual(want);
    const none = await app.inject({ url: '/decisions?q=no-such-borrower' });
    expect(none.body).toContain('No decisions of entity no-such-borrower.');
    const byId = await app.inject({ url: `/decisions?q=${past.id.toLowerCase()}` });
    expect(byId.statusCode).toBe(303);
    expect(byId.headers.location).toBe(`/decisions/${past.id}`);
    const other = await app.inject({ url: '/decisions?model=credit%402' });
    expect(other.body).toContain('No decisions of the log by credit@2.');
  });

  it('replays a decision: inputs, score, reasons, shadow score, the same score again, outcome not yet known', async () => {
    const res = results[3]!;
    const r = await app.inject({ url: `/decisions/${res.decisionId}` });
    expect(r.statusCode).toBe(200);
    const b = r.body;
    expect(b).toContain(`<h1>Decision ${res.decisionId}</h1>`);
    expect(b).toContain(`<dt>probability</dt><dd>${num(res.score.probability, 6)}</dd>`);
    expect(b).toContain(`<dt>points</dt><dd>${num(res.score.points, 1)}</dd>`);
    expect(res.reasons!.length).toBeGreaterThan(0);
    const reasons = rowsOf(b, 'reasons');
    expect(reasons.map((c) => c[2])).toEqual(res.reasons!.map((x) => x.text.replace(/&/g, '&amp;').replace(/'/g, '&#39;')));
    const scores = rowsOf(b, 'scores');
    expect(scores.map((c) => [c[0], c[1]])).toEqual([['decided', 'credit@1'], ['shadow', 'credit@2']]);
    // Inputs as used, each feature linked to its value at the decision's as-of time.
    const record = (await serve.inject({ url: `/v1/decisions/${res.decisionId}` })).json() as DecisionRecord;
    const inputs = rowsOf(b, 'inputs');
    expect(inputs).toHaveLength(Object.keys(record.features).length);
    expect(b).toContain(`href="/features/spend_30d?key=${res.entityId}&amp;asOf=${encodeURIComponent(AS_OF)}">spend_30d</a>`);
    // The replay: the same version, the same inputs, the same score (and the server's replay agrees).
    expect(b).toContain('<span class="badge ok">match</span>');
    const replay = rowsOf(b, 'replay');
    expect(replay[1]![2]).toBe(num(res.score.probability, 6));
    const api = (await serve.inject({ method: 'POST', url: `/v1/decisions/${res.decisionId}/replay` })).json() as { equal: boolean };
    expect(api.equal).toBe(true);
    // Decided now: no loan of the borrower follows it yet.
    expect(b).toContain('no outcome yet');
    expect(b).toContain('label not matured');
  });

  it('shows the outcome of a decision whose label matured, as realised performance joins it', async () => {
    const r = await app.inject({ url: `/decisions/${past.id}` });
    expect(r.statusCode).toBe(200);
    expect(r.body).toContain('<span class="badge ok">matured</span>');
    expect(r.body).toContain(`<dt>originated</dt><dd><time datetime="${loan.funded_at}">`);
    expect(r.body).toContain(loan.y === 1 ? '<dt>label</dt><dd><span class="badge bad">bad</span> 1 (defaulted)' : '<dt>label</dt><dd><span class="badge ok">good</span> 0');
    // The same as joining every decision of the model to every outcome.
    const src = outcomeSource(project, 'credit');
    const all = (await modelDecisions(project, 'credit')).filter((d) => d.entityId !== null)
      .map((d) => ({ id: d.id, entityId: String(d.entityId), time: Date.parse(d.time), pd: d.score.calibrated ?? d.score.raw, version: d.version }));
    const joined = joinOutcomes(all, await readOutcomes(project, src), { maxLagMs: src.maxLagDays * 86_400_000 }).find((j) => j.id === past.id)!;
    const o = await decisionOutcome(project, past);
    expect(o.outcome).toEqual(joined.outcome);
    expect(o.label).toBe(labelAsOf(joined, Date.now()));
    expect(o.label).toBe(loan.y);
    project.releaseOffline();
  });

  it('replays a decision scored from a full feature row, which has no entity and so no outcome', async () => {
    const res = await serve.inject({ method: 'POST', url: '/v1/models/credit/predict', payload: { features: past.features } });
    expect(res.statusCode).toBe(200);
    const [row] = (res.json() as { results: Result[] }).results;
    const r = await app.inject({ url: `/decisions/${row!.decisionId}` });
    expect(r.statusCode).toBe(200);
    expect(r.body).toContain('<dt>entity</dt><dd>none (a full feature row)</dd>');
    expect(r.body).toContain('<span class="badge ok">match</span>');
    expect(r.body).toContain('Scored from a full feature row, with no entity: there is no outcome to join.');
    expect(r.body).toContain('No reasons were asked for');
    const list = await app.inject({ url: '/decisions' });
    expect(rowsOf(list.body, 'decisions')[0]![3]).toBe('<span class="note">feature row</span>');
  });

  it('404s an unknown or malformed decision id', async () => {
    const unknown = await app.inject({ url: `/decisions/${'0'.repeat(26)}` });
    expect(unknown.statusCode).toBe(404);
    expect(unknown.body).toContain('role="alert"');
    expect(unknown.body).toContain('no decision 00000000000000000000000000');
    const bad = await app.inject({ url: '/decisions/nope' });
    expect(bad.statusCode).toBe(404);
    expect(bad.body).toContain('is not a decision id');
  });
});
