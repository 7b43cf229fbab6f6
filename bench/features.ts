/**
 * Point-in-time training set: 100,000 spine rows x 20 windowed features over 10,000,000 events
 * (100,000 entities, two years), on DuckDB with 2 threads. Target: <= 5 s. Also times a single 30-day
 * sum for reference, with engine 'auto' (the default; SQL at these widths) and with the band kernel forced.
 * The wide case (issue 15): the 1,818 columns of bench/wide-shape.ts (360 features, 18 windows from 1 to
 * 730 days, by 11 categories and 4 channels) for the same spine: target <= 60 s, with peak RSS.
 * With --alternatives 1 it also times the SQL strategies kiln does not use (docs/features.md).
 *   npx tsx bench/features.ts [--events N] [--entities N] [--spine N] [--threads N] [--wide 0|1] [--wide-sql-windows N] [--alternatives 1]
 */
import { buildTrainingSet } from '../src/features/training/index.js';
import { count, countDistinct, entity, eventSource, featureSet, max, mean, min, sum, type AnyFeatureDef } from '../src/features/index.js';
import { Project, initProject } from '../src/store/index.js';
import { tempDir } from '../test/helpers.js';
import { arg, machine, printTable } from './util.js';
import { WIDE_WINDOWS, wideDefinitions, wideColumnCount } from './wide-shape.js';

const EVENTS = arg('events', 10_000_000);
const ENTITIES = arg('entities', 100_000);
const SPINE = arg('spine', 100_000);
const THREADS = arg('threads', 2);
const TARGET_S = 5;
const ALTERNATIVES = arg('alternatives', 0) === 1;
const WIDE = arg('wide', 1) === 1;
/** The SQL engine on the wide shape takes minutes: it is timed on this many of the 18 windows (0: not at all). */
const WIDE_SQL_WINDOWS = arg('wide-sql-windows', 1);
const WIDE_TARGET_S = 60;

const borrower = entity('borrower', { key: 'borrower_id' });
const txns = eventSource('transactions', {
  entity: borrower, timestamp: 'ts', columns: { amount: 'double', merchant_id: 'bigint', category: 'varchar' },
});
const w = ['7d', '30d', '90d', '365d'] as const;
const features: AnyFeatureDef[] = [
  ...w.map((window) => sum(txns, 'amount', { name: `spend_${window}`, window })),
  ...w.map((window) => count(txns, { name: `count_${window}`, window })),
  ...(['30d', '90d', '365d'] as const).map((window) => mean(txns, 'amount', { name: `mean_${window}`, window })),
  ...w.map((window) => max(txns, 'amount', { name: `max_${window}`, window })),
  ...(['30d', '90d', '365d'] as const).map((window) => min(txns, 'amount', { name: `min_${window}`, window })),
  ...(['30d', '90d'] as const).map((window) => countDistinct(txns, 'merchant_id', { name: `merchants_${window}`, window })),
];
const bench20 = featureSet('bench20', features);
const single = featureSet('single', [features[1]!]);
const definitions = [borrower, txns, ...features, bench20, single];
const wideDefs = wideDefinitions();

/** Peak resident memory while `fn` runs, sampled every 50 ms (DuckDB's memory is in the process). */
async function peakRss<T>(fn: () => Promise<T>): Promise<{ value: T; peakMb: number }> {
  let peak = process.memoryUsage().rss;
  const timer = setInterval(() => { peak = Math.max(peak, process.memoryUsage().rss); }, 50);
  try {
    const value = await fn();
    peak = Math.max(peak, process.memoryUsage().rss);
    return { value, peakMb: peak / 2 ** 20 };
  } finally {
    clearInterval(timer);
  }
}

