/**
 * What `kiln gbdt` reads and writes: data files (through DuckDB, into Float64Arrays, with progress for
 * big files), the row-id column of R / pandas CSVs, column names given on the command line, --params,
 * model files, the default objective, and output files (written whole or not at all).
 */
import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import { didYouMean, KilnError, type KilnErrorCode } from '../../core/errors.js';
import { formatCount, Progress } from '../../core/progress.js';
import { loadModelText, type Booster, type GbdtParams } from '../../gbdt/index.js';
import { checkReadable, NUMERIC_TYPE, NumericFile } from '../../store/index.js';

/** Files at least this big show a progress bar (or lines) while DuckDB reads them. */
export const READ_PROGRESS_MIN_BYTES = 16 * 2 ** 20;

/** A line on stderr: what kiln chose for the user, and why. */
export function note(message: string): void {
  process.stderr.write(`${message}\n`);
}

export function list(v: string | undefined): string[] {
  return (v ?? '').split(',').map((s) => s.trim()).filter((s) => s.length > 0);
}

/** --na: comma-separated strings read as missing; an empty entry (as in 'NA,,x') is the empty cell. */
export function naList(v: string | undefined): string[] | undefined {
  return v === undefined ? undefined : [...new Set(v.split(',').map((s) => s.trim()))];
}

export async function openData(path: string, what: string, na: readonly string[] | undefined): Promise<NumericFile> {
  return NumericFile.open(path, { what, ...(na ? { na } : {}) });
}

function columnsHint(file: NumericFile): string {
  const shown = file.names.slice(0, 30).join(', ');
  return file.names.length > 30 ? `${shown}, ... (${file.names.length} columns)` : shown;
}

/**
 * Refuses a name given with `flag` that is not a column of the file, with a did-you-mean hint: a USAGE
 * error for a flag's value, GBDT_DATA_INVALID when the names come from a model or the training file.
 */
export function checkColumns(file: NumericFile, flag: string, names: readonly string[], code: KilnErrorCode = 'USAGE'): void {
  for (const name of names) {
    if (file.names.includes(name)) continue;
    const hint = didYouMean(name, file.names);
    throw new KilnError(code, `${flag} '${name}' is not a column of ${file.path}${hint ? ` (did you mean '${hint}'?)` : ''}; columns: ${columnsHint(file)}`, { path: [flag.replace(/^--/, ''), name], details: { columns: file.names } });
  }
}

/** A file that holds no data rows (GBDT_DATA_INVALID naming it). */
export function noRows(file: NumericFile): KilnError {
  return new KilnError('GBDT_DATA_INVALID', `${file.path}: no data rows (${file.format === 'csv' ? 'a header line alone' : 'an empty table'}); expected at least one row`, { path: [file.path] });
}

/** Refuses text, date and other non-numeric columns among `names`, naming them (a file of no rows says so instead). */
export async function checkNumeric(file: NumericFile, names: readonly string[]): Promise<void> {
  const bad = names.filter((w) => !NUMERIC_TYPE.test(file.typeOf(w) ?? ''));
  if (bad.length === 0) return;
  if (await file.isEmpty()) throw noRows(file);
  const desc = bad.map((b) => `'${b}' (${file.typeOf(b)})`).join(', ');
  const many = bad.length > 1;
  throw new KilnError('GBDT_DATA_INVALID', `${file.path}: column${many ? 's' : ''} ${desc} ${many ? 'are' : 'is'} not numeric; encode categories as integer codes (and pass --categorical) or drop ${many ? 'them' : 'it'} with --drop`, { path: [file.path, bad[0]!] });
}

/** The row-id column of the file, if it has one and the caller did not already drop it; says so on stderr. */
export function rowIdColumn(file: NumericFile, explicitlyDropped: readonly string[] = []): string | null {
  const id = file.rowId;
  if (id === null) return null;
  if (!explicitlyDropped.includes(id)) {
    note(`${id}: ${basename(file.path)} has an unnamed first column (row names, as R's write.csv and pandas' to_csv write them); it is a row id and is not used as a feature`);
  }
  return id;
}

