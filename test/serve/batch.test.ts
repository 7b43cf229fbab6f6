/**
 * `kiln score` on a plain-table model: the output (columns, types, order, the bundle's scores exactly),
 * CSV and Parquet, reasons, progress lines, the errors, and atomic output (an interrupted run leaves the
 * old file and no partial file).
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerScore } from '../../src/cli/commands/score.js';
import { exitCode } from '../../src/core/error-codes.js';
import { Rng } from '../../src/core/rng.js';
import { trainModel, type ScoreRow } from '../../src/pipelines/index.js';
import { gbdtBundle, loadLiveVersion, scoreBatch, type ScoreBatchOptions } from '../../src/serve/index.js';
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
    const s = gbdtBundle(loadLiveVersion(project, 'risk@1')).score(rows as ScoreRow[]);
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
    const s = gbdtBundle(loadLiveVersion(project, 'risk@1')).score(rows as ScoreRow[], { reasons: 'all' });
    got.forEach((g, i) => {
      const want = (s.reasons![i] ?? []).map((x) => ({ reason: x.reason, text: x.text, contribution: x.contribution }));
      expect(JSON.parse(g.r as string)).toEqual(want);
    });
  });
});

describe('kiln score: errors, before any work', () => {
  const base = (o: Partial<ScoreBatchOptions>): ScoreBatchOptions => ({ model: 'risk@champion', spine: 'borrowers', output: join(ctx.dir, 'err.parquet'), ...quiet, ...o });

  it('names an unknown model or alias', async () => {
    expect((await fails(scoreBatch(project, base({ model: 'rsik@champion' })), 'MODEL_NOT_FOUND')).message).toContain("'rsik'");
    expect((await fails(scoreBatch(project, base({ model: 'risk@champoin' })), 'ALIAS_NOT_FOUND')).message).toMatch(/no alias 'champoin'; did you mean 'champion'\?/);
  });

  it('names a missing table (with the tables there) or file', async () => {
    expect((await fails(scoreBatch(project, base({ spine: 'borrower' })), 'TABLE_NOT_FOUND')).message).toMatch(/table 'borrower' does not exist; did you mean 'borrowers'\? \(tables: borrowers, training_risk\)\. Pass a table of the offline store or a \.parquet\/\.csv file$/);
    expect((await fails(scoreBatch(project, base({ spine: join(ctx.dir, 'nope.csv') })), 'FILE_NOT_FOUND')).message).toContain('nope.csv does not exist');
  });

  it('refuses both or neither of spine and entities, a bad --as-of, --as-of with a spine, an output that is not .parquet/.csv', async () => {
    expect((await fails(scoreBatch(project, base({ spine: undefined })), 'USAGE')).message).toMatch(/--spine TABLE\|FILE .* or --entities FILE/);
    expect((await fails(scoreBatch(project, base({ entities: 'ids.txt' })), 'USAGE')).message).toContain('not both');
    expect((await fails(scoreBatch(project, base({ spine: undefined, entities: 'ids.txt', asOf: 'yesterday' })), 'USAGE')).message).toContain("--as-of 'yesterday' is not a time");
    expect((await fails(scoreBatch(project, base({ spine: undefined, entities: 'ids.txt', asOf: '2025-01-01T00:00:00+02:00' })), 'USAGE')).message).toContain('UTC');
    expect((await fails(scoreBatch(project, base({ asOf: '2025-01-01T00:00:00Z' })), 'USAGE')).message).toContain('--as-of applies to --entities');
    expect((await fails(scoreBatch(project, base({ output: join(ctx.dir, 'x.json') })), 'USAGE')).message).toContain('.parquet or .csv');
  });

  it('refuses entity ids for a model over plain columns', async () => {
    writeFileSync(join(ctx.dir, 'ids.txt'), '1\n2\n');
    expect((await fails(scoreBatch(project, base({ spine: undefined, entities: join(ctx.dir, 'ids.txt') })), 'USAGE')).message).toContain('takes no features');
  });

  it('checks the signature: a missing input column (listing the columns there), a column of another type', async () => {
    await project.offline.run('CREATE OR REPLACE TABLE partial AS SELECT id, utilisation, age, region FROM borrowers');
    const m = (await fails(scoreBatch(project, base({ spine: 'partial' })), 'SIGNATURE_MISMATCH')).message;
    expect(m).toContain("column 'late_count' is missing from table 'partial' (columns: id, utilisation, age, region)");
    const t = (await fails(scoreBatch(project, base({ spine: join(ctx.dir, 'bad-types.csv') })), 'SIGNATURE_MISMATCH')).message;
    expect(t).toContain("feature 'age' is VARCHAR, the model was trained on BIGINT");
  });

  it('names a key or time column the spine lacks, with its columns', async () => {
    const m = (await fails(scoreBatch(project, base({ key: 'borrower_id' })), 'SPINE_INVALID')).message;
    expect(m).toBe("table 'borrowers' has no key column 'borrower_id' (columns: id, utilisation, late_count, age, region, bad)");
    expect((await fails(scoreBatch(project, base({ time: 'applied_at' })), 'SPINE_INVALID')).message).toContain("no time column 'applied_at'");
  });
});

/** A writable that collects lines, and calls `onLine` for each (the progress stream of a run). */
function lines(onLine: (line: string) => void = () => {}): Writable & { text: string[] } {
  const w = new Writable({
    write(chunk, _enc, cb) {
      for (const l of String(chunk).split('\n').filter(Boolean)) { w.text.push(l); onLine(l); }
      cb();
    },
  }) as Writable & { text: string[] };
  w.text = [];
  return w;
}