const { dir, cleanup } = tempDir('kiln-bench-features-');
try {
  await initProject(dir);
  const project = await Project.open({ project: dir, threads: THREADS });
  try {
    const t0 = performance.now();
    const cats = `['grocery','fuel','restaurants','travel','electronics','online_retail','utilities','pharmacy','entertainment','gambling','cash_advance']`;
    await project.offline.run(`CREATE TABLE transactions AS SELECT
        ((i * 2654435761) % ${ENTITIES})::BIGINT AS borrower_id,
        TIMESTAMP '2024-01-01' + to_microseconds((hash(i) % (730 * 86400 * 1000000::UBIGINT))::BIGINT) AS ts,
        (((i * 40503) % 100000) / 100.0)::DOUBLE AS amount,
        ((i * 7919) % 500)::BIGINT AS merchant_id,
        (${cats})[1 + (i * 31) % 11] AS category,
        (['pos','contactless','online','atm'])[1 + (hash(i + 3) % 4)::BIGINT] AS channel
      FROM range(${EVENTS}) r(i)`);
    await project.offline.run(`CREATE TABLE spine AS SELECT i AS row_id, ((i * 48271) % ${ENTITIES})::BIGINT AS borrower_id,
        TIMESTAMP '2024-06-01' + to_microseconds((hash(i + 7) % (500 * 86400 * 1000000::UBIGINT))::BIGINT) AS ts, (i % 7 = 0) AS label
      FROM range(${SPINE}) r(i)`);
    await project.offline.run("CHECKPOINT");
    console.log(`generated ${EVENTS.toLocaleString()} events and ${SPINE.toLocaleString()} spine rows in ${((performance.now() - t0) / 1000).toFixed(1)}s`);

    type Engine = 'auto' | 'bands' | 'sql';
    const run = async (set: string, engine: Engine, out?: string, defs: unknown[] = definitions): Promise<number> => {
      const s = await buildTrainingSet(project, { spine: { table: 'spine', timestamp: 'ts' }, features: set, definitions: defs, engine, table: `out_${set}`, ...(out ? { out } : {}) });
      return s.seconds;
    };
    await run('single', 'sql'); // warm-up: first touch of the tables
    const rows: (string | number)[][] = [];
    const best = async (label: string, set: string, engine: Engine, out?: string): Promise<number> => {
      const times = [await run(set, engine, out), await run(set, engine, out), await run(set, engine, out)];
      const t = Math.min(...times);
      rows.push([label, engine, t.toFixed(2), (t / TARGET_S).toFixed(2), times.map((x) => x.toFixed(2)).join(' / ')]);
      return t;
    };
    await best('single 30-day sum', 'single', 'auto');
    await best('single 30-day sum', 'single', 'bands');
    const t20 = await best('20 windowed features', 'bench20', 'auto');
    const t20bands = await best('20 windowed features', 'bench20', 'bands');
    await best('20 features + Parquet write', 'bench20', 'auto', `${dir}/train.parquet`);
    const wideRows: (string | number)[][] = [];
    let tWide = NaN;
    if (WIDE) {
      const cols = wideColumnCount();
      const w = await peakRss(() => run('wide', 'auto', undefined, wideDefs));
      tWide = w.value;
      wideRows.push([`${cols.toLocaleString('en-US')} columns`, 'auto (bands)', tWide.toFixed(1), (tWide / WIDE_TARGET_S).toFixed(2), w.peakMb.toFixed(0)]);
      const wp = await peakRss(() => run('wide', 'auto', `${dir}/wide.parquet`, wideDefs));
      wideRows.push([`${cols.toLocaleString('en-US')} columns + Parquet write`, 'auto (bands)', wp.value.toFixed(1), (wp.value / WIDE_TARGET_S).toFixed(2), wp.peakMb.toFixed(0)]);
      if (WIDE_SQL_WINDOWS > 0) {
        const windows = WIDE_WINDOWS.slice(0, WIDE_SQL_WINDOWS);
        const defs = wideDefinitions(windows);
        const n = wideColumnCount(windows);
        const tb = await run('wide', 'bands', undefined, defs);
        const ts = await peakRss(() => run('wide', 'sql', undefined, defs));
        wideRows.push([`${n} columns (${windows.join(', ')})`, 'bands', tb.toFixed(1), '', '']);
        wideRows.push([`${n} columns (${windows.join(', ')})`, 'sql', ts.value.toFixed(1), '', ts.peakMb.toFixed(0)]);
        wideRows.push([`  sql / bands on ${n} columns`, '', (ts.value / tb).toFixed(1), '', '']);
      }
    }
    if (ALTERNATIVES) {
      const time = async (label: string, sql: string): Promise<void> => {
        const t1 = performance.now();
        await project.offline.run(sql);
        const t = (performance.now() - t1) / 1000;
        rows.push([label, 'sql', t.toFixed(2), (t / TARGET_S).toFixed(2), '1 run']);
      };
      const win = (w: number): string => `OVER (PARTITION BY borrower_id ORDER BY ts RANGE BETWEEN INTERVAL ${w} DAY PRECEDING AND INTERVAL 1 MICROSECOND PRECEDING)`;
      const frames = [7, 30, 90, 365].flatMap((d) => [`sum(amount) ${win(d)}`, `count(amount) ${win(d)}`, `avg(amount) ${win(d)}`, `max(amount) ${win(d)}`, `min(amount) ${win(d)}`]);
      await time('alt: union + RANGE window frames (20)', `CREATE OR REPLACE TEMP TABLE alt1 AS WITH u AS (
          SELECT borrower_id, ts, NULL::BIGINT AS row_id, amount FROM transactions UNION ALL SELECT borrower_id, ts, row_id, NULL FROM spine)
        SELECT row_id, ${frames.map((f, i) => `${f} AS f${i}`).join(', ')} FROM u QUALIFY row_id IS NOT NULL`);
      const probes = ['SELECT borrower_id, ts, row_id, 0 AS w FROM spine', ...[7, 30, 90, 365].map((d) => `SELECT borrower_id, ts - INTERVAL ${d} DAY, row_id, ${d} FROM spine`)].join(' UNION ALL ');
      await time('alt: prefix sums over probes (8: sum+count)', `CREATE OR REPLACE TEMP TABLE alt2 AS WITH u AS (
          SELECT borrower_id, ts, 1 AS kind, NULL::BIGINT AS row_id, NULL::INT AS w, amount, 1 AS one FROM transactions
          UNION ALL SELECT borrower_id, ts, 0, row_id, w, NULL, NULL FROM (${probes})),
        c AS (SELECT row_id, w, sum(amount) OVER o AS cs, sum(one) OVER o AS cn FROM u
          WINDOW o AS (PARTITION BY borrower_id ORDER BY ts, kind ROWS UNBOUNDED PRECEDING) QUALIFY row_id IS NOT NULL)
        SELECT row_id, ${[7, 30, 90, 365].map((d) => `max(cs) FILTER (w = 0) - max(cs) FILTER (w = ${d}), max(cn) FILTER (w = 0) - max(cn) FILTER (w = ${d})`).join(', ')} FROM c GROUP BY row_id`);
      await time('alt: cumulative sums + 2 ASOF joins (1 sum)', `CREATE OR REPLACE TEMP TABLE cum AS SELECT borrower_id, ts, sum(amount) OVER (PARTITION BY borrower_id ORDER BY ts ROWS UNBOUNDED PRECEDING) AS cs FROM transactions;
        CREATE OR REPLACE TEMP TABLE alt3 AS SELECT s.row_id, coalesce(a.cs, 0) - coalesce(b.cs, 0) AS spend_30d FROM spine s
          ASOF LEFT JOIN cum a ON a.borrower_id = s.borrower_id AND a.ts < s.ts ASOF LEFT JOIN cum b ON b.borrower_id = s.borrower_id AND b.ts < s.ts - INTERVAL 30 DAY`);
    }
    console.log(`\n${machine()}; DuckDB threads=${THREADS}\n`);
    printTable(['training set', 'engine', 'best s', 'ratio to 5 s target', 'runs'], rows);
    console.log(`\n20 windowed features: ${t20.toFixed(2)} s with engine 'auto' (SQL at this width), ${t20bands.toFixed(2)} s with the band kernel; ${(t20 / TARGET_S).toFixed(2)} x the ${TARGET_S} s target (${t20 <= TARGET_S ? 'met' : 'MISSED'})`);
    if (WIDE) {
      console.log(`\nwide (issue 15): ${SPINE.toLocaleString('en-US')} spine rows over ${EVENTS.toLocaleString('en-US')} events\n`);
      printTable(['training set', 'engine', 's', 'ratio to 60 s target', 'peak RSS MB'], wideRows);
      console.log(`\n${wideColumnCount()} columns: ${tWide.toFixed(1)} s = ${(tWide / WIDE_TARGET_S).toFixed(2)} x the ${WIDE_TARGET_S} s target (${tWide <= WIDE_TARGET_S ? 'met' : 'MISSED'})`);
    }
  } finally {
    project.close();
  }
} finally {
  cleanup();
}