/** Reads the named columns, with progress on stderr for big files. Closes nothing: the caller owns `file`. */
export async function readColumns(file: NumericFile, names: readonly string[], progressMinBytes = READ_PROGRESS_MIN_BYTES): Promise<{ rows: number; columns: Map<string, Float64Array>; seconds: number }> {
  const t0 = performance.now();
  const mb = file.bytes / 1e6;
  const progress = file.bytes >= progressMinBytes ? new Progress({ label: `read ${basename(file.path)}`, total: mb, unit: 'MB' }) : null;
  try {
    const r = await file.readDoubles(names, progress ? (f) => progress.update(f * mb) : undefined);
    progress?.finish(`${formatCount(r.rows)} rows x ${names.length} columns`);
    return { rows: r.rows, columns: new Map(names.map((n, j) => [n, r.columns[j]!])), seconds: (performance.now() - t0) / 1000 };
  } catch (e) {
    progress?.abort();
    throw e;
  }
}

/** --params: JSON text (starting with `{`) or the path of a file holding a JSON object. */
export function readParams(v: string | undefined): GbdtParams {
  if (v === undefined) return {};
  const inline = v.trimStart().startsWith('{');
  let text = v;
  if (!inline) {
    try {
      checkReadable(v, '--params file');
      text = readFileSync(v, 'utf8');
    } catch (e) {
      if (!(e instanceof KilnError)) throw new KilnError('FILE_UNREADABLE', `cannot read --params file ${v}: ${(e as Error).message}`, { path: [v], cause: e });
      throw new KilnError(e.code, `${e.message}; --params takes JSON text starting with '{' or the path of a file holding a JSON object`, { path: ['params', v], cause: e });
    }
  }
  const where = inline ? '--params' : `--params file ${v}`;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new KilnError('USAGE', `${where} is not valid JSON (${(e as Error).message}); give a JSON object such as '{"objective":"binary:logistic","max_depth":6}' or a file holding one`, { path: ['params'] });
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new KilnError('USAGE', `${where} must be a JSON object such as '{"objective":"binary:logistic","max_depth":6}', not ${Array.isArray(parsed) ? 'an array' : JSON.stringify(parsed)}`, { path: ['params'] });
  }
  return parsed as GbdtParams;
}

/** A kiln.gbdt@1, XGBoost JSON or LightGBM text model file. */
export function loadModelFile(path: string): { booster: Booster; source: string } {
  checkReadable(path, 'model file');
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new KilnError('FILE_UNREADABLE', `cannot read model file ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { path: [path], cause: e });
  }
  return loadModelText(text, path);
}

/**
 * The objective when --params names none: binary:logistic for a label holding only 0 and 1 (both),
 * reg:squarederror otherwise. Says on stderr what it chose and why.
 */
export function chooseObjective(labelName: string, label: Float64Array): 'binary:logistic' | 'reg:squarederror' {
  let zeros = 0;
  let ones = 0;
  let other = NaN;
  for (let i = 0; i < label.length; i++) {
    const y = label[i]!;
    if (y === 0) zeros++;
    else if (y === 1) ones++;
    else if (y === y) { other = y; break; }
  }
  if (other !== other && zeros > 0 && ones > 0) {
    note(`objective: binary:logistic (label ${labelName} has only 0 and 1; pass --params to choose another)`);
    return 'binary:logistic';
  }
  const why = other === other ? `has values other than 0 and 1, e.g. ${other}` : `has only the value ${zeros > 0 ? 0 : ones > 0 ? 1 : 'missing'}`;
  note(`objective: reg:squarederror (label ${labelName} ${why}; pass --params to choose another: binary:logistic, multi:softprob, rank:ndcg)`);
  return 'reg:squarederror';
}

/** Writes the whole file or nothing: a temporary file beside it, renamed over it. */
export function writeFileAtomic(path: string, data: string): void {
  const tmp = `${path}.kiln-tmp-${process.pid}`;
  try {
    writeFileSync(tmp, data);
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    const code = (e as NodeJS.ErrnoException).code;
    throw new KilnError('FILE_UNWRITABLE', `cannot write ${path}: ${code ?? (e as Error).message}; check that its folder exists and is writable`, { path: [path], cause: e });
  }
}

/** CSV text of n rows; NaN is an empty cell. */
export function csvText(header: string[], n: number, value: (i: number, j: number) => number): string {
  const lines = [header.map((h) => (/[",\n]/.test(h) ? `"${h.replace(/"/g, '""')}"` : h)).join(',')];
  const cells: string[] = new Array<string>(header.length);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < header.length; j++) { const v = value(i, j); cells[j] = v === v ? String(v) : ''; }
    lines.push(cells.join(','));
  }
  return `${lines.join('\n')}\n`;
}
