/**
 * Batch scoring, `kiln score`: a registered version scores a table, a file, or every entity of a file as
 * of one time, with the server's code: the version is loaded by `loadLiveVersion` and scored by the
 * bundle (probability → calibrator → points → declined → reasons); features come from the offline
 * engine that builds training sets, point in time (batch-input.ts), so batch, online and training-time
 * scores of the same inputs are equal.
 *
 * Speed: the input columns are streamed out of DuckDB on a second connection, each DOUBLE vector copied
 * with one memcpy (categorical inputs as text, mapped to their codes), gathered into chunks of
 * `chunkRows` (65,536) and scored column-wise (`ModelBundle.scoreColumnsAsync`, no per-row objects): the
 * trees run on the booster's worker threads while this thread reads the next chunk into a second set of
 * buffers and writes the last one's scores, so DuckDB's reading, the copies and the trees overlap;
 * scores go back through the columnar appender and one COPY writes the output atomically
 * (batch-output.ts). Ctrl-C stops between chunks; nothing is written then. A sequence, fused or imported ONNX version is refused (USAGE, naming the model and what
 * scores it): batch scoring reads columns of scalars, and models reading a lastK feature are scored
 * through `kiln serve` (loading an ONNX version here opens no session: `loadLiveVersion` defers it).
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import { KilnError } from '../core/errors.js';
import { Progress, type ProgressOptions } from '../core/progress.js';
import { parseUtcTime } from '../features/training/index.js';
import { BUNDLE_FORMAT } from '../pipelines/index.js';
import { quoteIdent, readDoubles, type Project } from '../store/index.js';
import { batchSource, type BatchInputOptions, type BatchSource } from './batch-input.js';
import { outputFormat, removeStalePartials, ScoreSink, type OutputFormat } from './batch-output.js';
import { kindText, loadLiveVersion } from './models/live.js';
import type { GbdtLiveVersion } from './types.js';

/** Rows scored at a time (the booster's threads take batches of 65,536 rows or more). */
export const BATCH_CHUNK_ROWS = 65_536;

export interface ScoreBatchOptions extends BatchInputOptions {
  /** The version to score with: 'credit@champion', 'credit@3', 'credit' (the latest). */
  readonly model: string;
  /** The output file: .parquet, or .csv. */
  readonly output: string;
  /** Adverse-action reasons: true for declined rows, 'all' for every row. */
  readonly reasons?: boolean | 'all';
  /** No progress output. */
  readonly quiet?: boolean;
  /** Where progress goes, and how often plain (non-TTY) lines are written. */
  readonly progress?: Pick<ProgressOptions, 'stream' | 'plainIntervalSeconds'>;
  /** Stops between chunks with INTERRUPTED (and interrupts a running query); nothing is written. */
  readonly signal?: AbortSignal;
  readonly chunkRows?: number;
  /**
   * Threads of the booster's predict (default: every core, at least two: nthread - 1 workers score while
   * this thread reads and writes; 1: everything on the calling thread).
   */
  readonly threads?: number;
}

export interface ScoreBatchResult {
  readonly output: string;
  readonly format: OutputFormat;
  readonly model: string;
  readonly version: number;
  readonly ref: string;
  readonly rows: number;
  readonly declined: number;
  /** The whole run, features included. */
  readonly seconds: number;
  /** Reading, scoring and writing (features excluded). */
  readonly scoreSeconds: number;
}

function usage(message: string, path: string): KilnError {
  return new KilnError('USAGE', message, { path: [path] });
}

/** Checks the options; returns the output's absolute path and format, and the as-of time (ISO, UTC). */
function checkOptions(opts: ScoreBatchOptions): { output: string; format: OutputFormat; asOf: string | undefined } {
  if ((opts.spine === undefined) === (opts.entities === undefined)) {
    throw usage(opts.spine === undefined
      ? 'say what to score: --spine TABLE|FILE (rows with an entity key and a time, or the columns of a plain-table model) or --entities FILE (entity ids, scored as of --as-of)'
      : 'give --spine or --entities, not both: a spine gives each row its own time; --entities scores every entity as of one time (--as-of)', opts.spine === undefined ? 'spine' : 'entities');
  }
  if (opts.asOf !== undefined && opts.spine !== undefined) {
    throw usage(`--as-of applies to --entities; with --spine each row is scored as of its own time (its time column${opts.time ? ` '${opts.time}'` : ''})`, 'as-of');
  }
  const format = outputFormat(opts.output);
  if (!format) throw usage(`-o ${opts.output}: write .parquet or .csv`, 'output');
  let asOf: string | undefined;
  if (opts.entities !== undefined) {
    try {
      asOf = opts.asOf === undefined ? new Date().toISOString() : parseUtcTime(opts.asOf, '--as-of');
    } catch (e) {
      throw usage((e as Error).message, 'as-of');
    }
  }
  const chunk = opts.chunkRows ?? BATCH_CHUNK_ROWS;
  if (!Number.isInteger(chunk) || chunk < 1) throw new KilnError('INVALID_ARGUMENT', `chunkRows must be a whole number >= 1; got ${chunk}`);
  return { output: resolve(opts.output), format, asOf };
}

