/**
 * How fast `kiln gbdt` reads its data files, against pandas.read_csv (/usr/bin/python3) on the same file.
 *
 * Files (bench/out/, gitignored; generated once by DuckDB from a seeded hash, so the same bytes every
 * time): (a) 800,000 rows x 50 float features + a 0/1 label, 5% of cells missing (empty), 6 to 9
 * significant digits; (b) 2,000,000 x 10 of the same kind; (c) file (a) as Parquet (pandas needs
 * pyarrow for Parquet; without it only kiln's figure is shown).
 *
 * For each file, `--repeat` times back to back: kiln's reader (NumericFile.open + readDoubles of every
 * column into Float64Arrays, what every `kiln gbdt` verb does) in a fresh Node process, then
 * pandas.read_csv in a fresh python3 process (each timed inside its process: start-up and imports
 * excluded). The best of the rounds is shown,
 * with the ratio kiln / pandas (below 1: kiln is faster). Then the whole read phase of
 * `kiln gbdt train` (file checks, schema, reading data and label; the "data read in" figure of a
 * one-round training run through bin/kiln.js) on file (a), best of `--repeat`.
 *
 *   npx tsx bench/gbdt-read.ts [--repeat 3] [--scale 1] [--seed 7] [--no-train]
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { NumericFile, OfflineStore, quoteLiteral } from '../src/store/index.js';
import { arg, machine, printTable } from './util.js';

const REPEAT = arg('repeat', 3);
const SCALE = arg('scale', 1);
const SEED = arg('seed', 7);
const PY = '/usr/bin/python3';
const OUT = resolve(import.meta.dirname, 'out');
const KILN = resolve(import.meta.dirname, '../bin/kiln.js');

interface Shape { name: string; rows: number; features: number; parquet?: boolean }

const shapes: Shape[] = [
  { name: 'wide', rows: Math.round(800_000 * SCALE), features: 50 },
  { name: 'long', rows: Math.round(2_000_000 * SCALE), features: 10 },
  { name: 'wide', rows: Math.round(800_000 * SCALE), features: 50, parquet: true },
];

function fileOf(s: Shape): string {
  return join(OUT, `gbdt-read-${s.name}-${s.rows}x${s.features}-seed${SEED}.${s.parquet ? 'parquet' : 'csv'}`);
}

/** Seeded, reproducible data: each cell is a hash of (row, column, seed); 5% of feature cells are missing. */
async function generate(s: Shape): Promise<string> {
  const path = fileOf(s);
  if (existsSync(path)) return path;
  mkdirSync(OUT, { recursive: true });
  const cols = Array.from({ length: s.features }, (_, j) => {
    const digits = 3 + (j % 4) * 2; // 3, 5, 7, 9 decimals: 6-10 significant digits
    return `CASE WHEN hash(i, ${j}, ${SEED}, 1) % 20 = 0 THEN NULL ELSE round((hash(i, ${j}, ${SEED}) % 2000000000)::DOUBLE / 1e6 - 1000, ${digits}) END AS x${j}`;
  });
  const store = await OfflineStore.open(':memory:');
  try {
    const select = `SELECT (hash(i, ${SEED}, 2) % 2)::INTEGER AS y, ${cols.join(', ')} FROM range(${s.rows}) t(i)`;
    const opts = s.parquet ? '(FORMAT parquet)' : "(HEADER, NULLSTR '')";
    await store.run(`COPY (${select}) TO ${quoteLiteral(path)} ${opts}`);
  } finally {
    store.close();
  }
  return path;
}

/** kiln's reader in a fresh process (as pandas gets one), timed inside it: `--child <file>` prints seconds and rows. */
async function childRead(path: string): Promise<void> {
  const t0 = performance.now();
  const file = await NumericFile.open(path);
  try {
    const r = await file.readDoubles(file.names);
    console.log(`${(performance.now() - t0) / 1000} ${r.rows}`);
  } finally {
    file.close();
  }
}

