import { closeSync, openSync, readSync } from 'node:fs';
import { constants, gunzipSync } from 'node:zlib';
import { KilnError } from '../../core/errors.js';

/** Delimiters detected from the header line, in order of preference on a tie. */
export const KNOWN_DELIMITERS = [',', ';', '\t', '|'] as const;
/**
 * Characters that are not detected as delimiters but give a file away as delimited when its header has
 * none of the known ones: a header `loan_id:funded_at:amount` is three columns, not one.
 */
const LIKELY_DELIMITERS = [':', '^', '~'];
/** Data lines looked at when deciding whether a one-column header is really one column. */
const SAMPLE_LINES = 50;

/** Name a row-name column gets while it is read (it is dropped unless the ingest names it). */
export const ROW_NAMES_COLUMN = '__kiln_row_names';

export interface CsvHeader {
  delimiter: string;
  /** Column names as they will be stored: R's row-name column is ROW_NAMES_COLUMN or the name given. */
  columns: string[];
  /** True when the first header field was empty (R's write.csv row names). */
  rowNames: boolean;
  /** Average bytes of the file (compressed, when it is) per line over the first block, for progress. */
  bytesPerLine: number;
}

export interface SniffOptions {
  /** An explicit delimiter (one character, or 'tab'): no detection, no one-column check. */
  delimiter?: string | undefined;
  /** Keeps R's row-name column under this name; by default it is dropped. */
  rowNames?: string | undefined;
}

/** True for gzip content (by its magic bytes, whatever the extension). */
export function isGzip(path: string): boolean {
  const head = readBlock(path, 2);
  return head.length === 2 && head[0] === 0x1f && head[1] === 0x8b;
}

function readBlock(path: string, size: number): Buffer {
  const fd = openSync(path, 'r');
  const buf = Buffer.alloc(size);
  let n: number;
  try { n = readSync(fd, buf, 0, size, 0); } finally { closeSync(fd); }
  return buf.subarray(0, n);
}

/** The first block of a file as text, decompressed when it is gzip; a UTF-8 byte-order mark is removed. */
function firstText(path: string): { text: string; bytes: number } {
  const raw = readBlock(path, 1 << 16);
  let buf = raw;
  if (raw.length >= 2 && raw[0] === 0x1f && raw[1] === 0x8b) {
    try {
      buf = gunzipSync(raw, { finishFlush: constants.Z_SYNC_FLUSH });
    } catch (e) {
      throw new KilnError('INGEST_BAD_FORMAT', `${path}: the file starts like gzip but does not decompress: ${(e as Error).message}`, { path: [path], cause: e });
    }
  }
  let text = buf.toString('utf8');
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  return { text, bytes: raw.length };
}

export function delimiterChar(d: string): string {
  return d === 'tab' || d === '\\t' ? '\t' : d;
}

function show(d: string): string {
  return d === '\t' ? 'tab' : `'${d}'`;
}

/**
 * Reads and checks the header line of a CSV file (plain or gzip). The delimiter is the one of , ; tab |
 * that splits the header into the most fields (ragged data rows cannot mislead this, unlike sniffing whole
 * rows). A header that none of them splits is one column only if it has no likely delimiter (: ^ ~) and no
 * data line among the first 50 has , ; tab or | outside quotes; otherwise the file is refused, naming the
 * line, unless the delimiter is given. Empty and repeated header names are refused, except an empty first
 * name: R's row-name column.
 */
export function readCsvHeader(path: string, opts: SniffOptions = {}): CsvHeader | undefined {
  const { text, bytes } = firstText(path);
  const lines = text.split('\n');
  const first = lines[0]!.replace(/\r$/, '');
  if (first.trim() === '') return undefined;
  const bytesPerLine = bytes / Math.max(1, lines.length - 1);
  let delimiter: string;
  if (opts.delimiter !== undefined) {
    delimiter = delimiterChar(opts.delimiter);
    if (delimiter.length !== 1) throw new KilnError('INGEST_BAD_OPTION', `delimiter ${JSON.stringify(opts.delimiter)}: expected one character, or 'tab'`);
  } else {
    const best = KNOWN_DELIMITERS.map((d) => ({ d, n: splitCsvLine(first, d).length })).sort((a, b) => b.n - a.n)[0]!;
    delimiter = best.d;
    if (best.n === 1) checkOneColumn(path, first, lines.slice(1, SAMPLE_LINES + 1));
  }
  const names = splitCsvLine(first, delimiter).map((c) => c.trim());
  const rowNames = names.length > 1 && names[0] === '';
  if (rowNames) names[0] = opts.rowNames ?? ROW_NAMES_COLUMN;
  const empty = names.findIndex((n) => n === '');
  if (empty >= 0) {
    throw new KilnError('INGEST_BAD_FORMAT', `${path}: line 1: field ${empty + 1} of the header is empty; give every column a name (only the first may be empty: R's row names)`, { path: [path, 1] });
  }
  for (let i = 0; i < names.length; i++) {
    const j = names.indexOf(names[i]!, i + 1);
    if (j >= 0) {
      throw new KilnError(
        'INGEST_BAD_FORMAT',
        `${path}: line 1: the header names column '${names[i]}' twice (fields ${i + 1} and ${j + 1}); rename one of them in the file${rowNames && i === 0 ? ' or choose another --row-names' : ''}`,
        { path: [path, 1, names[i]!] },
      );
    }
  }
  return { delimiter, columns: names, rowNames, bytesPerLine };
}

function checkOneColumn(path: string, header: string, sample: string[]): void {
  const hint = (d: string): string => `pass --delimiter ${d === '\t' ? 'tab' : `'${d}'`} (or delimiter: '${d === '\t' ? 'tab' : d}' for the table in kiln.config.ts)`;
  const outside = outsideQuotes(header);
  const likely = LIKELY_DELIMITERS.find((d) => outside.includes(d));
  if (likely) {
    throw new KilnError(
      'INGEST_BAD_FORMAT',
      `${path}: line 1: the header ${JSON.stringify(header.length > 80 ? `${header.slice(0, 77)}...` : header)} has none of the delimiters , ; tab | but has ${show(likely)}, ` +
        `so the file would load as one column; if ${show(likely)} is the delimiter, ${hint(likely)}; if the file really has one column, pass --delimiter ','`,
      { path: [path, 1] },
    );
  }
  for (let i = 0; i < sample.length; i++) {
    const line = outsideQuotes(sample[i]!.replace(/\r$/, ''));
    const d = KNOWN_DELIMITERS.find((k) => line.includes(k));
    if (d) {
      throw new KilnError(
        'INGEST_BAD_FORMAT',
        `${path}: line ${i + 2} has ${show(d)} outside quotes but the header (line 1) is one column with no delimiter; ` +
          `check the header, or ${hint(d)} if that is right`,
        { path: [path, i + 2] },
      );
    }
  }
}

/** The text of a CSV line with quoted parts removed. */
function outsideQuotes(line: string): string {
  return line.replace(/"(?:[^"]|"")*"?/g, '');
}

export function splitCsvLine(line: string, delim: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i]!;
    if (quoted) {
      if (ch === '"' && line[i + 1] === '"') { cur += '"'; i++; } else if (ch === '"') quoted = false; else cur += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === delim) { out.push(cur); cur = ''; } else cur += ch;
  }
  out.push(cur);
  return out;
}