/**
 * Scores rows with a registered version and writes one row of scores per input row, in input order.
 * @example await scoreBatch(project, { model: 'credit@champion', spine: 'applications', output: 'scores.parquet' })
 */
export async function scoreBatch(project: Project, opts: ScoreBatchOptions): Promise<ScoreBatchResult> {
  const started = performance.now();
  const { output, format, asOf } = checkOptions(opts);
  const live = loadLiveVersion(project, opts.model);
  if (live.kind !== 'gbdt') {
    const inCode = live.kind === 'sequence' ? 'SequenceModel.scoreMany' : live.kind === 'fused' ? 'FusedModel.score' : 'OnnxSequenceModel.scoreMany';
    throw new KilnError('USAGE', `${live.ref} is ${live.name} version ${live.version}, ${kindText(live)}: kiln score scores GBDT versions (${BUNDLE_FORMAT} without an encoder) only, from columns of scalars; score a model that reads a lastK feature through kiln serve (POST /v1/models/${live.name}/predict, by entity id or with its '${live.input}' events), or in code with ${inCode}`, { path: ['model'] });
  }
  const log = (line: string): void => { if (!opts.quiet) (opts.progress?.stream ?? process.stderr).write(`score ${live.ref}: ${line}\n`); };
  const stopped = (done: number): KilnError => new KilnError('INTERRUPTED', `scoring interrupted after ${done} rows; ${output} was not written (a file already there is unchanged)`);
  opts.signal?.throwIfAborted();
  mkdirSync(dirname(output), { recursive: true });
  removeStalePartials(output);
  const work = mkdtempSync(join(tmpdir(), 'kiln-score-'));
  let reader: DuckDBConnection | null = null;
  let sink: ScoreSink | null = null;
  const onAbort = (): void => { project.offline.interrupt(); reader?.interrupt(); };
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  let done = 0;
  try {
    const source = await batchSource(project, live, { ...opts, ...(asOf ? { asOf } : {}) }, work, log);
    opts.signal?.throwIfAborted();
    log(`version ${live.version}, ${source.rows} rows (${source.note}) -> ${output}`);
    const scoreStarted = performance.now();
    sink = await ScoreSink.open(project, Boolean(opts.reasons));
    reader = await project.offline.connect();
    // The trees run on nthread - 1 worker threads while this thread reads the next chunk from DuckDB and
    // writes the last one's scores (on two cores: one worker; measured in bench/score.ts).
    const threads = opts.threads ?? Math.max(2, availableParallelism());
    if (threads > 1 && source.rows >= 2 * BATCH_CHUNK_ROWS) await live.bundle.booster.startThreads(threads);
    const progress = new Progress({ label: `score ${live.ref}`, total: source.rows, unit: 'rows', ...(opts.quiet ? { quiet: true } : {}), ...opts.progress });
    try {
      done = await streamScores(reader, source, live, sink, { chunkRows: opts.chunkRows ?? BATCH_CHUNK_ROWS, reasons: opts.reasons ?? false, signal: opts.signal, progress });
      if (opts.signal?.aborted) throw stopped(done);
      const rows = await sink.finish(source, live, output, format);
      progress.finish(`${sink.declined} declined`);
      return {
        output, format, model: live.name, version: live.version, ref: live.ref, rows, declined: sink.declined,
        seconds: (performance.now() - started) / 1000, scoreSeconds: (performance.now() - scoreStarted) / 1000,
      };
    } catch (e) {
      progress.abort();
      throw e;
    }
  } catch (e) {
    if (opts.signal?.aborted && !(e instanceof KilnError && e.code === 'INTERRUPTED')) throw stopped(done);
    throw e;
  } finally {
    opts.signal?.removeEventListener('abort', onAbort);
    reader?.closeSync();
    await sink?.discard();
    await live.bundle.booster.close();
    rmSync(work, { recursive: true, force: true });
  }
}

