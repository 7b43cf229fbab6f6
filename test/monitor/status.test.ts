/**
 * Monitoring end to end on a real project: `kiln train` stores the reference profile in the bundle and
 * the labelled reference sample beside it; decision records written to the real decision log are read
 * back window by window; a drifted input, a null spike and a missing input raise their alerts; the CLI
 * prints the same status and writes the report.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { binCounts, psi } from '../../src/monitor/drift/index.js';
import { monitorStatus, versionReference } from '../../src/monitor/index.js';
import { profileBins, REFERENCE_SAMPLE_FILE, trainModel, versionBundle, type ReferenceSample } from '../../src/pipelines/index.js';
import { decisionLogDir, decisionIdAt, openDecisionLog, type DecisionRecord } from '../../src/serve/index.js';
import { simulate } from '../../src/sim/index.js';
import { initProject, Project } from '../../src/store/index.js';
import { kiln, tempDir } from '../helpers.js';
import { creditConfigText } from '../serve/http-helpers.js';

let dir: string;
let project: Project;
let cleanup: () => void;
let sample: ReferenceSample;
const WEEK = 7 * 86_400_000;
const T0 = Date.UTC(2025, 0, 6); // a Monday

beforeAll(async () => {
  ({ dir, cleanup } = tempDir('kiln-monitor-'));
  writeFileSync(join(dir, 'kiln.config.ts'), creditConfigText('monitor-test', { max_depth: 3, learning_rate: 0.1, n_estimators: 30 }));
  await initProject(dir);
  project = await Project.open({ project: dir });
  const s = await simulate(project.offline, { borrowers: 2500, seed: 11 });
  for (const t of s.tables) project.meta.upsertTable({ name: t.name, timestampColumn: t.timestampColumn ?? null, keyColumn: t.keyColumn ?? null, source: 'sim', description: t.description });
  await trainModel(project, 'credit', { quiet: true, force: true });
  project.releaseOffline();
  const mv = project.registry.getVersion('credit', 1);
  sample = JSON.parse(readFileSync(join(dirname(mv.artifactPath!), REFERENCE_SAMPLE_FILE), 'utf8')) as ReferenceSample;
}, 120_000);

afterAll(() => { project?.close(); cleanup?.(); });

/** Decision records for the sample's rows, changed by `edit`, at times spread over the week from `start`. */
function records(start: number, edit: (row: Record<string, number | string | null>) => void, recorded: (row: Record<string, number | string | null>) => void = () => undefined): DecisionRecord[] {
  const bundle = versionBundle(project.registry.getVersion('credit', 1));
  const cats = bundle.json.categories;
  const rows = sample.label.map((_, i) => {
    const row: Record<string, number | string | null> = {};
    sample.inputs.forEach((name, j) => {
      const v = sample.columns[j]![i]!;
      row[name] = v === null ? null : cats[name] ? cats[name]![v] ?? null : v;
    });
    edit(row);
    return row;
  });
  const scores = bundle.score(rows);
  for (const row of rows) recorded(row);
  return rows.map((row, i) => {
    const t = start + Math.floor((i / rows.length) * (WEEK - 1000));
    const score = { model: 'credit', version: 1, raw: scores.probability[i]!, calibrated: scores.calibrated?.[i] ?? null, points: scores.points[i]!, declined: scores.declined[i] === 1 };
    return { id: decisionIdAt(t), time: new Date(t).toISOString(), model: 'credit', version: 1, decidedBy: 'primary', entityId: String(i), asOf: null, request: { features: row }, features: row, score, reasons: null, shadow: [], latencyMs: 0.5 } as DecisionRecord;
  });
}