describe('kiln score: progress and atomic output', () => {
  it('prints progress lines when not on a TTY: rows done of the total, rate, then the final line', async () => {
    const stream = lines();
    await scoreBatch(project, { model: 'risk@1', spine: 'borrowers', output: join(ctx.dir, 'p.parquet'), chunkRows: 500, threads: 1, progress: { stream, plainIntervalSeconds: 0 } });
    const bars = stream.text.filter((l) => l.startsWith('score risk@1  '));
    expect(bars.length).toBeGreaterThanOrEqual(6);
    expect(bars[0]).toMatch(/^score risk@1 {2}16\.7% {2}500\/3000 rows {2}ETA \S+ {2}\S+ rows\/s$/);
    expect(bars.at(-1)).toMatch(/^score risk@1 {2}100\.0% {2}3000\/3000 rows {2}\S+ rows\/s {2}in \S+ {2}\d+ declined$/);
    expect(stream.text.join('\n')).not.toContain('\r');
    expect(stream.text[0]).toMatch(/^score risk@1: version 1, 3000 rows \(columns of table 'borrowers'\) -> .*p\.parquet$/);
  });

  it('stops when interrupted mid-way: the old output stays as it was, no partial file, no staging table', async () => {
    const out = join(ctx.dir, 'kept.parquet');
    writeFileSync(out, 'the previous scores');
    const ac = new AbortController();
    const stream = lines((l) => { if (l.includes('rows/s')) ac.abort(new Error('interrupted by SIGINT')); });
    const e = await fails(scoreBatch(project, { model: 'risk@1', spine: 'borrowers', output: out, chunkRows: 300, threads: 1, signal: ac.signal, progress: { stream, plainIntervalSeconds: 0 } }), 'INTERRUPTED');
    expect(e.message).toMatch(/^scoring interrupted after 300 rows; .*kept\.parquet was not written \(a file already there is unchanged\)$/);
    expect(readFileSync(out, 'utf8')).toBe('the previous scores');
    expect(readdirSync(ctx.dir).filter((f) => f.includes('.partial-'))).toEqual([]);
    expect(await read(`SELECT table_name FROM duckdb_tables() WHERE table_name LIKE '__kiln_stage_%'`)).toEqual([]);
  });

  it('removes the partial file a killed run left, and replaces the output whole', async () => {
    const out = join(ctx.dir, 'again.parquet');
    const stale = join(ctx.dir, '.again.parquet.partial-999999999');
    writeFileSync(stale, 'half a file');
    await scoreBatch(project, { model: 'risk@1', spine: 'borrowers', output: out, ...quiet });
    expect(existsSync(stale)).toBe(false);
    expect((await read(`SELECT count(*)::INT AS n FROM read_parquet('${out}')`))[0]!.n).toBe(N);
  });
});

/** Runs `kiln --project DIR score ARGS` in process (the command as registered), for its errors. */
async function scoreCommand(args: string[]): Promise<unknown> {
  const program = new Command().name('kiln').option('-p, --project <dir>').exitOverride();
  registerScore(program);
  return program.parseAsync(['node', 'kiln', '--project', ctx.dir, 'score', ...args]);
}

describe('kiln score (the command)', () => {
  it('scores and prints a summary line (the binary: the command is registered)', async () => {
    project.releaseOffline(); // the command opens the offline store itself
    const ok = await kiln(['score', '-m', 'risk@champion', '--spine', 'borrowers', '-o', 'cli.csv', '--quiet'], ctx.dir);
    expect(ok.stderr).toBe('');
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/^risk version 1 \(risk@champion\): 3000 rows scored, \d+ declined -> .*cli\.csv \(csv\); /);
    expect(readFileSync(join(ctx.dir, 'cli.csv'), 'utf8').split('\n')[0]).toBe('id,as_of,model,version,probability,calibrated,points,declined');
  });

  it('refuses bad flags with USAGE (exit 64)', async () => {
    const both = await fails(scoreCommand(['-m', 'risk', '--spine', 'borrowers', '--entities', 'ids.txt', '-o', 'x.parquet', '--quiet']), 'USAGE');
    expect(both.message).toContain('give --spine or --entities, not both');
    expect(exitCode(both)).toBe(64);
    expect((await fails(scoreCommand(['-m', 'risk', '--spine', 'borrowers', '-o', 'x.parquet', '--reasons', 'some']), 'USAGE')).message).toBe('--reasons some: give --reasons (declined rows) or --reasons all (every row)');
    expect((await fails(scoreCommand(['-m', 'risk', '--spine', 'borrowers', '-o', 'x.parquet', '--chunk-rows', '0']), 'USAGE')).message).toBe('--chunk-rows 0: expected a whole number >= 1');
  });
});
