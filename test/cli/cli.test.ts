import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ModelRegistry, Tracker } from '../../src/registry/index.js';
import { MetaStore } from '../../src/store/index.js';
import { kiln, tempDir, write } from '../helpers.js';

describe('the kiln binary', () => {
  let dir: string;
  let cleanup: () => void;
  beforeAll(() => ({ dir, cleanup } = tempDir('kiln-cli-')));
  afterAll(() => cleanup());

  it('lists its commands with one-line help', async () => {
    const r = await kiln(['--help'], dir);
    expect(r.code).toBe(0);
    for (const cmd of ['init', 'ingest', 'tables', 'sim']) expect(r.stdout).toMatch(new RegExp(`^  ${cmd}\\b.*\\S`, 'm'));
  });

  it('says how to start when there is no project', async () => {
    const r = await kiln(['tables'], dir);
    expect(r.code).toBe(66);
    expect(r.stderr).toContain('error [PROJECT_NOT_FOUND]: no kiln project in');
    expect(r.stderr).toContain("Run 'kiln init'");
  });

  it('inits a project, ingests, lists tables from a subdirectory, and reports bad input', async () => {
    const init = await kiln(['init', 'proj'], dir);
    expect(init.code).toBe(0);
    const root = join(dir, 'proj');
    for (const p of ['kiln.config.ts', '.kiln/offline.duckdb', '.kiln/meta.sqlite', '.kiln/artifacts']) expect(existsSync(join(root, p))).toBe(true);
    expect((await kiln(['init', 'proj'], dir)).stdout).toContain('already a kiln project');

    write(root, 'tx.csv', 'txn_id,ts,amount\n1,2024-01-01,5\n2,2024-02-01,6\n');
    const ing = await kiln(['ingest', 'tx', 'tx.csv', '--timestamp', 'ts', '--key', 'txn_id'], root);
    expect(ing.code).toBe(0);
    expect(ing.stdout).toContain("appended 2 rows from 1 file into 'tx'");
    const again = await kiln(['ingest', 'tx', 'tx.csv'], root);
    expect(again.stdout).toContain('the same content was ingested');

    const bad = write(root, 'bad.csv', 'txn_id,ts,amount\n3,2024-03-01,5,9\n');
    const r = await kiln(['ingest', 'tx', bad], root);
    expect(r.code).toBe(65);
    expect(r.stderr).toContain(`error [INGEST_BAD_ROWS]: ${bad}: 1 bad row; nothing was loaded (table 'tx' is unchanged)`);
    expect(r.stderr).toContain('line 2: too many fields');

    const sub = join(root, 'deeper');
    mkdirSync(sub, { recursive: true });
    const t = await kiln(['tables'], sub);
    expect(t.code).toBe(0);
    expect(t.stdout).toMatch(/tx\s+2\s+ts: 2024-01-01 00:00:00 \.\. 2024-02-01 00:00:00\s+txn_id\s+txn_id, ts, amount/);
    const json = JSON.parse((await kiln(['--project', root, 'tables', '--json'], dir)).stdout) as { name: string; rows: number }[];
    expect(json).toEqual([expect.objectContaining({ name: 'tx', rows: 2 })]);
  });

  it('simulates a world into the project and lists its tables; bad options are named', async () => {
    const root = join(dir, 'simproj');
    expect((await kiln(['init', root], dir)).code).toBe(0);
    const r = await kiln(['sim', '--borrowers', '300', '--months', '6', '--seed', '3', '--quiet'], root);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('simulated 300 borrowers over 6 months from 2024-01-01 (seed 3, shock none)');
    expect(r.stdout).toMatch(/^transactions\s+\S+\s+ts\s+txn_id$/m);
    const t = await kiln(['tables'], root);
    for (const name of ['borrowers', 'transactions', 'applications', 'loans', 'repayments', 'loan_labels', 'merchants']) expect(t.stdout).toMatch(new RegExp(`^${name}\\s`, 'm'));
    const bad = await kiln(['sim', '--borrowers', '0'], root);
    expect(bad.code).toBe(64);
    expect(bad.stderr).toContain("error [SIM_OPTION_INVALID]: invalid simulator options: option 'borrowers'");
  });

  it('lists runs, and moves and audits model aliases', async () => {
    const root = join(dir, 'regproj');
    expect((await kiln(['init', root], dir)).code).toBe(0);
    const meta = MetaStore.open(join(root, '.kiln', 'meta.sqlite'));
    const tracker = new Tracker(meta.db, join(root, '.kiln', 'artifacts'));
    const runId = await tracker.withRun({ experiment: 'credit', params: { max_depth: 6 } }, async (run) => { run.logMetric('auc', 0.71); return run.id; });
    const reg = new ModelRegistry(meta.db);
    reg.registerVersion('credit', { runId, signature: { features: [{ name: 'x', type: 'DOUBLE' }] } });
    reg.registerVersion('credit', { runId, signature: { features: [{ name: 'x', type: 'DOUBLE' }] } });
    meta.close();

    expect((await kiln(['runs', 'list'], root)).stdout).toMatch(new RegExp(`^${runId}\\s+credit\\s+-\\s+finished`, 'm'));
    expect((await kiln(['runs', 'show', runId.slice(0, 10)], root)).stdout).toContain('auc = 0.71');
    expect((await kiln(['models', 'alias', 'set', 'credit@1', 'champion', '--reason', 'launch'], root)).stdout).toBe('credit@champion -> version 1\n');
    expect((await kiln(['models', 'alias', 'set', 'credit@2', 'champion', '--reason', 'better OOT AUC'], root)).stdout).toBe('credit@champion -> version 2 (was 1)\n');
    const noReason = await kiln(['models', 'alias', 'set', 'credit@1', 'champion'], root);
    expect(noReason.code).toBe(64);
    expect(noReason.stderr).toContain("required option '--reason <text>' not specified");
    expect((await kiln(['models', 'list'], root)).stdout).toMatch(/^credit\s+2\s+2\s+champion=2$/m);
    const hist = (await kiln(['models', 'history', 'credit'], root)).stdout;
    expect(hist).toMatch(/^champion\s+1\s+\S+\s+\S+\s+\S+\s+launch$/m);
    expect(hist).toMatch(/^champion\s+2\s+\S+\s+now\s+\S+\s+better OOT AUC$/m);
    const nowAt = (await kiln(['models', 'history', 'credit', '--at', new Date(Date.now() + 60_000).toISOString().replace('Z', '+00:00')], root)).stdout;
    expect(nowAt).toMatch(/^champion\s+2\s/m);
    expect(nowAt).not.toMatch(/^champion\s+1\s/m);
    const offset = await kiln(['models', 'history', 'credit', '--at', '2026-03-03T14:00:00+02:00'], root);
    expect([offset.code, offset.stderr]).toEqual([64, "error [USAGE]: --at 2026-03-03T14:00:00+02:00: expected an ISO date or timestamp in UTC such as 2026-03-03T14:00:00Z ('2026-03-03T14:00:00+02:00' has offset +02:00; kiln works in UTC: give the time in UTC (e.g. '2025-01-01T00:00:00Z'))\n"]);
    const bad = await kiln(['models', 'show', 'credit@champoin'], root);
    expect(bad.code).toBe(66);
    expect(bad.stderr).toContain("error [ALIAS_NOT_FOUND]: model 'credit' has no alias 'champoin'; did you mean 'champion'?");
    const ref = await kiln(['models', 'alias', 'set', 'credit', 'champion', '--reason', 'x'], root);
    expect([ref.code, ref.stderr]).toEqual([64, "error [USAGE]: 'credit': expected NAME@VERSION, e.g. credit@3\n"]);
  });

  it('rejects a wrong option value with usage help', async () => {
    const r = await kiln(['ingest', 'tx', 'x.csv', '--mode', 'merge'], dir);
    expect(r.code).toBe(64);
    expect(r.stderr).toContain("argument 'merge' is invalid. Allowed choices are append, replace");
  });
});