describe('reference profile', () => {
  it('is stored in the bundle: every input, counts that add up, the score deciles', () => {
    const mv = project.registry.getVersion('credit', 1);
    const profile = versionBundle(mv).profile!;
    expect(profile).not.toBeNull();
    expect(profile.features.map((f) => f.name)).toEqual(mv.signature.features.map((f) => f.name));
    for (const f of profile.features) {
      if (f.kind === 'numeric') {
        expect(f.counts!.reduce((a, b) => a + b, 0)).toBe(profile.rows);
        expect(f.counts![f.counts!.length - 1]! / profile.rows).toBeCloseTo(f.nullRate, 12);
      } else {
        expect(f.categoryCounts!.reduce((a, b) => a + b, 0)).toBe(Math.round(profile.rows * (1 - f.nullRate)));
      }
    }
    // deciles of the development sample (a small model has tied scores: fewer, wider bins)
    expect(profile.score.bins.edges.length).toBeGreaterThanOrEqual(5);
    expect(profile.score.bins.edges.length).toBeLessThanOrEqual(9);
    expect(profile.score.counts.reduce((a, b) => a + b, 0)).toBe(profile.score.rows);
    expect(profile.score.sample).toBe('test');
    expect(sample.label.length).toBe(sample.probability.length);
    expect(sample.columns.length).toBe(profile.features.length);
  });
});

describe('monitor status over the decision log', () => {
  let numericInput: string;
  let nullInput: string;
  let droppedInput: string;
  beforeAll(async () => {
    const profile = versionReference(project, 'credit', 1).profile!;
    const numeric = profile.features.filter((f) => f.kind === 'numeric' && f.bins!.edges.length >= 5 && f.nullRate < 0.2);
    numericInput = numeric[0]!.name;
    nullInput = numeric[1]!.name;
    droppedInput = numeric[2]!.name;
    const log = await openDecisionLog(decisionLogDir(project.paths.dataDir));
    await log.append(records(T0, () => undefined));
    await log.append(records(T0 + WEEK, (r) => { r[numericInput] = typeof r[numericInput] === 'number' ? (r[numericInput] as number) * 3 + 1000 : null; }));
    await log.append(records(T0 + 2 * WEEK, (r) => { r[nullInput] = null; }, (r) => { delete r[droppedInput]; }));
    await log.close();
  });

  it('computes each window against the version reference, and flags what changed', async () => {
    const status = await monitorStatus(project, 'credit', { window: 'week' });
    expect(status.decisions).toBe(3 * sample.label.length);
    const [w1, w2, w3] = status.versions[0]!.windows;
    expect([w1!.window, w2!.window, w3!.window]).toEqual(['2025-01-06', '2025-01-13', '2025-01-20']);
    const csi = (w: typeof w1, name: string): number | null => w!.features.find((f) => f.name === name)!.csi;
    // the same rows: the same CSI for every input left alone
    for (const f of w1!.features) if (f.name !== numericInput) expect(csi(w2, f.name)).toBeCloseTo(f.csi!, 12);
    expect(csi(w2, numericInput)!).toBeGreaterThan(0.25);
    expect(csi(w2, numericInput)!).toBeGreaterThan(10 * csi(w1, numericInput)!);
    expect(w2!.features.find((f) => f.name === numericInput)!.outOfRange!).toBeGreaterThan(0.5);
    // the window's score PSI is the kernel's on the profile's bins
    const profile = versionReference(project, 'credit', 1).profile!;
    const raw = Float64Array.from(status.versions[0]!.windows.length ? records(T0, () => undefined).map((r) => r.score.raw) : []);
    expect(w1!.score.psi).toBeCloseTo(psi(profile.score.counts.slice(0, -1), binCounts(raw, profileBins(profile.score.bins)).subarray(0, -1)), 12);
    expect(w3!.features.find((f) => f.name === nullInput)!.nullSpike).toBe(true);
    expect(w3!.schema.removed).toEqual([droppedInput]);
    const kinds = (w: string): string[] => status.alerts.filter((a) => a.window === w).map((a) => `${a.kind}:${a.subject}`);
    expect(kinds('2025-01-13')).toContain(`feature_drift:${numericInput}`);
    expect(kinds('2025-01-13')).toContain(`out_of_range:${numericInput}`);
    expect(kinds('2025-01-20')).toContain(`null_spike:${nullInput}`);
    expect(kinds('2025-01-20')).toContain('schema_change:schema');
    expect(kinds('2025-01-06').filter((k) => k.startsWith('feature_drift') || k.startsWith('null_spike'))).toEqual(
      w1!.features.filter((f) => (f.csi ?? 0) >= 0.1 || f.nullSpike).flatMap((f) => [(f.csi ?? 0) >= 0.1 ? `feature_drift:${f.name}` : '', f.nullSpike ? `null_spike:${f.name}` : '']).filter(Boolean),
    );
  });

  it('by month: one window holding all of them', async () => {
    const status = await monitorStatus(project, 'credit', { window: 'month' });
    expect(status.versions[0]!.windows.map((w) => [w.window, w.rows])).toEqual([['2025-01', 3 * sample.label.length]]);
  });

  it('kiln monitor status and report from the CLI', async () => {
    project.close();
    const json = await kiln(['monitor', 'status', 'credit', '--json', '--project', dir], dir);
    expect(json.code, json.stderr).toBe(0);
    const parsed = JSON.parse(json.stdout) as { decisions: number; alerts: unknown[] };
    expect(parsed.decisions).toBe(3 * sample.label.length);
    const text = await kiln(['monitor', 'status', '--project', dir], dir);
    expect(text.stdout).toContain('2025-01-13');
    expect(text.stdout).toContain(numericInput);
    const out = join(dir, 'reports', 'monitor.html');
    const rep = await kiln(['monitor', 'report', '-o', out, '--project', dir], dir);
    expect(rep.code, rep.stderr).toBe(0);
    expect(existsSync(out)).toBe(true);
    const html = readFileSync(out, 'utf8');
    expect(html).toContain('<svg');
    expect(html).toContain(numericInput);
    const bad = await kiln(['monitor', 'status', 'credit', '--window', 'fortnight', '--project', dir], dir);
    expect(bad.code).toBe(64);
    expect(bad.stderr).toContain('--window fortnight');
    project = await Project.open({ project: dir });
  }, 60_000);
});

