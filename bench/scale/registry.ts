/**
 * Registry operations per second on the embedded SQLite and on PostgreSQL (issue 20), one process, back
 * to back on the same machine: version registration, alias moves (each an audited transaction), alias
 * reads, a tracked run (10 params, 20 metrics, a 200-point curve), a page of the runs search, and alias
 * moves raced by 4 processes (the writers' lock). Then the decision log: durable appends from 16
 * concurrent appenders for a few seconds, to files and to PostgreSQL (group commit in both).
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { ModelRegistry, searchRuns, Tracker } from '../../src/registry/index.js';
import { decisionLogOf, newDecisionId, openDecisionLog, type DecisionRecord } from '../../src/serve/index.js';
import { initProject, PgSyncDb, Project, sharedMetadata } from '../../src/store/index.js';
import { printTable } from '../util.js';

const URL = process.env.KILN_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const sig = { features: Array.from({ length: 20 }, (_, i) => ({ name: `f${i}`, type: 'DOUBLE' })) };
const run = promisify(execFile);

async function timed(n: number, fn: (i: number) => unknown | Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  for (let i = 0; i < n; i++) await fn(i);
  return n / ((performance.now() - t0) / 1000);
}

function record(i: number): DecisionRecord {
  return {
    id: newDecisionId(), time: new Date().toISOString(), model: 'credit', version: 1, decidedBy: 'primary', entityId: `b${i}`, asOf: null,
    request: { entityId: `b${i}` }, features: Object.fromEntries(Array.from({ length: 20 }, (_, k) => [`f${k}`, (i * 31 + k) % 97])),
    score: { version: 1, raw: 0.12, calibrated: 0.1, declined: false } as never, reasons: [], shadow: [], latencyMs: 0.4,
  };
}

async function appendRate(project: Project, seconds: number): Promise<number> {
  const log = await openDecisionLog(decisionLogOf(project), { durability: 'durable' });
  let n = 0;
  const end = Date.now() + seconds * 1000;
  const t0 = performance.now();
  await Promise.all(Array.from({ length: 16 }, async () => { while (Date.now() < end) { await log.append([record(n)]); n++; } }));
  const rate = n / ((performance.now() - t0) / 1000);
  await log.close();
  return rate;
}

export async function benchRegistry(): Promise<void> {
  const results: Record<string, Record<string, number>> = {};
  for (const backend of ['sqlite', 'postgres'] as const) {
    const dir = mkdtempSync(join(tmpdir(), 'kiln-bench-registry-'));
    const schema = `kiln_bench_${process.pid}`;
    const metadata = backend === 'postgres' ? `metadata: { url: ${JSON.stringify(URL)}, schema: '${schema}' },` : '';
    writeFileSync(join(dir, 'kiln.config.ts'), `import { defineConfig } from 'kiln';\nexport default defineConfig({ name: 'bench', ${metadata} });\n`);
    await initProject(dir);
    const project = await Project.open({ project: dir });
    const r: Record<string, number> = {};
    try {
      const reg = new ModelRegistry(project.meta.db);
      const tracker = new Tracker(project.meta.db, project.paths.artifactsDir);
      r['register a version'] = await timed(300, () => reg.registerVersion('credit', { signature: sig }));
      r['move an alias (audited)'] = await timed(1000, (i) => reg.setAlias('credit', 'champion', 1 + (i % 300), { reason: 'bench' }));
      r['resolve name@alias'] = await timed(5000, () => reg.resolve('credit@champion'));
      r['tracked run: 10 params, 20 metrics, 200-point curve'] = await timed(100, () => tracker.withRun({ experiment: 'bench', params: Object.fromEntries(Array.from({ length: 10 }, (_, k) => [`p${k}`, k])) }, async (run) => {
        run.logMetrics(Object.fromEntries(Array.from({ length: 20 }, (_, k) => [`m${k}`, k / 20])));
        run.logCurve('valid_auc', Array.from({ length: 200 }, (_, k) => 0.5 + k / 1000));
      }));
      r['runs search: a page of 50, sorted by a metric'] = await timed(100, () => searchRuns(project.meta.db, { sort: 'metric:m3', withMetrics: ['m3'], size: 50 }));
      const shared = sharedMetadata(project.config) ?? null;
      const t0 = performance.now();
      await Promise.all([0, 1, 2, 3].map((w) => run(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', `
        import { MetaStore } from ${JSON.stringify(resolve('src/store/index.ts'))};
        import { ModelRegistry } from ${JSON.stringify(resolve('src/registry/index.ts'))};
        const meta = MetaStore.open(${JSON.stringify(project.paths.metaDb)}, ${JSON.stringify(shared)} ?? undefined);
        const reg = new ModelRegistry(meta.db);
        for (let i = 0; i < 250; i++) reg.setAlias('credit', 'race', 1 + ((i + ${w}) % 300), { reason: 'race' });
        meta.close();`])));
      r['alias moves, 4 processes racing (total)'] = 1000 / ((performance.now() - t0) / 1000);
      r['decision log: durable appends, 16 appenders'] = await appendRate(project, 4);
    } finally {
      project.close();
      rmSync(dir, { recursive: true, force: true });
      if (backend === 'postgres') { const db = new PgSyncDb(URL, 'public'); db.exec(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`); db.close(); }
    }
    results[backend] = r;
  }
  const ops = Object.keys(results.sqlite!);
  printTable(['operation (one process unless said)', 'SQLite ops/s', 'PostgreSQL ops/s', 'PostgreSQL / SQLite'],
    ops.map((op) => [op, Math.round(results.sqlite![op]!), Math.round(results.postgres![op]!), (results.postgres![op]! / results.sqlite![op]!).toFixed(2)]));
}
