/**
 * `kiln score` on a plain-table model: the output (columns, types, order, the bundle's scores exactly),
 * CSV and Parquet, reasons, progress lines, the errors, and atomic output (an interrupted run leaves the
 * old file and no partial file).
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Rng } from '../../src/core/rng.js';
import { trainModel, type ScoreRow } from '../../src/pipelines/index.js';
import { loadLiveVersion, scoreBatch, type ScoreBatchOptions } from '../../src/serve/index.js';
import type { Project } from '../../src/store/index.js';
import { fails } from '../fails.js';
import { kiln, tempProject } from '../helpers.js';

const MODEL = {
  spine: { table: 'borrowers', key: 'id' },
  label: { column: 'bad' },
  columns: ['utilisation', 'late_count', 'age', 'region'],
  split: { random: { valid: 0.2, test: 0.2, seed: 7 } },
  params: { max_depth: 3, learning_rate: 0.1, n_estimators: 60, early_stopping_rounds: 20 },
  reasons: { utilisation: 'Revolving utilisation is high', profile: 'Age and region' },
  reasonGroups: { profile: ['age', 'region'] },
  defaultReason: 'Other factors in the credit record',
  maxReasons: 2,
};
const N = 3000;

let ctx: Awaited<ReturnType<typeof tempProject>>;
let project: Project;

beforeAll(async () => {
  ctx = await tempProject(`import { defineConfig } from 'kiln';\nexport default defineConfig({ name: 'batch', models: ${JSON.stringify({ risk: MODEL })} });\n`);
  project = ctx.project;
  const rng = new Rng(11);
  const lines = ['id,utilisation,late_count,age,region,bad'];
  for (let i = 1; i <= N; i++) {
    const u = rng.uniform() * 1.2;
    const late = Math.floor(rng.uniform() * rng.uniform() * 6);
    const age = 21 + Math.floor(rng.uniform() * 50);
    const region = ['north', 'south', 'east', 'west'][i % 4]!;
    const z = -3 + 2.5 * u + 0.6 * late - 0.02 * (age - 45) + (region === 'west' ? 0.5 : 0);
    const missing = i % 97 === 0;
    lines.push(`${i},${missing ? '' : u.toFixed(4)},${late},${age},${i % 89 === 0 ? 'nowhere' : region},${rng.uniform() < 1 / (1 + Math.exp(-z)) ? 1 : 0}`);
  }
  writeFileSync(join(ctx.dir, 'borrowers.csv'), `${lines.join('\n')}\n`);
  // A CSV that reads as the same types; and one where 'age' is text.
  writeFileSync(join(ctx.dir, 'apps.csv'), `${lines.slice(0, 201).join('\n')}\n`);
  writeFileSync(join(ctx.dir, 'bad-types.csv'), 'id,utilisation,late_count,age,region\n1,0.5,1,young,north\n');
  await project.offline.run(`CREATE TABLE borrowers AS SELECT * FROM read_csv('${join(ctx.dir, 'borrowers.csv')}')`);
  await trainModel(project, 'risk', { quiet: true });
  project.registry.setAlias('risk', 'champion', 1, { reason: 'test' });
});
afterAll(() => ctx?.cleanup());

const quiet = { quiet: true } as const;
const read = (sql: string): Promise<Record<string, unknown>[]> => project.offline.all(sql);

describe('kiln score, plain-table model', () => {
  it('scores every row of a table in input order, with the bundle scores exactly', async () => {
    const out = join(ctx.dir, 'scores.parquet');
    const r = await scoreBatch(project, { model: 'risk@champion', spine: 'borrowers', output: out, ...quiet });
    expect(r).toMatchObject({ rows: N, model: 'risk', version: 1, ref: 'risk@champion', format: 'parquet' });
    const types = await read(`DESCRIBE SELECT * FROM read_parquet('${out}')`);
    expect(types.map((t) => [t.column_name, t.column_type])).toEqual([
      ['id', 'BIGINT'], ['as_of', 'TIMESTAMP'], ['model', 'VARCHAR'], ['version', 'INTEGER'],
      ['probability', 'DOUBLE'], ['calibrated', 'DOUBLE'], ['points', 'DOUBLE'], ['declined', 'BOOLEAN'],
    ]);
    const got = await read(`SELECT * FROM read_parquet('${out}')`);
    const rows = await read('SELECT utilisation, late_count, age, region, id FROM borrowers ORDER BY rowid');
    const s = loadLiveVersion(project, 'risk@1').bundle.score(rows as ScoreRow[]);
    expect(got.map((g) => g.id)).toEqual(rows.map((x) => x.id));
    expect(Float64Array.from(got, (g) => g.probability as number)).toEqual(s.probability);
    expect(Float64Array.from(got, (g) => g.calibrated as number)).toEqual(s.calibrated);
    expect(Float64Array.from(got, (g) => g.points as number)).toEqual(s.points);
    expect(Uint8Array.from(got, (g) => (g.declined ? 1 : 0))).toEqual(s.declined);
    expect(r.declined).toBe(s.declined.reduce((a, b) => a + b, 0));
    expect(got.every((g) => g.model === 'risk' && g.version === 1 && g.as_of === null)).toBe(true);
  });

  it('scores a CSV file the same, in chunks that straddle DuckDB chunks, with reasons as JSON text', async () => {
    const out = join(ctx.dir, 'apps-scores.csv');
    const r = await scoreBatch(project, { model: 'risk', spine: join(ctx.dir, 'apps.csv'), output: out, reasons: true, chunkRows: 77, threads: 1, ...quiet });
    expect(r.rows).toBe(200);
    const got = await read(`SELECT * FROM read_csv('${out}', types = {'reasons': 'VARCHAR'})`);
    const whole = await read(`SELECT id, probability, declined FROM read_parquet('${join(ctx.dir, 'scores.parquet')}') LIMIT 200`);
    expect(got.map((g) => [g.id, g.probability, g.declined])).toEqual(whole.map((w) => [w.id, w.probability, w.declined]));
    const declined = got.filter((g) => g.declined);
    expect(declined.length).toBeGreaterThan(0);
    for (const g of got) {
      if (!g.declined) { expect(g.reasons).toBeNull(); continue; }
      const reasons = JSON.parse(g.reasons as string) as { reason: string; text: string; contribution: number }[];
      expect(reasons.length).toBeGreaterThan(0);
      expect(reasons.length).toBeLessThanOrEqual(2);
      for (const x of reasons) expect(x.contribution).toBeGreaterThan(0);
    }
  });

  it("writes reasons as a list in Parquet, every row's with reasons 'all', equal to the bundle's", async () => {
    const out = join(ctx.dir, 'reasons.parquet');
    await scoreBatch(project, { model: 'risk@1', spine: 'borrowers', output: out, reasons: 'all', ...quiet });
    const [t] = await read(`SELECT column_type FROM (DESCRIBE SELECT reasons FROM read_parquet('${out}'))`);
    expect(t!.column_type).toBe('STRUCT(reason VARCHAR, "text" VARCHAR, contribution DOUBLE)[]');
    const got = await read(`SELECT to_json(reasons)::VARCHAR AS r FROM read_parquet('${out}') LIMIT 50`);
    const rows = await read('SELECT utilisation, late_count, age, region FROM borrowers ORDER BY rowid LIMIT 50');
    const s = loadLiveVersion(project, 'risk@1').bundle.score(rows as ScoreRow[], { reasons: 'all' });
    got.forEach((g, i) => {
      const want = (s.reasons![i] ?? []).map((x) => ({ reason: x.reason, text: x.text, contribution: x.contribution }));
      expect(JSON.parse(g.r as string)).toEqual(want);
    });
  });
});