describe('alerts are stored once per window', () => {
  it('records new alerts, and counts the same ones again without a second row', async () => {
    const { AlertStore } = await import('../../src/monitor/index.js');
    const store = new AlertStore(project.meta.db);
    const before = store.list({ model: 'credit' }).length;
    const a = await monitorStatus(project, 'credit', { window: 'week' });
    const b = await monitorStatus(project, 'credit', { window: 'week' });
    expect(b.newAlerts).toBe(0);
    const weekly = new Set(a.alerts.map((x) => x.window));
    const rows = store.list({ model: 'credit' }).filter((r) => weekly.has(r.window));
    expect(rows.length).toBe(a.alerts.length);
    expect(store.list({ model: 'credit' }).length).toBeGreaterThanOrEqual(before);
    expect(rows.every((r) => r.timesSeen >= 2)).toBe(true);
    expect(rows.find((r) => r.kind === 'schema_change')!.evidence).toHaveProperty('removed');
    expect(store.acknowledge(rows[0]!.id)).toBe(true);
    expect(store.acknowledge(rows[0]!.id)).toBe(false);
  });
});

describe('score distribution by window', () => {
  it('gives the percentiles of the window\'s probabilities (numpy\'s linear rule)', async () => {
    const status = await monitorStatus(project, 'credit', { window: 'week', persist: false });
    const w = status.versions[0]!.windows[0]!;
    const raw = records(T0, () => undefined).map((r) => r.score.raw).sort((a, b) => a - b);
    const q = (p: number): number => { const h = (raw.length - 1) * p; const lo = Math.floor(h); return raw[lo]! + (h - lo) * (raw[Math.min(lo + 1, raw.length - 1)]! - raw[lo]!); };
    expect(w.score.quantiles.map((x) => Number(x.toFixed(12)))).toEqual([0.1, 0.25, 0.5, 0.75, 0.9].map((p) => Number(q(p).toFixed(12))));
  });
});
