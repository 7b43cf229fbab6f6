/**
 * The monitoring screens on a real project: the retrain world (test/loop/retrain-world.ts), one run of
 * its loop in process (as `kiln loop run` does: a challenger trained, evaluated and promoted), then the
 * world's funded applications of 2024 and early 2025 decided by v1 with v2 scored beside it (a shadow
 * challenger, as the server logs it) into the real decision log, and `kiln monitor status`'s computation
 * storing its alerts. The pages must show the figures the monitor and the loop compute: CSI in the heat
 * map, score PSI by window, realised AUC by cohort, the loop run with its metrics, the swap set of the
 * shadow decisions counted here apart.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { compile, type TopLevelSpec } from 'vega-lite';
import { InProcessRunner, LoopStore, retrainLoop, type LoopRunRecord } from '../../src/loop/index.js';
import { applicationsByMonth, decide } from '../../src/loop/simulate/applications.js';
import { AlertStore, monitorStatus, realisedPerformance, type MonitorStatus, type RealisedPerformance } from '../../src/monitor/index.js';
import { versionBundle, type ScoreRow } from '../../src/pipelines/index.js';
import { decisionLogDir, openDecisionLog, type DecisionRecord } from '../../src/serve/index.js';
import { Project } from '../../src/store/index.js';
import { createUiServer } from '../../src/ui/web/server.js';
import { tempDir } from '../helpers.js';
import { AS_OF, buildRetrainWorld, MODEL } from '../loop/retrain-world.js';
import { cells, specs, unescape } from './page-parse.js';

let dir: string;
let cleanup: () => void;
let project: Project;
let app: FastifyInstance;
let run: LoopRunRecord;
let records: DecisionRecord[];
let status: MonitorStatus;
let perf: RealisedPerformance;

const f4 = (x: number): string => x.toFixed(4);

beforeAll(async () => {
  ({ dir, cleanup } = tempDir('kiln-ui-monitor-'));
  await buildRetrainWorld(dir);
  project = await Project.open({ project: dir });
  // One run of the loop, as `kiln loop run credit --as-of AS_OF --force` does.
  const def = retrainLoop(project, MODEL);
  const runner = new InProcessRunner(new LoopStore(project.meta.db), { [def.name]: def });
  try {
    const id = await runner.submit(def.name, { asOf: AS_OF, force: true }, { kind: 'manual', detail: { actor: 'test' } });
    run = await runner.runToEnd(id);
  } finally {
    await runner.close();
  }
  expect([run.status, run.outcome]).toEqual(['succeeded', 'promoted']);
  // Funded applications decided by v1, v2 scored beside each (shadow), into the decision log.
  const v1 = versionBundle(project.registry.getVersion(MODEL, 1));
  const v2 = versionBundle(project.registry.getVersion(MODEL, 2));
  const months = await applicationsByMonth(project, MODEL, project.config.models[MODEL]!, Date.UTC(2024, 0, 1), Date.UTC(2025, 3, 1));
  records = [];
  for (const apps of months.values()) {
    const recs = decide(MODEL, 1, v1, apps);
    const s = v2.score(recs.map((r) => Object.fromEntries(v2.json.signature.features.map((f) => [f.name, r.features[f.name] ?? null])) as ScoreRow));
    records.push(...recs.map((r, i) => ({ ...r, shadow: [{ model: MODEL, version: 2, raw: s.probability[i]!, calibrated: s.calibrated ? s.calibrated[i]! : null, points: s.points[i]!, declined: s.declined[i] === 1 }] })));
  }
  const log = await openDecisionLog(decisionLogDir(project.paths.dataDir));
  await log.append(records);
  await log.close();
  // `kiln monitor status credit --window month`: computes and stores the alerts.
  status = await monitorStatus(project, MODEL, { window: 'month' });
  perf = await realisedPerformance(project, MODEL);
  project.releaseOffline();
  app = await createUiServer({ project });
}, 180_000);

afterAll(async () => {
  await app?.close();
  project?.close();
  cleanup?.();
});

describe('alert store pages', () => {
  it('counts, pages with an offset and sums up per model in SQL', () => {
    const store = new AlertStore(project.meta.db);
    const total = store.count({ model: MODEL });
    expect(total).toBe(status.alerts.length);
    expect(total).toBeGreaterThan(3);
    const all = store.list({ model: MODEL });
    expect(store.list({ model: MODEL, limit: 2, offset: 1 }).map((a) => a.id)).toEqual(all.slice(1, 3).map((a) => a.id));
    expect(store.count({ model: MODEL, severity: 'critical' })).toBe(all.filter((a) => a.severity === 'critical').length);
    expect(store.summary()).toEqual([{ model: MODEL, alerts: total, critical: all.filter((a) => a.severity === 'critical').length, open: total, latestWindow: all[0]!.window, lastSeen: all[0]!.lastSeen }]);
  });
});

describe('GET /monitoring', () => {
  it('lists each model with its stored alerts, the loop\'s last run and links', async () => {
    const r = await app.inject({ url: '/monitoring' });
    expect(r.statusCode).toBe(200);
    const rows = cells(r.body, 'monitored-models');
    expect(rows).toHaveLength(1);
    const [name, versions, aliases, alerts, , open, latest, last] = rows[0]!;
    expect([name, versions, alerts, open]).toEqual([MODEL, '2', String(status.alerts.length), String(status.alerts.length)]);
    expect(aliases).toContain('champion v2');
    expect(latest).toBe(status.alerts.map((a) => a.window).sort().at(-1));
    expect(last).toContain('succeeded (promoted)');
    expect(r.body).toContain(`href="/monitoring/${MODEL}"`);
    expect(r.body).toContain(`href="/monitoring/${MODEL}/runs/${run.id}"`);
    const latestAlerts = cells(r.body, 'latest-alerts');
    const newest = new AlertStore(project.meta.db).list({ limit: 20 });
    expect(latestAlerts.map((a) => [a[0], a[1], a[2], a[5]])).toEqual(newest.map((a) => [a.model, a.severity, a.window, a.subject]));
  });
});

describe('GET /monitoring/:model', () => {
  let page: string;
  beforeAll(async () => {
    const t0 = performance.now();
    const r = await app.inject({ url: `/monitoring/${MODEL}?window=month` });
    expect(r.statusCode, r.body).toBe(200);
    page = r.body;
    console.log(`monitoring page: ${Math.round(performance.now() - t0)} ms for ${records.length} decisions; ${[...page.matchAll(/computed in ([^.(]*)/g)].map((m) => m[1]).join(', ')}`);
  }, 60_000);

  it('draws the drift heat map with the monitor\'s CSI, and the window table with its score PSI', () => {
    const heat = specs(page).find((s) => (s.mark as { type?: string })?.type === 'rect')!;
    expect(heat).toBeDefined();
    const values = (heat.data as { values: { window: string; input: string; csi: number }[] }).values;
    const windows = status.versions[0]!.windows;
    expect(windows.length).toBe(15);
    const w = windows[7]!;
    for (const f of w.features.filter((x) => x.csi !== null)) {
      const cell = values.find((v) => v.window === `${w.window} v1` && v.input === f.name);
      if (cell) expect(cell.csi).toBeCloseTo(Math.min(f.csi!, 1), 12);
    }
    expect(values.length).toBeGreaterThan(windows.length * 10);
    expect((heat.encoding as { tooltip: unknown[] }).tooltip.length).toBe(3);
    const rows = cells(page, 'windows');
    expect(rows.map((r) => [r[0], r[2], r[3]])).toEqual(windows.map((x) => [x.window, String(x.rows), f4(x.score.psi)]));
  });

  it('shows realised against estimated performance by cohort, and vintage curves', () => {
    const rows = cells(page, 'cohorts');
    expect(rows.map((r) => r[0])).toEqual(perf.cohorts.map((c) => c.cohort));
    const matured = perf.cohorts.filter((c) => c.auc !== null);
    expect(matured.length).toBeGreaterThan(3);
    for (const c of matured) {
      const row = rows.find((r) => r[0] === c.cohort)!;
      expect([row[7], row[10]]).toEqual([f4(c.auc!), f4(c.estimate!.auc)]);
    }
    const charts = specs(page).map((s) => String(s.title));
    expect(charts).toContain('AUC by decision month: realised and estimated');
    expect(charts.some((t) => t.startsWith('Cumulative bad rate by months on book'))).toBe(true);
  });

  it('lists the stored alerts', () => {
    const rows = cells(page, 'alerts');
    expect(rows.length).toBe(Math.min(50, status.alerts.length));
    const stored = new AlertStore(project.meta.db).list({ model: MODEL, limit: 1 })[0]!;
    expect(rows[0]!.slice(1, 5)).toEqual([stored.window, `v${stored.version}`, stored.kind, stored.subject]);
  });

  it("shows the loop's timeline and its evaluation: champion and challenger side by side", () => {
    const runs = cells(page, 'loop-runs');
    expect(runs[0]![0]).toBe(run.id);
    expect(runs[0]![5]).toBe('promoted');
    const timeline = specs(page).find((s) => String(s.title).startsWith("The loop's runs"))!;
    expect((timeline.data as { values: { id: string }[] }).values.map((v) => v.id)).toEqual([run.id]);
    const evaluated = run.steps.find((s) => s.name === 'evaluate')!.output as { metrics: { metric: string; slice: string; champion: number | null; challenger: number | null }[] };
    const aucRow = evaluated.metrics.find((m) => m.metric === 'auc' && m.slice === 'all')!;
    expect(cells(page, 'loop-metrics').find((r) => r[0] === 'auc')!.slice(3, 5)).toEqual([f4(aucRow.champion!), f4(aucRow.challenger!)]);
    expect(cells(page, 'alias-moves')[0]!.slice(1, 5)).toEqual(['kiln-loop', 'set_alias', 'champion', 'v2']);
  });

  it('compares the deciding version with the shadow one on the same decisions, counted apart here', () => {
    const cutoff = (v: ReturnType<typeof versionBundle>): number => (v.calibrator ? v.calibrator.apply([v.json.cutoff])[0]! : v.json.cutoff);
    const c1 = cutoff(versionBundle(project.registry.getVersion(MODEL, 1)));
    const c2 = cutoff(versionBundle(project.registry.getVersion(MODEL, 2)));
    const pd = (s: { calibrated: number | null; raw: number }): number => s.calibrated ?? s.raw;
    const swapIn = records.filter((r) => pd(r.score) >= c1 && pd(r.shadow[0]!) < c2).length;
    const swapOut = records.filter((r) => pd(r.score) < c1 && pd(r.shadow[0]!) >= c2).length;
    const swap = cells(page, 'shadow-swap-1-2');
    expect(swap[0]![1]).toBe(swapIn.toLocaleString('en-US'));
    expect(swap[1]![1]).toBe(swapOut.toLocaleString('en-US'));
    const approval = cells(page, 'shadow-metrics-1-2').find((r) => r[0] === 'approvalRate')!;
    expect(approval[3]).toBe(f4(records.filter((r) => pd(r.score) < c1).length / records.length));
    expect(approval[4]).toBe(f4(records.filter((r) => pd(r.shadow[0]!) < c2).length / records.length));
    expect(cells(page, 'shadow-metrics-1-2').find((r) => r[0] === 'auc')![2]).not.toBe('0');
  });

  it('says plainly what has no data: backtests, and a range without decisions', async () => {
    expect(page).toContain('kiln loop backtest keeps no results in the project');
    const r = await app.inject({ url: `/monitoring/${MODEL}?since=2030-01-01` });
    expect(r.statusCode).toBe(200);
    expect(r.body).toContain(`No decisions of ${MODEL} in the decision log in this range`);
    expect(specs(r.body).some((s) => (s.mark as { type?: string })?.type === 'rect')).toBe(false);
  });

  it('every chart spec compiles with vega-lite, and the page has one h1', () => {
    const all = specs(page);
    expect(all.length).toBeGreaterThanOrEqual(6);
    const warnings: string[] = [];
    const logger = { level: () => logger, warn: (...m: unknown[]) => { warnings.push(m.join(' ')); return logger; }, info: () => logger, debug: () => logger, error: (...m: unknown[]) => { warnings.push(m.join(' ')); return logger; } };
    for (const s of all) expect(() => compile(s as unknown as TopLevelSpec, { logger: logger as never })).not.toThrow();
    expect(warnings).toEqual([]);
    expect(page.match(/<h1>/g)).toHaveLength(1);
  });
});

describe('the shift-aware estimate, on request', () => {
  it('fills its column for the cohorts with enough decisions', async () => {
    const t0 = performance.now();
    const r = await app.inject({ url: `/monitoring/${MODEL}?window=month&since=2024-02-01&until=2024-06-01&shift=1` });
    expect(r.statusCode).toBe(200);
    console.log(`with the shift-aware estimate: ${Math.round(performance.now() - t0)} ms`);
    const section = /<h2 id="h-[^"]*">Estimated versus realised[\s\S]*?<\/section>/.exec(r.body)?.[0] ?? r.body.slice(0, 3000);
    expect(r.body, section.replace(/<[^>]+>/g, ' ').slice(0, 1500)).toContain('id="cohorts"');
    const rows = cells(r.body, 'cohorts');
    expect(rows.map((c) => c[0])).toEqual(['2024-02', '2024-03', '2024-04', '2024-05']);
    const filled = rows.filter((c) => c[12] !== '–');
    expect(filled.length).toBeGreaterThanOrEqual(3);
    for (const c of filled) expect(Number(c[12])).toBeGreaterThan(0.3);
  }, 60_000);
});

describe('GET /monitoring/:model/runs/:id', () => {
  it('shows the run: steps, gates and every metric row side by side', async () => {
    const r = await app.inject({ url: `/monitoring/${MODEL}/runs/${run.id}` });
    expect(r.statusCode).toBe(200);
    expect(cells(r.body, 'steps').map((s) => [s[0], s[1]])).toEqual(run.steps.map((s) => [s.name, s.status]));
    const e = run.steps.find((s) => s.name === 'evaluate')!.output as { metrics: unknown[]; gates: { results: { gate: string }[] } };
    expect(cells(r.body, 'metrics')).toHaveLength(e.metrics.length);
    expect(cells(r.body, 'gates').map((g) => g[0])).toEqual(e.gates.results.map((g) => g.gate));
  });
});

describe('errors', () => {
  it('404 for an unknown model or run, 400 for a bad window', async () => {
    expect((await app.inject({ url: '/monitoring/nope' })).statusCode).toBe(404);
    expect((await app.inject({ url: `/monitoring/${MODEL}/runs/lr-nope` })).statusCode).toBe(404);
    const bad = await app.inject({ url: `/monitoring/${MODEL}?window=year` });
    expect(bad.statusCode).toBe(400);
    expect(bad.body).toContain('expected one of day, week, month');
  });
});