/** Streams the model inputs of `source`, scores them chunk by chunk into `sink`; returns the rows scored. */
async function streamScores(reader: DuckDBConnection, source: BatchSource, live: GbdtLiveVersion, sink: ScoreSink,
  o: { chunkRows: number; reasons: boolean | 'all'; signal: AbortSignal | undefined; progress: Progress }): Promise<number> {
  const { bundle } = live;
  const names = bundle.booster.featureNames;
  const codes = names.map((_, j) => bundle.categoryCodes(j));
  const select = names.map((n, j) => `CAST(src.${quoteIdent(n)} AS ${codes[j] ? 'VARCHAR' : 'DOUBLE'})`);
  const result = await reader.stream(`SELECT CAST(${source.rowId} AS DOUBLE) AS __r, ${select.join(', ')} FROM ${source.relation} AS src`);
  const size = o.chunkRows;
  // Two sets of buffers: one chunk is scored (on the booster's threads when it has them, the event loop
  // free) while the next is read from DuckDB into the other.
  const bufs = [0, 1].map(() => ({ rowIds: new Float64Array(size), cols: names.map(() => new Float64Array(size)) }));
  let cur = 0;
  let rowIds = bufs[0]!.rowIds;
  let cols = bufs[0]!.cols;
  let filled = 0;
  let done = 0;
  let scoring: Promise<void> | null = null;
  const drain = async (): Promise<void> => { const s = scoring; scoring = null; if (s) await s; };
  const flush = async (): Promise<void> => {
    await drain();
    if (filled === 0 || o.signal?.aborted) return;
    const m = filled;
    const ids = rowIds;
    const part = m === size ? cols : cols.map((c) => c.subarray(0, m));
    const p = bundle.scoreColumnsAsync(part, { reasons: o.reasons }).then((scores) => {
      sink.write(ids, scores, m);
      done += m;
      o.progress.update(done);
    });
    // Marked handled now (it may fail while this thread awaits DuckDB); drain() still rethrows it.
    p.catch(() => undefined);
    scoring = p;
    cur = 1 - cur;
    rowIds = bufs[cur]!.rowIds;
    cols = bufs[cur]!.cols;
    filled = 0;
  };
  const stop = async (): Promise<number> => {
    // A result left half-read keeps the database open after its connection closes: end it.
    reader.interrupt();
    try { while (((await result.fetchChunk())?.rowCount ?? 0) > 0) { /* interrupted: at most one more chunk */ } } catch { /* the interrupt */ }
    return done;
  };
  // The next chunk is fetched (by DuckDB, off this thread) while this one is copied and scored.
  let next: Promise<Chunk | null> | null = result.fetchChunk();
  const settle = async (): Promise<void> => {
    const p = next;
    next = null;
    if (p) await p.catch(() => null);
    await drain().catch(() => null);
  };
  try {
    for (;;) {
      if (o.signal?.aborted) { await settle(); return await stop(); }
      const chunk = await next;
      next = null;
      if (!chunk || chunk.rowCount === 0) break;
      next = result.fetchChunk();
      let at = 0;
      const n = chunk.rowCount;
      while (at < n) {
        // A DuckDB chunk (2,048 rows) may straddle the end of a scoring chunk: copy what fits.
        const take = Math.min(n - at, size - filled);
        copyChunk(chunk, at, take, rowIds, cols, codes, filled);
        filled += take;
        at += take;
        if (filled === size) {
          await flush();
          if (o.signal?.aborted) { await settle(); return await stop(); }
        }
      }
    }
    await flush();
    await drain();
  } catch (e) {
    await settle();
    await stop();
    throw e;
  }
  return done;
}

type Chunk = NonNullable<Awaited<ReturnType<Awaited<ReturnType<DuckDBConnection['stream']>>['fetchChunk']>>>;
const scratch = new Float64Array(4096);

/** Copies rows [at, at + take) of a result chunk into the scoring buffers from `offset` on. */
function copyChunk(chunk: Chunk, at: number, take: number, rowIds: Float64Array, cols: Float64Array[], codes: (ReadonlyMap<string, number> | null)[], offset: number): void {
  const whole = at === 0 && take === chunk.rowCount;
  const doubles = (c: number, out: Float64Array): void => {
    if (whole) { readDoubles(chunk, c, out, offset); return; }
    readDoubles(chunk, c, scratch, 0);
    out.set(scratch.subarray(at, at + take), offset);
  };
  doubles(0, rowIds);
  cols.forEach((col, j) => {
    const map = codes[j];
    if (!map) { doubles(j + 1, col); return; }
    const vec = chunk.getColumnVector(j + 1);
    for (let i = 0; i < take; i++) {
      const v = vec.getItem(at + i);
      col[offset + i] = v === null ? NaN : map.get(String(v)) ?? NaN; // a category unseen in training is missing
    }
  });
}
