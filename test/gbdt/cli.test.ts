/**
 * `kiln gbdt` on files: the default objective, the row-id column of R / pandas CSVs, names given on the
 * command line, missing and unreadable files, progress on stderr, and the DuckDB chunk reader.
 */
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { afterAll, describe, expect, it } from 'vitest';
import { readColumns } from '../../src/cli/commands/gbdt-input.js';
import { registerGbdt } from '../../src/cli/commands/gbdt.js';
import { explain, train } from '../../src/gbdt/index.js';
import { copyDoubles, firstHeaderCellEmpty, maskInvalid } from '../../src/store/numeric-file.js';
import { NumericFile, OfflineStore, quoteLiteral } from '../../src/store/index.js';
import { binaryData } from './data.js';

const dir = mkdtempSync(join(tmpdir(), 'kiln-gbdt-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Out { stdout: string; stderr: string }

async function runCli(args: string[]): Promise<Out> {
  const program = new Command().exitOverride();
  registerGbdt(program);
  const out: string[] = [];
  const err: string[] = [];
  const write = process.stdout.write.bind(process.stdout);
  const writeErr = process.stderr.write.bind(process.stderr);
  process.stdout.write = ((s: string | Uint8Array) => { out.push(String(s)); return true; }) as typeof process.stdout.write;
  process.stderr.write = ((s: string | Uint8Array) => { err.push(String(s)); return true; }) as typeof process.stderr.write;
  try {
    await program.parseAsync(['gbdt', ...args], { from: 'user' });
  } finally {
    process.stdout.write = write;
    process.stderr.write = writeErr;
  }
  return { stdout: out.join(''), stderr: err.join('') };
}

async function failure(args: string[]): Promise<{ code: string; message: string; path?: unknown[] }> {
  try {
    await runCli(args);
  } catch (e) {
    return e as { code: string; message: string; path?: unknown[] };
  }
  throw new Error(`kiln gbdt ${args.join(' ')} did not fail`);
}

/** A CSV of the binary task; `rowIds`: 'r' (R's write.csv: "" header, 1..n), 'pandas' (empty header, 0..n-1), or none. */
function writeCsv(name: string, n: number, opts: { rowIds?: 'r' | 'pandas'; label?: (y: number, i: number) => number } = {}): string {
  const d = binaryData(n, 4, 21, 0.05);
  const head = ['x0', 'x1', 'x2', 'x3', 'y'];
  const lines = [opts.rowIds === 'r' ? `"",${head.map((h) => `"${h}"`).join(',')}` : opts.rowIds === 'pandas' ? `,${head.join(',')}` : head.join(',')];
  for (let i = 0; i < n; i++) {
    const cells = [...d.features.map((c) => (Number.isNaN(c[i]!) ? 'NA' : String(c[i]))), String(opts.label ? opts.label(d.label[i]!, i) : d.label[i])];
    if (opts.rowIds) cells.unshift(String(opts.rowIds === 'r' ? i + 1 : i));
    lines.push(cells.join(','));
  }
  const path = join(dir, name);
  const eol = opts.rowIds === 'r' ? '\r\n' : '\n';
  writeFileSync(path, `${lines.join(eol)}${eol}`);
  return path;
}

const few = '{"n_estimators":5,"max_depth":3,"nthread":1}';

describe('kiln gbdt train: the default objective', () => {
  it('is binary:logistic for a 0/1 label, and says so on stderr', async () => {
    const csv = writeCsv('binary.csv', 600);
    const model = join(dir, 'binary.json');
    const r = await runCli(['train', '--data', csv, '--label', 'y', '--params', few, '--out', model, '--every', '0']);
    expect(r.stdout).toContain('training binary:logistic on 600 rows x 4 features');
    expect(r.stderr).toContain('objective: binary:logistic (label y has only 0 and 1; pass --params to choose another)');
    expect(JSON.parse(readFileSync(model, 'utf8')).objective).toBe('binary:logistic');
    const p = join(dir, 'binary-p.csv');
    await runCli(['predict', '--model', model, '--data', csv, '--out', p]);
    const preds = readFileSync(p, 'utf8').trim().split('\n').slice(1).map(Number);
    expect(preds.every((v) => v > 0 && v < 1)).toBe(true);
  });

  it('stays reg:squarederror for other labels (said too), and --params still decides', async () => {
    const csv = writeCsv('reg.csv', 400, { label: (y, i) => y * 2 + (i % 3) * 0.5 });
    const r = await runCli(['train', '--data', csv, '--label', 'y', '--params', few, '--out', join(dir, 'reg.json'), '--every', '0']);
    expect(r.stdout).toContain('training reg:squarederror on 400 rows');
    expect(r.stderr).toMatch(/objective: reg:squarederror \(label y has values other than 0 and 1, e\.g\. [\d.]+; pass --params/);
    const bin = writeCsv('bin2.csv', 400);
    const r2 = await runCli(['train', '--data', bin, '--label', 'y', '--params', '{"objective":"reg:squarederror","n_estimators":3,"nthread":1}', '--out', join(dir, 'reg2.json'), '--every', '0']);
    expect(r2.stdout).toContain('training reg:squarederror');
    expect(r2.stderr).not.toContain('objective:');
  });
});

describe('kiln gbdt: the row-id column of R and pandas CSVs', () => {
  for (const kind of ['r', 'pandas'] as const) {
    it(`${kind}: never a feature; train, predict and explain agree with the same file without it`, async () => {
      const withId = writeCsv(`${kind}-id.csv`, 800, { rowIds: kind });
      const plain = writeCsv(`${kind}-plain.csv`, 800);
      const m1 = join(dir, `${kind}-m1.json`);
      const m2 = join(dir, `${kind}-m2.json`);
      const r = await runCli(['train', '--data', withId, '--label', 'y', '--params', few, '--out', m1, '--every', '0']);
      expect(r.stdout).toContain('on 800 rows x 4 features');
      expect(r.stderr).toMatch(/column0: .*-id\.csv has an unnamed first column \(row names.*\); it is a row id and is not used as a feature/);
      await runCli(['train', '--data', plain, '--label', 'y', '--params', few, '--out', m2, '--every', '0']);
      const model = JSON.parse(readFileSync(m1, 'utf8'));
      expect(model.features.map((f: { name: string }) => f.name)).toEqual(['x0', 'x1', 'x2', 'x3']);
      expect(model.trees).toEqual(JSON.parse(readFileSync(m2, 'utf8')).trees);
      const p1 = join(dir, `${kind}-p1.csv`);
      const p2 = join(dir, `${kind}-p2.csv`);
      const pr = await runCli(['predict', '--model', m1, '--data', withId, '--out', p1]);
      expect(pr.stderr).toContain('is a row id');
      await runCli(['predict', '--model', m1, '--data', plain, '--out', p2]);
      expect(readFileSync(p1, 'utf8')).toBe(readFileSync(p2, 'utf8'));
      const s1 = join(dir, `${kind}-s1.csv`);
      const s2 = join(dir, `${kind}-s2.csv`);
      await runCli(['explain', '--model', m1, '--data', withId, '--out', s1]);
      await runCli(['explain', '--model', m1, '--data', plain, '--out', s2]);
      expect(readFileSync(s1, 'utf8')).toBe(readFileSync(s2, 'utf8'));
    });
  }

  it('--drop of the row-id column still works, silently; a model that uses it is refused', async () => {
    const withId = writeCsv('drop-id.csv', 300, { rowIds: 'r' });
    const r = await runCli(['train', '--data', withId, '--label', 'y', '--drop', 'column0', '--params', few, '--out', join(dir, 'drop.json'), '--every', '0']);
    expect(r.stdout).toContain('x 4 features');
    expect(r.stderr).not.toContain('row id');
    // A model trained elsewhere on the row numbers (features x0..x3 plus column0).
    const d = binaryData(300, 5, 3);
    const b = await train({ features: d.features, label: d.label, featureNames: ['column0', 'x0', 'x1', 'x2', 'x3'], params: { objective: 'binary:logistic', n_estimators: 2, nthread: 1 } });
    const bad = join(dir, 'uses-id.json');
    writeFileSync(bad, JSON.stringify(b));
    const e = await failure(['predict', '--model', bad, '--data', withId, '--out', join(dir, 'x.csv')]);
    expect(e.code).toBe('GBDT_DATA_INVALID');
    expect(e.message).toMatch(/the model uses a feature 'column0', but in .*drop-id\.csv that is the unnamed first column .* retrain the model without it/);
  });

  it('a headerless CSV whose first cell is empty has no row-id column', async () => {
    const path = join(dir, 'headerless.csv');
    writeFileSync(path, ',1.5,2\n3,4.5,5\n6,7.5,8\n');
    const file = await NumericFile.open(path);
    try {
      expect(file.names).toEqual(['column0', 'column1', 'column2']);
      expect(file.rowId).toBeNull();
    } finally {
      file.close();
    }
  });

  it('recognises an empty first header cell, quoted or not, and nothing else', () => {
    expect(firstHeaderCellEmpty(',a,b\n1,2,3')).toBe(true);
    expect(firstHeaderCellEmpty('"","a","b"\r\n1,2,3')).toBe(true);
    expect(firstHeaderCellEmpty('\uFEFF;a;b\n')).toBe(true);
    expect(firstHeaderCellEmpty('id,a,b\n,2,3')).toBe(false);
    expect(firstHeaderCellEmpty('"x","a"\n')).toBe(false);
    expect(firstHeaderCellEmpty('')).toBe(false);
  });
});

describe('kiln gbdt: names given on the command line', () => {
  const csv = (): string => writeCsv('names.csv', 200);
  const cases: [string, string[], RegExp][] = [
    ['--drop', ['--drop', 'x9,x1'], /--drop 'x9' is not a column of .*names\.csv \(did you mean 'x0'\?\); columns: x0, x1, x2, x3, y/],
    ['--categorical', ['--categorical', 'x_3'], /--categorical 'x_3' is not a column of .*names\.csv \(did you mean 'x3'\?\)/],
    ['--label', [], /--label 'yy' is not a column of .*names\.csv \(did you mean 'y'\?\)/],
  ];
  for (const [flag, extra, msg] of cases) {
    it(`refuses a ${flag} name that is not a column, with did-you-mean`, async () => {
      const e = await failure(['train', '--data', csv(), '--label', flag === '--label' ? 'yy' : 'y', ...extra, '--params', few, '--out', join(dir, 'n.json')]);
      expect(e.code).toBe('USAGE');
      expect(e.message).toMatch(msg);
    });
  }

  it('refuses a --categorical column that is not a feature (the label, or dropped)', async () => {
    const e = await failure(['train', '--data', csv(), '--label', 'y', '--drop', 'x2', '--categorical', 'x2', '--params', few]);
    expect([e.code, e.message]).toEqual(['USAGE', "--categorical 'x2' is not a feature: it is in --drop"]);
  });

  it('predict names the model feature the data lacks', async () => {
    const model = join(dir, 'names-model.json');
    await runCli(['train', '--data', csv(), '--label', 'y', '--params', few, '--out', model, '--every', '0']);
    const other = join(dir, 'other.csv');
    writeFileSync(other, 'x_2,x0,x1,x3\n1,2,3,4\n');
    const e = await failure(['predict', '--model', model, '--data', other, '--out', join(dir, 'o.csv')]);
    expect(e.code).toBe('GBDT_DATA_INVALID');
    expect(e.message).toMatch(/the model's feature 'x2' is not a column of .*other\.csv \(did you mean 'x_2'\?\)/);
  });
});

describe('kiln gbdt: missing and unreadable files are KilnErrors naming the path', () => {
  const model = join(dir, 'files-model.json');
  const setup = async (): Promise<string> => {
    const csv = writeCsv('files.csv', 200);
    if (!existsSync(model)) await runCli(['train', '--data', csv, '--label', 'y', '--params', few, '--out', model, '--every', '0']);
    return csv;
  };

  it('--params file that does not exist, or is not JSON', async () => {
    const csv = await setup();
    let e = await failure(['train', '--data', csv, '--label', 'y', '--params', join(dir, 'params.jsn')]);
    expect(e.code).toBe('FILE_NOT_FOUND');
    expect(e.message).toMatch(/--params file .*params\.jsn does not exist; .*JSON text starting with '\{' or the path of a file/);
    writeFileSync(join(dir, 'bad-params.json'), '{"max_depth": 3,');
    e = await failure(['train', '--data', csv, '--label', 'y', '--params', join(dir, 'bad-params.json')]);
    expect(e.code).toBe('USAGE');
    expect(e.message).toMatch(/--params file .*bad-params\.json is not valid JSON/);
    writeFileSync(join(dir, 'params.json'), '{"n_estimators": 2, "nthread": 1}');
    const r = await runCli(['train', '--data', csv, '--label', 'y', '--params', join(dir, 'params.json'), '--out', join(dir, 'pf.json'), '--every', '0']);
    expect(JSON.parse(readFileSync(join(dir, 'pf.json'), 'utf8')).trees).toHaveLength(2);
    expect(r.stdout).toContain('2 rounds');
  });

  it('data and valid files that are missing or are directories', async () => {
    const csv = await setup();
    let e = await failure(['train', '--data', join(dir, 'nope.csv'), '--label', 'y']);
    expect([e.code, e.message]).toEqual(['FILE_NOT_FOUND', expect.stringMatching(/--data file .*nope\.csv does not exist/)]);
    e = await failure(['train', '--data', csv, '--valid', join(dir, 'nope-valid.csv'), '--label', 'y', '--params', few]);
    expect([e.code, e.message]).toEqual(['FILE_NOT_FOUND', expect.stringMatching(/--valid file .*nope-valid\.csv does not exist/)]);
    mkdirSync(join(dir, 'adir.csv'), { recursive: true });
    e = await failure(['predict', '--model', model, '--data', join(dir, 'adir.csv'), '--out', join(dir, 'o.csv')]);
    expect([e.code, e.message]).toEqual(['FILE_UNREADABLE', expect.stringMatching(/--data file .*adir\.csv is a directory/)]);
    e = await failure(['explain', '--model', model, '--data', join(dir, 'nope.csv')]);
    expect(e.code).toBe('FILE_NOT_FOUND');
  });

  it.skipIf(process.getuid?.() === 0)('a data file without read permission is FILE_UNREADABLE (skipped as root, who reads anything)', async () => {
    const csv = writeCsv('locked.csv', 50);
    chmodSync(csv, 0o000);
    try {
      const e = await failure(['train', '--data', csv, '--label', 'y']);
      expect([e.code, e.message]).toEqual(['FILE_UNREADABLE', expect.stringMatching(/cannot read --data file .*locked\.csv: EACCES; check its permissions/)]);
    } finally {
      chmodSync(csv, 0o644);
    }
  });

  it('model files that are missing, directories or not models', async () => {
    const csv = await setup();
    let e = await failure(['predict', '--model', join(dir, 'none.json'), '--data', csv, '--out', join(dir, 'o.csv')]);
    expect([e.code, e.message]).toEqual(['FILE_NOT_FOUND', expect.stringMatching(/model file .*none\.json does not exist/)]);
    e = await failure(['explain', '--model', dir, '--data', csv]);
    expect(e.code).toBe('FILE_UNREADABLE');
    e = await failure(['predict', '--model', csv, '--data', csv, '--out', join(dir, 'o.csv')]);
    expect([e.code, e.message]).toEqual(['MODEL_FORMAT_INVALID', expect.stringMatching(/files\.csv is neither JSON/)]);
  });

  it('an output file in a folder that does not exist; nothing half-written is left', async () => {
    const csv = await setup();
    const e = await failure(['predict', '--model', model, '--data', csv, '--out', join(dir, 'no-such-dir', 'p.csv')]);
    expect([e.code, e.message]).toEqual(['FILE_UNWRITABLE', expect.stringMatching(/cannot write .*no-such-dir\/p\.csv: ENOENT; check that its folder exists/)]);
    expect(readdirSync(dir).filter((f) => f.includes('kiln-tmp'))).toEqual([]);
  });
});

describe('kiln gbdt: progress on stderr', () => {
  it('train without --every shows round progress; explain shows rows; reading shows MB', async () => {
    const csv = writeCsv('progress.csv', 500);
    const model = join(dir, 'progress.json');
    const t = await runCli(['train', '--data', csv, '--label', 'y', '--params', few, '--out', model, '--every', '0']);
    expect(t.stderr).toMatch(/gbdt train {2}100\.0% {2}5\/5 rounds/);
    const ex = await runCli(['explain', '--model', model, '--data', csv]);
    expect(ex.stderr).toMatch(/gbdt explain {2}100\.0% {2}500\/500 rows/);
    const file = await NumericFile.open(csv);
    const err: string[] = [];
    const writeErr = process.stderr.write.bind(process.stderr);
    process.stderr.write = ((s: string | Uint8Array) => { err.push(String(s)); return true; }) as typeof process.stderr.write;
    try {
      await readColumns(file, ['x0'], 0);
    } finally {
      process.stderr.write = writeErr;
      file.close();
    }
    expect(err.join('')).toMatch(/read progress\.csv {2}100\.0% .* MB .*500 rows x 1 columns/);
  });

  it('explain reports every block of rows, ending at the total', async () => {
    const d = binaryData(300, 3, 4);
    const b = await train({ features: d.features, label: d.label, featureNames: d.names, params: { objective: 'binary:logistic', n_estimators: 3, nthread: 1 } });
    const seen: [number, number][] = [];
    const e = explain(b, d.features, { onProgress: (done, total) => seen.push([done, total]) });
    expect(seen).toEqual([[64, 300], [128, 300], [192, 300], [256, 300], [300, 300]]);
    expect(Array.from(e.contributions)).toEqual(Array.from(explain(b, d.features).contributions));
  });
});

describe('kiln gbdt predict in blocks of rows', () => {
  it('multi-class outputs past the first block land on their rows (70,000 rows, blocks of 65,536)', async () => {
    const fixture = join(import.meta.dirname, 'fixtures', 'lgb-multiclass.txt');
    const x = Float64Array.from({ length: 70_000 }, (_, i) => (i % 13 === 0 ? NaN : (i % 97) / 97));
    const csv = join(dir, 'multiclass.csv');
    writeFileSync(csv, `x\n${Array.from(x, (v) => (Number.isNaN(v) ? 'NA' : String(v))).join('\n')}\n`);
    const out = join(dir, 'multiclass-p.csv');
    await runCli(['predict', '--model', fixture, '--data', csv, '--out', out]);
    const { fromLightGBMText } = await import('../../src/gbdt/index.js');
    const want = fromLightGBMText(readFileSync(fixture, 'utf8')).predict([x]);
    const lines = readFileSync(out, 'utf8').trim().split('\n');
    expect(lines[0]).toBe('class_0,class_1,class_2');
    expect(lines.slice(1).flatMap((l) => l.split(',').map(Number))).toEqual(Array.from(want));
  });
});

describe('the DuckDB chunk reader (NumericFile)', () => {
  it('reads every numeric type, NULLs and chunk boundaries as DuckDB does, from CSV and Parquet', async () => {
    const csv = join(dir, 'types.csv');
    const parquet = join(dir, 'types.parquet');
    const n = 5000; // three 2048-row chunks, the last one partial
    const lines = ['i,b,d,f,flag,big'];
    for (let i = 0; i < n; i++) lines.push([i, i % 7 === 0 ? 'NA' : i - 2500, i % 11 === 0 ? '' : (i * 0.37).toFixed(2), i % 13 === 0 ? 'NA' : Math.fround(i / 3), i % 2 === 0 ? 'true' : 'false', 2 ** 40 + i].join(','));
    writeFileSync(csv, `${lines.join('\n')}\n`);
    const store = await OfflineStore.open(':memory:');
    let want: unknown[][];
    try {
      await store.run(`COPY (SELECT * FROM read_csv(${quoteLiteral(csv)}, nullstr=['NA', ''])) TO ${quoteLiteral(parquet)} (FORMAT parquet)`);
      want = (await store.con.runAndReadAll(`SELECT CAST(i AS DOUBLE), CAST(b AS DOUBLE), CAST(d AS DOUBLE), CAST(f AS DOUBLE), CAST(flag AS DOUBLE), CAST(big AS DOUBLE) FROM read_csv(${quoteLiteral(csv)}, nullstr=['NA', ''])`)).getColumnsJS() as unknown[][];
    } finally {
      store.close();
    }
    for (const path of [csv, parquet]) {
      const file = await NumericFile.open(path);
      try {
        expect(file.names).toEqual(['i', 'b', 'd', 'f', 'flag', 'big']);
        expect(file.rowId).toBeNull();
        const r = await file.readDoubles(file.names);
        expect(r.rows).toBe(n);
        r.columns.forEach((c, j) => expect(Array.from(c), `${path} column ${file.names[j]}`).toEqual(want[j]!.map((v) => (v === null ? NaN : v))));
        expect(r.columns[1]!.filter(Number.isNaN).length).toBe(Math.ceil(n / 7));
        expect((await file.readDoubles([])).rows).toBe(n);
      } finally {
        file.close();
      }
    }
  });

  it('a cell that is not a number after the sniffed rows names file, line, column and value', async () => {
    const path = join(dir, 'late.csv');
    const lines = ['a,b,y', ...Array.from({ length: 30_000 }, (_, i) => `${i},${i * 0.5},${i % 2}`)];
    lines[25_001] = '25000,abc,1';
    writeFileSync(path, `${lines.join('\n')}\n`);
    const e = await failure(['train', '--data', path, '--label', 'y', '--params', few]);
    expect(e.code).toBe('FILE_INVALID');
    expect(e.message).toMatch(/late\.csv:25002: column 'b' holds 'abc', which is not a number .*--na 'NA,,abc'/);
    expect(e.path?.slice(1)).toEqual([25_002, 'b']);
    // The advice works: 'abc' and empty cells are then missing.
    writeFileSync(path, `${lines.join('\n').replace('1000,500,0', '1000,,0')}\n`);
    const r = await runCli(['train', '--data', path, '--label', 'y', '--params', few, '--na', 'NA,,abc', '--out', join(dir, 'late.json'), '--every', '0']);
    expect(r.stdout).toContain('training binary:logistic on 30.0k rows x 2 features');
  });

  it('maskInvalid turns exactly the 0 bits into NaN (little-endian, a partial last byte)', () => {
    const dst = new Float64Array(13).fill(1);
    maskInvalid(Uint8Array.of(0b1111_1110, 0b0001_0111, 0), 11, dst, 1);
    // Row 0 (bit 0) is missing; rows 8..10 are valid; bit 3 of byte 1 is past m and must be left alone.
    expect(Array.from(dst, (v) => (Number.isNaN(v) ? 0 : 1))).toEqual([1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1]);
    maskInvalid(Uint8Array.of(0b1111_1111, 0b0000_0010), 10, dst, 1);
    expect(Array.from(dst, (v) => (Number.isNaN(v) ? 0 : 1))).toEqual([1, 0, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 1]);
  });

  it('copyDoubles falls back to per-value reads when the vector is not laid out as expected', () => {
    const values = [1.5, null, -2];
    const chunk = { getColumnVector: () => ({ getItem: (i: number) => values[i] }) } as unknown as Parameters<typeof copyDoubles>[0];
    const dst = new Float64Array(4);
    copyDoubles(chunk, 0, 3, dst, 1);
    expect(Array.from(dst)).toEqual([0, 1.5, NaN, -2]);
  });

  it('on the shared give-me-some-credit file: the row-id column is recognised (skipped when absent)', async (ctx) => {
    const path = join(import.meta.dirname, '../../../shared/data/give-me-some-credit/cs-training.csv');
    if (!existsSync(path)) { ctx.skip(`skipped: ${path} is absent`); return; }
    const file = await NumericFile.open(path);
    try {
      expect(file.rowId).toBe(file.names[0]);
      const r = await file.readDoubles([file.names[0]!, 'SeriousDlqin2yrs']);
      expect(r.rows).toBe(150_000);
      expect(r.columns[0]![0]).toBe(1);
      expect(r.columns[0]![149_999]).toBe(150_000);
    } finally {
      file.close();
    }
  });
});