function kilnRead(path: string): { s: number; rows: number } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', import.meta.filename, '--child', path], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`kiln's reader failed on ${path}: ${r.stderr.trim().split('\n').slice(-3).join(' | ')}`);
  const [s, rows] = r.stdout.trim().split(/\s+/).map(Number);
  return { s: s!, rows: rows! };
}

const PANDAS = String.raw`
import sys, time
import pandas
t = time.perf_counter()
d = pandas.read_parquet(sys.argv[1]) if sys.argv[1].endswith('.parquet') else pandas.read_csv(sys.argv[1])
print(time.perf_counter() - t, len(d))
`;

function pandasRead(path: string): { s: number; rows: number } | string {
  const r = spawnSync(PY, ['-c', PANDAS, path], { encoding: 'utf8' });
  if (r.status !== 0) return `skipped (${/parquet/i.test(r.stderr) ? 'pandas here has no Parquet engine: pyarrow or fastparquet' : (r.stderr || r.error?.message || 'failed').trim().split('\n').pop()})`;
  const [s, rows] = r.stdout.trim().split(/\s+/).map(Number);
  return { s: s!, rows: rows! };
}

/** The "data read in" figure of `kiln gbdt train` (one round) on the file. */
function trainReadPhase(path: string): number | string {
  const r = spawnSync(process.execPath, [KILN, 'gbdt', 'train', '--data', path, '--label', 'y', '--out', join(OUT, 'gbdt-read-model.json'), '--every', '0',
    '--params', '{"objective":"binary:logistic","n_estimators":1,"max_depth":2}'], { encoding: 'utf8', maxBuffer: 1 << 24 });
  const m = /data read in ([\d.]+)s/.exec(r.stdout);
  return m ? Number(m[1]) : `failed: ${(r.stderr || r.stdout).trim().split('\n').slice(-2).join(' | ')}`;
}

if (process.argv.includes('--child')) {
  await childRead(process.argv[process.argv.indexOf('--child') + 1]!);
  process.exit(0);
}
const [l1, l5] = loadavg();
console.log(`machine: ${machine()}`);
console.log(`load average before: ${l1!.toFixed(2)} (1 min), ${l5!.toFixed(2)} (5 min)${l1! > 0.5 ? ' - the machine is busy; read the ratios with care' : ''}`);
console.log(`best of ${REPEAT} back-to-back rounds, each reader in a fresh process, timed inside it; kiln: NumericFile.open + readDoubles of every column; pandas ${spawnSync(PY, ['-c', 'import pandas; print(pandas.__version__)'], { encoding: 'utf8' }).stdout.trim() || '(not importable)'}: read_csv / read_parquet, import excluded`);
const rows: (string | number)[][] = [];
for (const s of shapes) {
  const t0 = performance.now();
  const path = await generate(s);
  const mb = statSync(path).size / 1e6;
  process.stderr.write(`${path}: ${mb.toFixed(0)} MB (ready in ${((performance.now() - t0) / 1000).toFixed(1)}s)\n`);
  let kiln = Infinity;
  let pandas: number | string = Infinity;
  for (let r = 0; r < REPEAT; r++) {
    const k = kilnRead(path);
    if (k.rows !== s.rows) throw new Error(`kiln read ${k.rows} rows of ${path}, expected ${s.rows}`);
    kiln = Math.min(kiln, k.s);
    const p = pandasRead(path);
    if (typeof p === 'string') pandas = p;
    else if (typeof pandas === 'number') pandas = Math.min(pandas, p.s);
  }
  rows.push([`${s.rows.toLocaleString('en-US')} x ${s.features + 1} ${s.parquet ? 'Parquet' : 'CSV'}`, mb.toFixed(0), kiln.toFixed(2),
    typeof pandas === 'number' ? pandas.toFixed(2) : '-', typeof pandas === 'number' ? (kiln / pandas).toFixed(2) : pandas]);
}
printTable(['file', 'MB', 'kiln s', 'pandas s', 'kiln / pandas'], rows);
if (!process.argv.includes('--no-train')) {
  const runs = Array.from({ length: REPEAT }, () => trainReadPhase(fileOf(shapes[0]!)));
  const failed = runs.find((r) => typeof r === 'string');
  const secs = runs.filter((r): r is number => typeof r === 'number');
  console.log(`kiln gbdt train, read phase ("data read in") on the ${shapes[0]!.rows.toLocaleString('en-US')} x ${shapes[0]!.features + 1} CSV: ${failed ?? `best ${Math.min(...secs).toFixed(1)}s of ${secs.map((v) => v.toFixed(1)).join(', ')}`}`);
}
