import { randomUUID } from 'node:crypto';
import { KilnError, isKilnError } from '../../core/errors.js';
import { Progress, formatCount } from '../../core/progress.js';
import { DEFAULT_NULL_VALUES, columnDecls, type ColumnDecl, type FileFormat } from '../../config/index.js';
import type { OfflineStore } from '../offline.js';
import type { Project } from '../project.js';
import { quoteIdent, quoteLiteral } from '../sql.js';
import { checkAppendSchema, checkKeyUniqueAcross, checkKeyUniqueInFile, checkNulls } from './checks.js';
import { detectFormat, expandInputs, hashFile, type InputFile } from './files.js';
import { loadFile, type FileStage } from './load.js';
import { EPOCH_FORMATS, type IngestSpec } from './plan.js';

export interface IngestOptions {
  table: string;
  /** Files or globs, relative to `cwd`. */
  inputs: string[];
  format?: FileFormat;
  timestamp?: string;
  /** Parse format of the timestamp column: DuckDB strptime syntax ('%d/%m/%Y %H:%M'), or epoch_s / epoch_ms. */
  timestampFormat?: string;
  key?: string;
  /** CSV values that load as NULL; replaces the table's list and the default (DEFAULT_NULL_VALUES). */
  nullValues?: string[];
  /** CSV delimiter (one character, or 'tab'); by default it is detected from the header line. */
  delimiter?: string;
  /** Keep R's row-name column (an empty first header field) under this name; by default it is dropped. */
  rowNames?: string;
  mode?: 'append' | 'replace';
  /** Ingest even content that was already ingested into this table. */
  force?: boolean;
  cwd?: string;
  signal?: AbortSignal;
  /** Show progress (a bar on a TTY, lines otherwise); false for silence. */
  progress?: boolean;
}

export interface IngestResult {
  table: string;
  mode: 'append' | 'replace';
  files: { path: string; rows: number; bytes: number }[];
  skipped: { path: string; ingestedAt: string; ingestId: number }[];
  rowsAdded: number;
  tableRows: number;
  seconds: number;
  /** How files were read where the user should know (e.g. R's row-name column dropped). */
  notes: string[];
}

/** Files smaller than this load in well under a second: no progress output for them. */
const PROGRESS_MIN_BYTES = 8 << 20;

const TABLE_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * Loads files into an offline-store table, all or nothing: every file is loaded into a staging table
 * and validated (types, parse errors, NULLs, key uniqueness, schema fit) before one transaction appends
 * or swaps it in. A failure or interruption leaves the table exactly as it was.
 */
