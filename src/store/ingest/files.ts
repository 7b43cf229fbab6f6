import { createHash } from 'node:crypto';
import { createReadStream, existsSync, statSync } from 'node:fs';
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
  // A compressed file (.csv.gz, .ndjson.gz) has the format of its inner extension.
  const inner = /\.gz$/i.test(file) ? file.slice(0, -3) : file;
  const f = EXTENSIONS[extname(inner).toLowerCase()];
  if (!f || (inner !== file && f === 'parquet')) {
    const ext = inner !== file ? `${extname(inner)}.gz` : extname(file);
    throw new KilnError('INGEST_BAD_FORMAT', `${file}: cannot tell the format from the extension '${ext}'; pass --format ${FILE_FORMATS.join('|')}`, { path: [file] });
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
