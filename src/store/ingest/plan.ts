import { KilnError, didYouMean } from '../../core/errors.js';
import { COLUMN_TYPES, type ColumnDecl } from '../../config/index.js';
import { quoteIdent, quoteLiteral } from '../sql.js';

export interface IngestSpec {
  table: string;
  decls: ColumnDecl[] | undefined;
  allowExtra: boolean;
  timestamp: string | undefined;
  key: string | undefined;
  /** Parse formats of date/timestamp columns (strptime syntax, epoch_s, epoch_ms), by column. */
  formats: Map<string, string>;
  /** CSV values that load as NULL (always including the empty field). */
  nullValues: string[];
  /** CSV delimiter, when given rather than detected. */
  delimiter: string | undefined;
  /** Name for R's row-name column; undefined drops it. */
  rowNames: string | undefined;
  /** Types of the existing table when appending to it without declared columns: files are read with them. */
  stored: Map<string, string> | undefined;
}

export interface PlannedColumn {
  name: string;
  /** Type in the file as read, or undefined when the column is absent (optional, loads as NULL). */
  fileType: string | undefined;
  targetType: string;
  /** Parse format (date/timestamp columns): the file value is read as text and parsed with it. */
  format?: string;
}

/** A problem row found while loading, with where it is. */
export interface BadRow {
  where: string;
  column?: string;
  problem: string;
  text?: string;
}

/**
 * Decides the stored columns for one file: declared columns must be present (unless optional), undeclared
 * ones are refused unless allowed, the timestamp column is a UTC TIMESTAMP.
 */
export function planColumns(file: string, fileCols: { name: string; type: string }[], spec: IngestSpec): PlannedColumn[] {
  const names = fileCols.map((c) => c.name);
  const dupes = names.filter((n, i) => names.indexOf(n) !== i);
  if (dupes.length) throw new KilnError('INGEST_BAD_FORMAT', `${file}: the header names column '${dupes[0]}' more than once`, { path: [file] });
  for (const [what, col] of [['--timestamp', spec.timestamp], ['--key', spec.key]] as const) {
    if (col !== undefined && !names.includes(col) && !spec.decls?.some((d) => d.name === col)) {
      const hint = didYouMean(col, names);
      throw new KilnError('INGEST_MISSING_COLUMNS', `${file}: ${what} column '${col}' is not in the file (columns: ${names.join(', ')})${hint ? `; did you mean '${hint}'?` : ''}`, { path: [file, col] });
    }
  }
  if (!spec.decls) {
    return fileCols.map((c) => withFormat(spec, {
      name: c.name,
      fileType: c.type,
      targetType: spec.stored?.get(c.name) ?? (c.name === spec.timestamp ? 'TIMESTAMP' : normaliseType(c.type)),
    }));
  }
  const missing = spec.decls.filter((d) => d.required && !names.includes(d.name));
  if (missing.length) {
    throw new KilnError(
      'INGEST_MISSING_COLUMNS',
      `${file}: required column${missing.length > 1 ? 's' : ''} ${missing.map((d) => `'${d.name}'`).join(', ')} ${missing.length > 1 ? 'are' : 'is'} missing (the file has: ${names.join(', ')}). ` +
        `Add ${missing.length > 1 ? 'them' : 'it'} to the file, or mark ${missing.length > 1 ? 'them' : 'it'} { required: false } in the config of table '${spec.table}'.`,
      { path: [file, missing[0]!.name], details: missing.map((d) => d.name) },
    );
  }
  const declared = new Set(spec.decls.map((d) => d.name));
  const extra = fileCols.filter((c) => !declared.has(c.name));
  if (extra.length && !spec.allowExtra) {
    throw new KilnError(
      'INGEST_UNKNOWN_COLUMNS',
      `${file}: column${extra.length > 1 ? 's' : ''} ${extra.map((c) => `'${c.name}'`).join(', ')} ${extra.length > 1 ? 'are' : 'is'} not declared for table '${spec.table}' ` +
        `(declared: ${[...declared].join(', ')}). Declare ${extra.length > 1 ? 'them' : 'it'}, or set allowExtraColumns: true.`,
      { path: [file, extra[0]!.name] },
    );
  }
  const out: PlannedColumn[] = spec.decls.map((d) => withFormat(spec, {
    name: d.name,
    fileType: fileCols.find((c) => c.name === d.name)?.type,
    targetType: COLUMN_TYPES[d.type],
  }));
  for (const c of extra) out.push({ name: c.name, fileType: c.type, targetType: normaliseType(c.type) });
  return out;
}