export async function ingest(project: Project, opts: IngestOptions): Promise<IngestResult> {
  const started = performance.now();
  const store = project.offline;
  const mode = opts.mode ?? 'append';
  if (!TABLE_NAME.test(opts.table) || opts.table.startsWith('__kiln')) {
    throw new KilnError('INGEST_BAD_OPTION', `table name '${opts.table}' is not allowed: use letters, digits and _, not starting with a digit or '__kiln'`);
  }
  if (mode !== 'append' && mode !== 'replace') throw new KilnError('INGEST_BAD_OPTION', `--mode ${String(mode)}: expected append or replace`);
  const declared = project.config.tables[opts.table];
  const registered = project.meta.getTable(opts.table);
  const decls = declared ? columnDecls(declared) : undefined;
  const timestamp = agree('timestamp', opts.timestamp, declared?.timestamp, mode === 'append' ? registered?.timestampColumn : undefined);
  const exists = await store.tableExists(opts.table);
  const spec: IngestSpec = {
    table: opts.table,
    decls,
    allowExtra: declared?.allowExtraColumns ?? true,
    timestamp,
    key: agree('key', opts.key, declared?.key, mode === 'append' ? registered?.keyColumn : undefined),
    formats: await timeFormats(store, decls, timestamp, opts.timestampFormat),
    nullValues: opts.nullValues ?? declared?.nullValues ?? [...DEFAULT_NULL_VALUES],
    delimiter: agree('delimiter', opts.delimiter, declared?.delimiter, undefined),
    rowNames: agree('row-names', opts.rowNames, declared?.rowNames, undefined),
    // Appending without declared columns: the file is read with the table's types, so a bad value is
    // reported with its line rather than as a column of another type.
    stored: exists && mode === 'append' && !decls ? await storedTypes(project, opts.table) : undefined,
  };
  const files = await expandInputs(store, opts.inputs, opts.cwd ?? process.cwd());
  if (files.length === 0) throw new KilnError('INGEST_NO_FILES', 'no input files given');
  const formats = files.map((f) => detectFormat(f, opts.format ?? declared?.format));

  const hashed: InputFile[] = [];
  for (const f of files) hashed.push(await hashFile(f));
  const skipped: IngestResult['skipped'] = [];
  const todo: { file: InputFile; format: FileFormat }[] = [];
  const seen = new Set<string>();
  hashed.forEach((file, i) => {
    if (seen.has(file.hash)) return; // the same content twice in one glob is loaded once
    seen.add(file.hash);
    const prior = mode === 'append' && !opts.force ? project.meta.findIngestedContent(opts.table, file.hash) : undefined;
    if (prior) skipped.push({ path: file.path, ingestedAt: prior.finishedAt ?? prior.startedAt, ingestId: prior.id });
    else todo.push({ file, format: formats[i]! });
  });
  if (todo.length === 0) {
    return { table: opts.table, mode, files: [], skipped, rowsAdded: 0, tableRows: exists ? await count(project, opts.table) : 0, seconds: (performance.now() - started) / 1000, notes: [] };
  }
  const notes: string[] = [];

  const stages: FileStage[] = [];
  const onAbort = (): void => store.interrupt();
  opts.signal?.addEventListener('abort', onAbort);
  const batchId = randomUUID();
  let logged = false;
  try {
    for (const { file, format } of todo) {
      if (opts.signal?.aborted) throw interrupted(opts.table);
      const stage = store.stagingName(opts.table);
      const progress = opts.progress === false || file.bytes < PROGRESS_MIN_BYTES ? undefined : new Progress({ label: `ingest ${shortName(file.path)}`, total: file.bytes / 1e6, unit: 'MB', plainIntervalSeconds: 5 });
      let bytesPerRow = 0;
      const fileStart = performance.now();
      const rowRate = (rows: number): string => `${formatCount(rows / Math.max(1e-3, (performance.now() - fileStart) / 1000))} rows/s`;
      try {
        const s = await loadFile(store, file.path, format, spec, stage, {
          onProgress: (f) => progress?.update((f * file.bytes) / 1e6, bytesPerRow ? `~${rowRate((f * file.bytes) / bytesPerRow)}` : undefined),
          bytesPerRowHint: (b) => { bytesPerRow = b; },
          note: (text) => notes.push(text),
        });
        stages.push(s);
        await checkNulls(store, s, spec);
        await checkKeyUniqueInFile(store, s, spec);
        if (exists && mode === 'append') await checkAppendSchema(store, s, spec);
        if (stages.length > 1) checkSameColumns(stages[0]!, s);
        progress?.finish(`${formatCount(s.rows)} rows  ${rowRate(s.rows)}`);
      } catch (e) {
        progress?.abort();
        if (!stages.some((s) => s.table === stage)) await store.dropIfExists(stage);
        throw e;
      }
    }
    await checkKeyUniqueAcross(store, stages, spec, exists && mode === 'append' ? opts.table : undefined);
    if (opts.signal?.aborted) throw interrupted(opts.table);

    project.meta.beginIngest(todo.map(({ file }) => ({ tableName: opts.table, mode, filePath: file.path, fileHash: file.hash, fileBytes: file.bytes, batchId })));
    logged = true;
    await commit(project, stages, opts.table, mode, exists, batchId);
    const rowsByFile = new Map(stages.map((s) => [s.file, s.rows]));
    project.meta.finishIngest(batchId, 'done', rowsByFile);
    project.meta.upsertTable({ name: opts.table, timestampColumn: spec.timestamp ?? null, keyColumn: spec.key ?? null, source: 'ingest', description: declared?.description ?? null });
    return {
      table: opts.table,
      mode,
      files: stages.map((s) => ({ path: s.file, rows: s.rows, bytes: todo.find((t) => t.file.path === s.file)!.file.bytes })),
      skipped,
      rowsAdded: stages.reduce((a, s) => a + s.rows, 0),
      tableRows: await count(project, opts.table),
      seconds: (performance.now() - started) / 1000,
      notes,
    };
  } catch (e) {
    if (logged) project.meta.finishIngest(batchId, 'failed', new Map(), e instanceof Error ? e.message : String(e));
    if (opts.signal?.aborted && !isKilnError(e)) throw interrupted(opts.table);
    throw e;
  } finally {
    opts.signal?.removeEventListener('abort', onAbort);
    for (const s of stages) await store.dropIfExists(s.table);
  }
}

