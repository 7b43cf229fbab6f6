/**
 * kiln's retrain loop (src/loop/retrain/) end to end on a real project: the rolling windows by hand; then
 * `kiln loop run --json` as a user runs it, on a 36-month simulated world whose first champion (trained
 * on 2023) decays after the mid-horizon shock. The evaluate step's figures are recomputed here, apart from
 * the loop: the window's rows selected by SQL, their features built by the feature engine, both versions
 * scoring them with their bundles, AUC from src/eval, approval and bad rates at each one's cutoff. Then the gates' outcome, the alias and
 * its audit entry, a run the gates reject, runs with no challenger, and `kiln loop history`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LoopModelSpecSchema, ModelSpecSchema } from '../../src/config/index.js';
import { auc } from '../../src/eval/index.js';
import { buildTrainingSet } from '../../src/features/training/index.js';
import { challengerSpec, loopSpecOf, rollingSplit, type LoopRunRecord, type MetricRow } from '../../src/loop/index.js';
import { versionBundle, type ScoreRow } from '../../src/pipelines/index.js';
import { Project } from '../../src/store/index.js';
import { kiln, tempDir } from '../helpers.js';
import { AS_OF, aliasMovesOfRun, buildRetrainWorld, IMPOSSIBLE_GATES, MODEL, PASSABLE_GATES, versionsOfRun, writeConfig } from './retrain-world.js';

const ms = (iso: string): number => Date.parse(iso);
const windows = (w: Partial<{ trainMonths: number; validMonths: number; testMonths: number; maturityMonths: number }>) =>
  LoopModelSpecSchema.parse({ windows: w }).windows;

describe('rolling windows', () => {
  it('end the test window maturityMonths before the month of the run, valid and train windows before it', () => {
    const w = windows({ validMonths: 3, testMonths: 3, maturityMonths: 12 });
    expect(rollingSplit(ms('2025-12-01T00:00:00Z'), w)).toEqual({ validFrom: '2024-06-01', testFrom: '2024-09-01', testTo: '2024-12-01' });
    // anywhere in the month gives the same windows
    expect(rollingSplit(ms('2025-12-31T23:59:59.999Z'), w)).toEqual(rollingSplit(ms('2025-12-01T00:00:00Z'), w));
    expect(rollingSplit(ms('2025-03-31T23:59:59Z'), windows({ trainMonths: 12, validMonths: 2, testMonths: 1, maturityMonths: 6 })))
      .toEqual({ trainFrom: '2023-06-01', validFrom: '2024-06-01', testFrom: '2024-08-01', testTo: '2024-09-01' });
    // across a year boundary, no maturity
    expect(rollingSplit(ms('2025-01-10T08:00:00Z'), windows({ validMonths: 3, testMonths: 3, maturityMonths: 0 })))
      .toEqual({ validFrom: '2024-07-01', testFrom: '2024-10-01', testTo: '2025-01-01' });
    expect(rollingSplit(ms('2024-02-29T12:00:00Z'), windows({ trainMonths: 0, validMonths: 1, testMonths: 14, maturityMonths: 1 })))
      .toEqual({ trainFrom: '2022-10-01', validFrom: '2022-10-01', testFrom: '2022-11-01', testTo: '2024-01-01' });
  });

  const spec = ModelSpecSchema.parse({
    spine: { table: 'loan_labels', timestamp: 'funded_at', key: 'borrower_id' },
    label: { column: 'default_12m', availableAt: 'label_available_at' },
    features: 'credit_v1', split: { validFrom: '2023-10-01', testFrom: '2024-01-01', testTo: '2024-04-01' }, slices: ['region'],
  });

  it("challengerSpec: the model's spec on the rolling windows; a loop label replaces spine and label", () => {
    const loop = LoopModelSpecSchema.parse({ windows: { maturityMonths: 6 } });
    const plain = challengerSpec(MODEL, spec, loop, ms('2025-06-15T00:00:00Z'));
    expect(plain).toEqual({ ...spec, split: { validFrom: '2024-06-01', testFrom: '2024-09-01', testTo: '2024-12-01' } });

    const fast = LoopModelSpecSchema.parse({ windows: { maturityMonths: 6 }, label: { table: 'early_labels', column: 'dpd30_6m', availableAt: 'dpd30_known_at', timestamp: 'opened_at', positive: ['yes'] } });
    const c = challengerSpec(MODEL, spec, fast, ms('2025-06-15T00:00:00Z'));
    expect(c.spine).toEqual({ table: 'early_labels', timestamp: 'opened_at', key: 'borrower_id' });
    expect(c.label).toEqual({ column: 'dpd30_6m', availableAt: 'dpd30_known_at', positive: ['yes'] });
    expect(c.split).toEqual(plain.split);
    expect([c.features, c.slices]).toEqual([spec.features, spec.slices]);
    // key and timestamp are kept from the model's spine when the label does not give them
    const bare = challengerSpec(MODEL, spec, LoopModelSpecSchema.parse({ label: { table: 'early_labels', column: 'dpd30_6m' } }), ms('2025-06-15T00:00:00Z'));
    expect([bare.spine, bare.label]).toEqual([{ table: 'early_labels', timestamp: 'funded_at', key: 'borrower_id' }, { column: 'dpd30_6m' }]);
  });

  it('refuses empty valid or test windows, naming the setting; defaults when the config has no loop', () => {
    for (const w of [{ validMonths: 0 }, { testMonths: 0 }]) {
      expect(() => challengerSpec(MODEL, spec, LoopModelSpecSchema.parse({ windows: w }), ms('2025-06-01T00:00:00Z')))
        .toThrow(expect.objectContaining({ code: 'CONFIG_INVALID', message: expect.stringContaining('loop.credit.windows') }));
    }
    expect(loopSpecOf({}, MODEL)).toEqual({ windows: { validMonths: 3, testMonths: 3, maturityMonths: 12 } });
  });
});

interface Evaluated { champion: number; challenger: number; window: { from: string; to: string }; rows: number; metrics: MetricRow[] }

/** The window's labelled rows (SQL), their point-in-time features (feature engine), each version's served pd and cutoff. */
async function recompute(dir: string, window: { from: string; to: string }, versions: number[]): Promise<{ y: Float64Array; served: { pd: Float64Array; cutoff: number }[] }> {
  const p = await Project.open({ project: dir });
  try {
    const at = (d: string): string => `TIMESTAMP '${d.replace('T', ' ').replace('Z', '')}'`;
    await p.offline.run(`CREATE OR REPLACE TABLE check_spine AS SELECT * FROM loan_labels WHERE funded_at >= ${at(window.from)} AND funded_at < ${at(window.to)}
      AND label_available_at <= ${at(AS_OF)} AND default_12m IS NOT NULL ORDER BY loan_id`);
    await buildTrainingSet(p, { spine: { table: 'check_spine', timestamp: 'funded_at', key: 'borrower_id' }, features: 'credit_v1', table: 'check_rows' });
    const rows = await p.offline.all<Record<string, unknown>>('SELECT * FROM check_rows ORDER BY loan_id');
    p.releaseOffline();
    const y = Float64Array.from(rows, (r) => (r.default_12m ? 1 : 0));
    const served = versions.map((v) => {
      const bundle = versionBundle(p.registry.getVersion(MODEL, v));
      const input = rows.map((r) => Object.fromEntries(bundle.json.signature.features.map((f) => [f.name, r[f.name] ?? null])) as ScoreRow);
      const s = bundle.score(input);
      // as served: calibrated when the version has a calibrator, the cutoff on that scale
      return { pd: s.calibrated ?? s.probability, cutoff: bundle.calibrator ? bundle.calibrator.apply([bundle.json.cutoff])[0]! : bundle.json.cutoff };
    });
    return { y, served };
  } finally {
    p.close();
  }
}

