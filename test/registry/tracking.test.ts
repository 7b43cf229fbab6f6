import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Tracker, compareRuns, getRun, listRuns } from '../../src/registry/index.js';
import { sharedMetadata } from '../../src/store/index.js';
import { backendProject, META_BACKENDS } from '../meta-backends.js';

let ctx: Awaited<ReturnType<typeof backendProject>>;
let tracker: Tracker;

describe.each(META_BACKENDS)('experiment tracking (%s)', (backend) => {
  beforeEach(async () => {
    ctx = await backendProject(backend);
    tracker = new Tracker(ctx.project.meta.db, ctx.project.paths.artifactsDir);
  });
  afterEach(() => ctx.cleanup());

  it('records params, tags, metrics, curves, lineage and artifacts of a finished run', async () => {
    const id = await tracker.withRun({ experiment: 'credit', name: 'gbdt-1', params: { max_depth: 6, eta: 0.1, objective: 'binary:logistic' }, tags: { owner: 'risk' }, configHash: 'abc' }, async (run) => {
      run.logCurve('valid_auc', [0.7, 0.75, 0.78]);
      run.logMetrics({ test_auc: 0.77, test_ks: 0.41 });
      run.logLineage([{ kind: 'feature', name: 'spend_30d', version: 'f00d' }, { kind: 'training_set', name: 'ts', details: { rows: 100, from: '2024-01-01' } }]);
      const p = run.logArtifact('model/model.json', { data: '{"trees":[]}' });
      expect(readFileSync(p, 'utf8')).toBe('{"trees":[]}');
      return run.id;
    });
    const r = getRun(ctx.project.meta.db, id);
    expect(r).toMatchObject({ experiment: 'credit', name: 'gbdt-1', status: 'finished', configHash: 'abc', error: null });
    expect(r.endedAt).not.toBeNull();
    expect(r.params).toEqual({ eta: '0.1', max_depth: '6', objective: 'binary:logistic' });
    expect(r.tags).toEqual({ owner: 'risk' });
    expect(r.metrics).toEqual({ test_auc: 0.77, test_ks: 0.41, valid_auc: 0.78 });
    expect(r.curves.valid_auc!.map((p) => p.value)).toEqual([0.7, 0.75, 0.78]);
    expect(r.lineage).toEqual([
      { kind: 'feature', name: 'spend_30d', version: 'f00d', details: null },
      { kind: 'training_set', name: 'ts', version: null, details: { rows: 100, from: '2024-01-01' } },
    ]);
    expect(r.artifacts).toEqual([{ path: 'model/model.json', bytes: 12, sha256: expect.stringMatching(/^[0-9a-f]{64}$/) }]);
    expect(existsSync(join(ctx.project.paths.artifactsDir, id, 'model', 'model.json'))).toBe(true);
    expect(getRun(ctx.project.meta.db, id.slice(0, 12)).id).toBe(id);
  });

  it('marks a run failed, with the error, when its work throws', async () => {
    await expect(tracker.withRun({ experiment: 'credit' }, async () => { throw new Error('no positives in the test window'); })).rejects.toThrow('no positives');
    const [r] = listRuns(ctx.project.meta.db, { experiment: 'credit' });
    expect(r).toMatchObject({ status: 'failed', error: 'no positives in the test window' });
  });

  it('marks a run whose process crashed as failed when the project is next opened', async () => {
    const script = `
      import { MetaStore, sharedMetadata } from ${JSON.stringify(resolve('src/store/index.ts'))};
      import { Tracker } from ${JSON.stringify(resolve('src/registry/index.ts'))};
      const meta = MetaStore.open(${JSON.stringify(ctx.project.paths.metaDb)}, ${JSON.stringify(sharedMetadata(ctx.project.config) ?? null)} ?? undefined);
      const t = new Tracker(meta.db, ${JSON.stringify(ctx.project.paths.artifactsDir)});
      const run = t.startRun({ experiment: 'crash' });
      run.logMetric('partial', 1);
      process.kill(process.pid, 'SIGKILL');`;
    const child = await promisify(execFile)(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script]).then(() => null, (e: { signal?: string; stderr?: string }) => e);
    expect(child?.signal, child?.stderr).toBe('SIGKILL');
    const before = listRuns(ctx.project.meta.db, { experiment: 'crash' });
    expect(before).toHaveLength(1);
    expect(before[0]!.status).toBe('running');
    expect(new Tracker(ctx.project.meta.db, ctx.project.paths.artifactsDir).reapCrashedRuns()).toBe(0); // already reaped by the constructor
    const after = getRun(ctx.project.meta.db, before[0]!.id);
    expect(after.status).toBe('failed');
    expect(after.error).toMatch(/the process \(pid \d+\) ended without finishing the run/);
    expect(after.metrics).toEqual({ partial: 1 });
  });

  it('compares two runs: params side by side and metric deltas', async () => {
    const a = await tracker.withRun({ experiment: 'e', params: { max_depth: 4, eta: 0.1 } }, async (run) => { run.logMetrics({ auc: 0.70, ks: 0.3 }); return run.id; });
    const b = await tracker.withRun({ experiment: 'e', params: { max_depth: 6, eta: 0.1, subsample: 0.8 } }, async (run) => { run.logMetrics({ auc: 0.73 }); return run.id; });
    const c = compareRuns(ctx.project.meta.db, a, b);
    expect(c.params).toEqual([
      { key: 'eta', a: '0.1', b: '0.1', same: true },
      { key: 'max_depth', a: '4', b: '6', same: false },
      { key: 'subsample', a: null, b: '0.8', same: false },
    ]);
    expect(c.metrics[0]).toMatchObject({ key: 'auc', a: 0.7, b: 0.73 });
    expect(c.metrics[0]!.delta).toBeCloseTo(0.03, 12);
    expect(c.metrics[1]).toEqual({ key: 'ks', a: 0.3, b: null, delta: null });
    expect(() => getRun(ctx.project.meta.db, 'zzzz')).toThrow("no run 'zzzz'; 'kiln runs list' shows the runs");
  });
});