function withFormat(spec: IngestSpec, c: PlannedColumn): PlannedColumn {
  const format = spec.formats.get(c.name);
  if (format === undefined || c.fileType === undefined) return c;
  if (c.targetType !== 'TIMESTAMP' && c.targetType !== 'DATE') {
    throw new KilnError('INGEST_BAD_OPTION', `column '${c.name}' has a time format ('${format}') but its type is ${c.targetType}; a format applies to date and timestamp columns`, { path: [c.name] });
  }
  return { ...c, format };
}

/** Formats that are not strptime patterns. */
export const EPOCH_FORMATS = ['epoch_s', 'epoch_ms'] as const;

const MAX_EPOCH_S = 253_402_300_800;

/** A text value parsed with a format; NULL when it does not fit. */
function parseExpr(text: string, format: string, target: string): string {
  let ts: string;
  // Out-of-range epochs (past year 9999) are bad values, not DuckDB errors.
  if (format === 'epoch_s') ts = `(to_timestamp(CASE WHEN abs(TRY_CAST(${text} AS DOUBLE)) < ${MAX_EPOCH_S} THEN TRY_CAST(${text} AS DOUBLE) END) AT TIME ZONE 'UTC')`;
  else if (format === 'epoch_ms') ts = `epoch_ms(CASE WHEN abs(TRY_CAST(${text} AS BIGINT)) < ${MAX_EPOCH_S * 1000} THEN TRY_CAST(${text} AS BIGINT) END)`;
  else if (/%[zZ]/.test(format)) ts = `(try_strptime(${text}, ${quoteLiteral(format)}) AT TIME ZONE 'UTC')`;
  else ts = `try_strptime(${text}, ${quoteLiteral(format)})`;
  return target === 'DATE' ? `${ts}::DATE` : ts;
}

/** TIMESTAMPTZ is stored as a UTC TIMESTAMP: kiln has one time axis. */
function normaliseType(t: string): string {
  return t === 'TIMESTAMP WITH TIME ZONE' ? 'TIMESTAMP' : t;
}

/** The SELECT expression that turns a file column into its stored column. */
export function columnExpr(c: PlannedColumn): string {
  const id = quoteIdent(c.name);
  if (c.fileType === undefined) return `NULL::${c.targetType} AS ${id}`;
  if (c.format !== undefined) return `${parseExpr(`${id}::VARCHAR`, c.format, c.targetType)} AS ${id}`;
  if (c.fileType === c.targetType) return id;
  if (c.fileType === 'TIMESTAMP WITH TIME ZONE' && c.targetType === 'TIMESTAMP') return `(${id} AT TIME ZONE 'UTC') AS ${id}`;
  if (c.targetType === 'TIMESTAMP') return `(TRY_CAST(${id} AS TIMESTAMPTZ) AT TIME ZONE 'UTC') AS ${id}`;
  return `TRY_CAST(${id} AS ${c.targetType}) AS ${id}`;
}

/** The condition under which a non-NULL file value fails its conversion. */
export function castFails(c: PlannedColumn): string | undefined {
  if (c.fileType === undefined) return undefined;
  if (c.format !== undefined) return `${quoteIdent(c.name)} IS NOT NULL AND ${parseExpr(`${quoteIdent(c.name)}::VARCHAR`, c.format, c.targetType)} IS NULL`;
  if (c.fileType === c.targetType) return undefined;
  if (c.fileType === 'TIMESTAMP WITH TIME ZONE' && c.targetType === 'TIMESTAMP') return undefined;
  const id = quoteIdent(c.name);
  const target = c.targetType === 'TIMESTAMP' ? 'TIMESTAMPTZ' : c.targetType;
  return `${id} IS NOT NULL AND TRY_CAST(${id} AS ${target}) IS NULL`;
}

export function badRowsError(file: string, table: string, total: number, rows: BadRow[]): KilnError {
  const lines = rows.map((r) => `  ${r.where}${r.column ? `, column '${r.column}'` : ''}: ${r.problem}${r.text !== undefined ? `\n      ${r.text.length > 200 ? `${r.text.slice(0, 197)}...` : r.text}` : ''}`);
  const more = total > rows.length ? `\n  ... and ${total - rows.length} more` : '';
  return new KilnError(
    'INGEST_BAD_ROWS',
    `${file}: ${total} bad row${total === 1 ? '' : 's'}; nothing was loaded (table '${table}' is unchanged):\n${lines.join('\n')}${more}`,
    { path: [file], details: rows },
  );
}