/** Share approved (pd < cutoff), and the default rate among them. */
function approvals(y: Float64Array, s: { pd: Float64Array; cutoff: number }): { approvalRate: number; badRate: number } {
  let n = 0, bad = 0;
  s.pd.forEach((pd, i) => { if (pd < s.cutoff) { n++; bad += y[i]!; } });
  return { approvalRate: n / y.length, badRate: bad / n };
}

describe('kiln loop run / history', () => {
  const tmp = tempDir('kiln-retrain-');
  const dir = tmp.dir;
  const runs: LoopRunRecord[] = [];
  beforeAll(async () => { await buildRetrainWorld(dir, PASSABLE_GATES); }, 60_000);
  afterAll(() => tmp.cleanup());

  async function loopRun(...args: string[]): Promise<LoopRunRecord> {
    const r = await kiln(['loop', 'run', MODEL, '--json', ...args], dir);
    expect(r.code, r.stderr).toBe(0);
    const run = JSON.parse(r.stdout) as LoopRunRecord;
    runs.push(run);
    return run;
  }
  const output = <T>(run: LoopRunRecord, step: string): T => run.steps.find((s) => s.name === step)!.output as T;

  it('promotes a challenger the gates pass: figures recomputed apart, alias moved once, audit names the run', async () => {
    const run = await loopRun('--as-of', AS_OF, '--force');
    expect([run.status, run.error]).toEqual(['succeeded', null]);
    expect(run.steps.map((s) => [s.name, s.status])).toEqual([['refresh', 'done'], ['train', 'done'], ['evaluate', 'done'], ['gate', 'done'], ['act', 'done']]);
    const e = output<Evaluated>(run, 'evaluate');
    expect([e.champion, e.challenger, e.window]).toEqual([1, 2, { from: '2024-09-01', to: '2024-12-01' }]);

    const { y, served: [a, b] } = await recompute(dir, e.window, [1, 2]);
    expect(e.rows).toBe(y.length);
    expect(y.length).toBeGreaterThan(100);
    const row = (metric: string): MetricRow => e.metrics.find((m) => m.metric === metric && m.slice === 'all')!;
    const [ra, rb] = [approvals(y, a!), approvals(y, b!)];
    const expected = { auc: [auc(y, a!.pd), auc(y, b!.pd)], approvalRate: [ra.approvalRate, rb.approvalRate], badRate: [ra.badRate, rb.badRate] };
    for (const [metric, [champion, challenger]] of Object.entries(expected)) {
      expect(row(metric).champion!, metric).toBeCloseTo(champion!, 12);
      expect(row(metric).challenger!, metric).toBeCloseTo(challenger!, 12);
    }
    expect(row('auc').rows).toBe(y.length);
    // the gates, read off the recomputed figures: auc drop <= 0.02 and the challenger's AIR >= 0.8
    const pass = expected.auc[1]! >= expected.auc[0]! - 0.02 && row('air').challenger! >= 0.8;
    expect(pass).toBe(true); // this world: the champion decayed after the shock (about 0.45 against 0.59)
    expect(output<{ passed: boolean; action: string }>(run, 'gate')).toMatchObject({ passed: true, action: 'promote' });
    expect(run.outcome).toBe('promoted');

    const p = await Project.open({ project: dir });
    try {
      expect(versionsOfRun(p, run.id)).toEqual([2]);
      expect(p.registry.resolve(`${MODEL}@champion`).version).toBe(2);
      const moves = aliasMovesOfRun(p, run.id);
      expect(moves.map((m) => [m.alias, m.version])).toEqual([['champion', 2]]);
      expect(moves[0]!.reason).toMatch(new RegExp(`^loop run ${run.id}: promote v2 over v1: passed all 2 gates`));
      expect(p.registry.auditLog(MODEL).filter((x) => x.action === 'set_alias').map((x) => x.version)).toEqual([1, 2]);
    } finally {
      p.close();
    }
  }, 60_000);

  it('rejects a challenger the gates fail: a version registered for the run, the alias left where it was', async () => {
    writeConfig(dir, IMPOSSIBLE_GATES);
    const run = await loopRun('--as-of', AS_OF, '--force');
    expect([run.status, run.outcome, run.error]).toEqual(['succeeded', 'rejected', null]);
    const e = output<Evaluated>(run, 'evaluate');
    expect([e.champion, e.challenger]).toEqual([2, 3]);
    expect(e.metrics.find((m) => m.metric === 'auc' && m.slice === 'all')!.challenger!).toBeLessThan(0.99);
    expect(output<{ passed: boolean; action: string }>(run, 'gate')).toMatchObject({ passed: false, action: 'reject' });
    expect(output(run, 'act')).toMatchObject({ end: 'rejected', action: 'reject', version: 3 });
    const p = await Project.open({ project: dir });
    try {
      expect(versionsOfRun(p, run.id)).toEqual([3]);
      expect(aliasMovesOfRun(p, run.id)).toEqual([]);
      expect(p.registry.resolve(`${MODEL}@champion`).version).toBe(2);
    } finally {
      p.close();
    }
  }, 60_000);

  it('ends with no challenger when the model learns nothing (no --force) or the window is empty', async () => {
    writeConfig(dir, PASSABLE_GATES);
    const nothing = await loopRun('--as-of', AS_OF);
    const early = await loopRun('--as-of', '2023-06-01', '--force');
    for (const [run, why] of [[nothing, /learned nothing/], [early, /split|window|rows/i]] as const) {
      expect([run.status, run.outcome, run.error]).toEqual(['succeeded', 'no_challenger', null]);
      expect(run.steps.map((s) => s.status)).toEqual(['done', 'done', 'skipped', 'skipped', 'skipped']);
      expect(output<{ end: string; reason: string; champion: number }>(run, 'train')).toMatchObject({ end: 'no_challenger', reason: expect.stringMatching(why), champion: 2 });
    }
    // the refresh step saw only what the data held at each run's time
    const r1 = output<{ rows: number; labelled: number }>(nothing, 'refresh');
    const r2 = output<{ rows: number; labelled: number }>(early, 'refresh');
    expect(r2.rows).toBeLessThan(r1.rows);
    expect(r2.labelled).toBe(0); // 12-month labels: none known by mid 2023 of a world started in 2023
    const p = await Project.open({ project: dir });
    try {
      expect(p.registry.listVersions(MODEL).map((v) => v.version)).toEqual([1, 2, 3]);
      expect(versionsOfRun(p, nothing.id)).toEqual([]);
      expect(aliasMovesOfRun(p, nothing.id)).toEqual([]);
      expect(p.registry.resolve(`${MODEL}@champion`).version).toBe(2);
    } finally {
      p.close();
    }
  }, 60_000);

  it('kiln loop history lists the runs, newest first, with what each decided', async () => {
    expect(runs.map((r) => r.outcome)).toEqual(['promoted', 'rejected', 'no_challenger', 'no_challenger']);
    const j = await kiln(['loop', 'history', MODEL, '--json'], dir);
    expect(j.code, j.stderr).toBe(0);
    const listed = JSON.parse(j.stdout) as LoopRunRecord[];
    expect(listed.map((r) => [r.id, r.status, r.outcome])).toEqual([...runs].reverse().map((r) => [r.id, 'succeeded', r.outcome]));
    const t = await kiln(['loop', 'history', MODEL], dir);
    expect(t.code, t.stderr).toBe(0);
    const lines = t.stdout.split('\n');
    for (const r of runs) expect(lines.find((l) => l.includes(r.id)), r.id).toContain(r.outcome!);
    expect(lines.find((l) => l.includes(runs[0]!.id))).toContain('passed all 2 gates; promote');
  }, 60_000);
});
