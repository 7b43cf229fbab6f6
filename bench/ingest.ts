/**
 * Ingest throughput: kiln's validated, transactional ingest of CSV and Parquet against DuckDB's own
 * read_csv / read_parquet into a table, on the same files in the same run. Usage:
 *   npx tsx bench/ingest.ts [--rows 5000000]
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OfflineStore, Project, ingest, initProject } from '../src/store/index.js';
import { arg, machine, printTable } from './util.js';

const rows = arg('rows', 5_000_000);
const dir = mkdtempSync(join(tmpdir(), 'kiln-bench-ingest-'));

async function timed<T>(fn: () => Promise<T>): Promise<[T, number]> {
  const t0 = performance.now();
  const out = await fn();
  return [out, (performance.now() - t0) / 1000];
}

try {
  console.log(`kiln ingest benchmark: ${rows.toLocaleString()} rows; machine: ${machine()}`);
  const gen = await OfflineStore.open(':memory:');
  const csv = join(dir, 'tx.csv');
  const parquet = join(dir, 'tx.parquet');
  const data = `SELECT i AS txn_id, (i * 7919) % 100000 AS borrower_id, TIMESTAMP '2024-01-01' + to_seconds(i * 3) AS ts,
      round(((i * 2654435761) % 100000) / 100.0, 2) AS amount, 'cat_' || (i % 12) AS category, (i % 3 = 0) AS online
    FROM range(${rows}) t(i)`;
  await gen.run(`COPY (${data}) TO '${csv}' (HEADER)`);
  await gen.run(`COPY (${data}) TO '${parquet}' (FORMAT parquet)`);
  gen.close();

  const results: (string | number)[][] = [];
  for (const [format, file] of [['csv', csv], ['parquet', parquet]] as const) {
    const mb = statSync(file).size / 1e6;
    // DuckDB's own reader into a table in a fresh database file: the yardstick.
    const duck = await OfflineStore.open(join(dir, `duck-${format}.duckdb`));
    const reader = format === 'csv' ? `read_csv('${file}')` : `read_parquet('${file}')`;
    const [, duckSecs] = await timed(() => duck.run(`CREATE TABLE t AS SELECT * FROM ${reader}`));
    duck.close();

    for (const variant of ['inferred', 'timestamp+key'] as const) {
      const root = join(dir, `${format}-${variant}`);
      await initProject(root);
      const project = await Project.open({ project: root });
      const [r, secs] = await timed(() => ingest(project, {
        table: 'tx', inputs: [file], progress: false,
        ...(variant === 'timestamp+key' ? { timestamp: 'ts', key: 'txn_id' } : {}),
      }));
      project.close();
      if (r.tableRows !== rows) throw new Error(`expected ${rows} rows, got ${r.tableRows}`);
      results.push([format, variant, mb.toFixed(0), secs.toFixed(2), (mb / secs).toFixed(0), (rows / secs / 1e6).toFixed(2), duckSecs.toFixed(2), (mb / duckSecs).toFixed(0), (duckSecs / secs).toFixed(2)]);
    }
  }
  printTable(['format', 'kiln ingest', 'MB', 'kiln s', 'kiln MB/s', 'kiln M rows/s', 'duckdb s', 'duckdb MB/s', 'kiln/duckdb speed'], results);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
