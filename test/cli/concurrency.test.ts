import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { trainModel } from '../../src/pipelines/index.js';
import { simulate } from '../../src/sim/index.js';
import { initProject, lockInfoPath, Project } from '../../src/store/index.js';
import { DEMO_FEATURES_FILE, tempDir } from '../helpers.js';

const ROOT = resolve(import.meta.dirname, '../..');
const BIN = join(ROOT, 'bin/kiln.js');

interface Done { code: number | null; stdout: string; stderr: string; endedAt: number }

/** Starts `kiln ARGS` as a child process; `done` settles when it exits. */
function start(args: string[], cwd: string): { child: ChildProcess; done: Promise<Done> } {
  const child = spawn(process.execPath, [BIN, ...args], { cwd, env: { ...process.env, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (b: Buffer) => { stdout += b.toString(); });
  child.stderr!.on('data', (b: Buffer) => { stderr += b.toString(); });
  const done = new Promise<Done>((ok) => child.on('exit', (code) => ok({ code, stdout, stderr, endedAt: Date.now() })));
  return { child, done };
}

const MODEL = {
  spine: { table: 'loan_labels', timestamp: 'funded_at', key: 'borrower_id' },
  label: { column: 'default_12m', availableAt: 'label_available_at' },
  features: 'credit_v1',
  split: { validFrom: '2024-07-01', testFrom: '2024-10-01', testTo: '2025-01-01' },
  // Many small rounds without early stopping: a training run of a few seconds on a small world.
  params: { max_depth: 3, learning_rate: 0.02, n_estimators: 2500, early_stopping_rounds: 5000 },
  minPositives: 5,
  defaultReason: 'Other factors in the credit record',
};

const BIG_ROWS = 1_500_000;

describe('several kiln commands at once on one project', () => {
  let dir: string;
  let cleanup: () => void;
  const children: ChildProcess[] = [];

  beforeAll(async () => {
    ({ dir, cleanup } = tempDir('kiln-concurrency-'));
    writeFileSync(join(dir, 'kiln.config.ts'), `import { defineConfig } from 'kiln';\nimport { DEMO_FEATURES } from ${JSON.stringify(DEMO_FEATURES_FILE)};\nexport default defineConfig({ name: 'cc', features: [...DEMO_FEATURES], models: { credit: ${JSON.stringify(MODEL)} } });\n`);
    await initProject(dir);
    const p = await Project.open({ project: dir });
    try {
      await simulate(p.offline, { borrowers: 3000, seed: 11 });
    } finally {
      p.close();
    }
    // A CSV large enough that its ingest holds the store for a few seconds.
    const out = createWriteStream(join(dir, 'big.csv'));
    out.write('id,ts,amount\n');
    const chunk: string[] = [];
    for (let i = 0; i < BIG_ROWS; i++) {
      chunk.push(`${i},2024-01-${String(1 + (i % 28)).padStart(2, '0')},${i % 997}\n`);
      if (chunk.length === 100_000) { out.write(chunk.join('')); chunk.length = 0; }
    }
    out.write(chunk.join(''));
    await new Promise<void>((ok) => out.end(ok));
  }, 120_000);
  afterAll(() => { for (const c of children) c.kill('SIGKILL'); cleanup?.(); });

  it('runs, models and tables answer while a training run and an ingest are in progress', async () => {
    const ingest = start(['ingest', 'big', 'big.csv', '--key', 'id', '--timestamp', 'ts', '--quiet'], dir);
    const train = start(['train', 'credit', '--quiet'], dir);
    const runs = start(['runs', 'list'], dir);
    const models = start(['models', 'list'], dir);
    const tables = start(['tables'], dir);
    children.push(ingest.child, train.child, runs.child, models.child, tables.child);

    const [r, m] = await Promise.all([runs.done, models.done]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/no runs yet|credit/);
    expect(m.stderr).toBe('');
    expect(m.code).toBe(0);
    expect(m.stdout).toMatch(/no models registered yet|credit/);

    const [i, t, tb] = await Promise.all([ingest.done, train.done, tables.done]);
    // Reading metadata never waited for the offline store: both answered before either writer finished.
    expect(Math.max(r.endedAt, m.endedAt)).toBeLessThan(Math.min(i.endedAt, t.endedAt));
    expect(i.stderr.replace(/^waiting for the offline store .*\n/m, '')).toBe('');
    expect(i.code).toBe(0);
    expect(i.stdout).toContain(`appended 1.50M rows from 1 file into 'big'`);
    expect(t.code).toBe(0);
    expect(t.stdout).toMatch(/^credit version 1 \(run \w+\): test AUC/m);
    expect(tb.code).toBe(0);
    expect(tb.stdout).toMatch(/^loan_labels\s/m);
    // Whoever waited said for whom: the ingest and the training need the store at the same time.
    for (const w of [i.stderr, t.stderr, tb.stderr].join('\n').match(/^waiting for the offline store .*$/gm) ?? []) {
      expect(w).toMatch(/it is in use by pid \d+ \(kiln (ingest big big\.csv|train credit|tables)/);
    }
    // Every holder cleaned up after itself.
    expect(existsSync(lockInfoPath(join(dir, '.kiln', 'offline.duckdb')))).toBe(false);
  }, 120_000);

  it('a command that needs the store waits for the holder, and --wait-timeout turns a long wait into STORE_BUSY', async () => {
    const db = join(dir, '.kiln', 'offline.duckdb');
    // Hold the store for writing the way a long ingest does, from a separate process, until told to stop.
    const script = `import { OfflineStore } from ${JSON.stringify(join(ROOT, 'src/store/index.ts'))};
      const s = await OfflineStore.open(${JSON.stringify(db)}); await s.all('SELECT 1'); process.stdout.write('held\\n');
      process.stdin.once('data', () => { s.close(); process.exit(0); });`;
    const holder = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script, 'kiln', 'ingest', 'loans', 'march.csv'], { cwd: ROOT, stdio: ['pipe', 'pipe', 'inherit'] });
    children.push(holder);
    await new Promise<void>((ok) => holder.stdout!.on('data', (b: Buffer) => { if (b.toString().includes('held')) ok(); }));
    expect(JSON.parse(readFileSync(lockInfoPath(db), 'utf8'))).toMatchObject({ pid: holder.pid, command: 'kiln ingest loans march.csv' });

    const [busy, runs] = await Promise.all([start(['--wait-timeout', '1', 'tables'], dir).done, start(['runs', 'list'], dir).done]);
    expect(runs.code).toBe(0);
    expect(runs.stdout).toMatch(/^\w+\s+credit\s/m);
    expect(busy.code).toBe(75);
    expect(busy.stderr).toContain(`error [STORE_BUSY]: the offline store ${db} is in use by pid ${holder.pid} (kiln ingest loans march.csv, since`);
    expect(busy.stderr).toContain('--wait-timeout SECONDS');
    expect(busy.stderr).not.toMatch(/\n\s+at /);

    const waiting = start(['tables'], dir);
    await new Promise<void>((ok) => waiting.child.stderr!.on('data', (b: Buffer) => { if (b.toString().includes('waiting for the offline store')) ok(); }));
    holder.stdin!.write('go\n');
    const w = await waiting.done;
    expect(w.stderr).toContain(`it is in use by pid ${holder.pid} (kiln ingest loans march.csv`);
    expect(w.code).toBe(0);
    expect(w.stdout).toMatch(/^big\s+1\.50M\s/m);
  }, 120_000);

  it('training lets go of the offline store once its training set is in memory', async () => {
    const p = await Project.open({ project: dir });
    try {
      expect(p.offline.isOpen).toBe(false);
      const r = await trainModel(p, 'credit', { quiet: true });
      expect(r.version).toBeGreaterThan(1);
      expect(p.offline.isOpen).toBe(false);
      expect(existsSync(lockInfoPath(p.paths.offlineDb))).toBe(false);
    } finally {
      p.close();
    }
  }, 120_000);
});
