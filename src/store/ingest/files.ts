import { createHash } from 'node:crypto';
import { createReadStream, existsSync, openSync, readSync, closeSync, statSync } from 'node:fs';
import { extname, resolve } from 'node:path';
import { KilnError } from '../../core/errors.js';
import { FILE_FORMATS, type FileFormat } from '../../config/index.js';
import type { OfflineStore } from '../offline.js';
import { quoteLiteral } from '../sql.js';

export interface InputFile {
  path: string;
  bytes: number;
  hash: string;
}

const EXTENSIONS: Record<string, FileFormat> = {
  '.csv': 'csv', '.tsv': 'csv', '.txt': 'csv',
  '.parquet': 'parquet', '.pq': 'parquet',
  '.ndjson': 'ndjson', '.jsonl': 'ndjson', '.json': 'ndjson',
};

/** Expands file paths and globs (DuckDB's glob syntax: *, **, ?, [..]) into a sorted file list. */
export async function expandInputs(store: OfflineStore, patterns: string[], cwd: string): Promise<string[]> {
  const out = new Set<string>();
  for (const pattern of patterns) {
    const abs = resolve(cwd, pattern);
    if (!/[*?[]/.test(pattern)) {
      if (!existsSync(abs)) throw new KilnError('INGEST_NO_FILES', `${pattern}: no such file`, { path: [pattern] });
      if (statSync(abs).isDirectory()) throw new KilnError('INGEST_NO_FILES', `${pattern} is a directory; give a file or a glob such as '${pattern}/*.csv'`, { path: [pattern] });
      out.add(abs);
      continue;
    }
    const rows = await store.all<{ file: string }>(`SELECT file FROM glob(${quoteLiteral(abs)}) ORDER BY file`);
    if (rows.length === 0) throw new KilnError('INGEST_NO_FILES', `${pattern}: the glob matches no files`, { path: [pattern] });
    for (const r of rows) out.add(r.file);
  }
  return [...out].sort();
}

export function detectFormat(file: string, explicit: FileFormat | undefined): FileFormat {
  if (explicit) {
    if (!FILE_FORMATS.includes(explicit)) throw new KilnError('INGEST_BAD_OPTION', `--format ${String(explicit)}: expected one of ${FILE_FORMATS.join(', ')}`);
    return explicit;
  }
  const f = EXTENSIONS[extname(file).toLowerCase()];
  if (!f) {
    throw new KilnError('INGEST_BAD_FORMAT', `${file}: cannot tell the format from the extension '${extname(file)}'; pass --format ${FILE_FORMATS.join('|')}`, { path: [file] });
  }
  return f;
}

export async function hashFile(path: string): Promise<InputFile> {
  const h = createHash('sha256');
  let bytes = 0;
  await new Promise<void>((res, rej) => {
    createReadStream(path, { highWaterMark: 1 << 20 })
      .on('data', (chunk) => { h.update(chunk as Buffer); bytes += (chunk as Buffer).length; })
      .on('end', () => res())
      .on('error', rej);
  });
  return { path, bytes, hash: h.digest('hex') };
}

export interface CsvHeader {
  delimiter: string;
  columns: string[];
  /** Average bytes per line over the first block, to estimate rows from bytes for progress. */
  bytesPerLine: number;
}

/**
 * Reads the header line of a CSV file. The delimiter is the one of , ; tab | that splits the header
 * into the most fields (ragged data rows cannot mislead this, unlike sniffing whole rows).
 */
export function readCsvHeader(path: string, delimiter?: string): CsvHeader | undefined {
  const fd = openSync(path, 'r');
  const buf = Buffer.alloc(1 << 16);
  let n: number;
  try { n = readSync(fd, buf, 0, buf.length, 0); } finally { closeSync(fd); }
  let text = buf.subarray(0, n).toString('utf8');
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  const nl = text.indexOf('\n');
  const first = (nl >= 0 ? text.slice(0, nl) : text).replace(/\r$/, '');
  if (first.trim() === '') return undefined;
  const lines = Math.max(1, text.split('\n').length - 1);
  const delim = delimiter ?? [',', ';', '\t', '|'].map((d) => ({ d, n: splitCsvLine(first, d).length })).sort((a, b) => b.n - a.n)[0]!.d;
  return { delimiter: delim, columns: splitCsvLine(first, delim).map((c) => c.trim()), bytesPerLine: n / lines };
}

function splitCsvLine(line: string, delim: string): string[] {
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