/** Appends the staged rows, or swaps them in, in one DuckDB transaction that also records the batch. */
async function commit(project: Project, stages: FileStage[], table: string, mode: 'append' | 'replace', exists: boolean, batchId: string): Promise<void> {
  const store = project.offline;
  const t = quoteIdent(table);
  await store.run(`CREATE TABLE IF NOT EXISTS __kiln_ingest_batches (batch_id VARCHAR PRIMARY KEY, table_name VARCHAR, committed_at TIMESTAMP)`);
  await store.transaction(async () => {
    const cols = stages[0]!.columns.map((c) => quoteIdent(c.name)).join(', ');
    if (mode === 'replace' || !exists) {
      await store.run(`DROP TABLE IF EXISTS ${t}`);
      await store.run(`ALTER TABLE ${quoteIdent(stages[0]!.table)} RENAME TO ${t}`);
      for (const s of stages.slice(1)) await store.run(`INSERT INTO ${t} (${cols}) SELECT ${cols} FROM ${quoteIdent(s.table)}`);
    } else {
      for (const s of stages) await store.run(`INSERT INTO ${t} (${cols}) SELECT ${cols} FROM ${quoteIdent(s.table)}`);
    }
    await store.run(`INSERT INTO __kiln_ingest_batches VALUES (${quoteLiteral(batchId)}, ${quoteLiteral(table)}, now()::TIMESTAMP)`);
  });
}

function checkSameColumns(first: FileStage, s: FileStage): void {
  const a = first.columns.map((c) => `${c.name} ${c.targetType}`).join(', ');
  const b = s.columns.map((c) => `${c.name} ${c.targetType}`).join(', ');
  if (a !== b) {
    throw new KilnError('INGEST_SCHEMA_MISMATCH', `${s.file} has different columns from ${first.file} in the same ingest:\n  ${first.file}: ${a}\n  ${s.file}: ${b}\nIngest them separately or declare the table's columns in kiln.config.ts.`, { path: [s.file] });
  }
}

function agree(what: string, cli: string | undefined, config: string | undefined, registered: string | null | undefined): string | undefined {
  if (cli !== undefined && config !== undefined && cli !== config) {
    throw new KilnError('INGEST_BAD_OPTION', `--${what} ${cli} disagrees with the config, which declares ${what}: '${config}'`);
  }
  if (cli !== undefined && registered && cli !== registered) {
    throw new KilnError('INGEST_BAD_OPTION', `--${what} ${cli} disagrees with the table, whose ${what} column is '${registered}'; use --mode replace to change it`);
  }
  return cli ?? config ?? registered ?? undefined;
}

/** Parse formats by column: declared ones, and --timestamp-format for the timestamp column; each is checked. */
async function timeFormats(store: OfflineStore, decls: ColumnDecl[] | undefined, timestamp: string | undefined, tsFormat: string | undefined): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const d of decls ?? []) if (d.format !== undefined) out.set(d.name, d.format);
  if (tsFormat !== undefined) {
    if (timestamp === undefined) throw new KilnError('INGEST_BAD_OPTION', '--timestamp-format needs a timestamp column: pass --timestamp COL too');
    const declaredFormat = out.get(timestamp);
    if (declaredFormat !== undefined && declaredFormat !== tsFormat) {
      throw new KilnError('INGEST_BAD_OPTION', `--timestamp-format '${tsFormat}' disagrees with the config, which declares format '${declaredFormat}' for column '${timestamp}'`);
    }
    out.set(timestamp, tsFormat);
  }
  for (const [col, f] of out) {
    if ((EPOCH_FORMATS as readonly string[]).includes(f)) continue;
    if (!f.includes('%')) throw badFormat(col, f, 'it has no % specifier');
    try {
      await store.all(`SELECT try_strptime('', ${quoteLiteral(f)}) AS t`);
    } catch (e) {
      throw badFormat(col, f, (e as Error).message.split('\n')[0]!.replace(/^Invalid Input Error: /, ''));
    }
  }
  return out;
}

function badFormat(col: string, f: string, why: string): KilnError {
  return new KilnError('INGEST_BAD_OPTION', `time format '${f}' of column '${col}' is not valid: ${why}. Use DuckDB's strptime syntax (e.g. '%Y-%m-%d', '%d/%m/%Y %H:%M', '%y%m%d') or epoch_s / epoch_ms`, { path: [col] });
}

async function storedTypes(project: Project, table: string): Promise<Map<string, string>> {
  const rows = await project.offline.all<{ column_name: string; column_type: string }>(`DESCRIBE ${quoteIdent(table)}`);
  return new Map(rows.map((r) => [r.column_name, r.column_type]));
}

function interrupted(table: string): KilnError {
  return new KilnError('INTERRUPTED', `ingest interrupted; table '${table}' is unchanged`);
}

async function count(project: Project, table: string): Promise<number> {
  const r = await project.offline.all<{ n: number }>(`SELECT count(*)::BIGINT AS n FROM ${quoteIdent(table)}`);
  return r[0]!.n;
}

function shortName(p: string): string {
  const parts = p.split('/');
  return parts[parts.length - 1] ?? p;
}
