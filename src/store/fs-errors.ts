import { accessSync, constants, existsSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { KilnError } from '../core/errors.js';

/**
 * Low-level failures (Node's errno codes, SQLite's result codes, DuckDB's IO errors) translated at the
 * edge into KilnErrors that name the path and say what to do.
 */

/** A Node fs error (ENOENT, EACCES, EROFS, EISDIR, ...) about `path`, as a KilnError; others unchanged. */
export function fsError(e: unknown, path: string, what: string): unknown {
  const code = (e as NodeJS.ErrnoException)?.code;
  switch (code) {
    case 'ENOENT':
      return new KilnError('FILE_NOT_FOUND', `${what} ${path} does not exist; check the path`, { path: [path], cause: e });
    case 'EISDIR':
      return new KilnError('FILE_UNREADABLE', `${what} ${path} is a directory, not a file; give the file's path`, { path: [path], cause: e });
    case 'ENOTDIR':
      return new KilnError('FILE_NOT_FOUND', `${what} ${path}: a part of the path is a file, not a directory; check the path`, { path: [path], cause: e });
    case 'EACCES':
    case 'EPERM':
      return new KilnError('FILE_UNREADABLE', `${what} ${path}: permission denied; give the user running kiln access to it (ls -l ${path})`, { path: [path], cause: e });
    case 'EROFS':
      return new KilnError('PROJECT_READONLY', `${what} ${path} is on a read-only file system; kiln needs to write there`, { path: [path], cause: e });
    default:
      return e;
  }
}

/** Throws FILE_NOT_FOUND / FILE_UNREADABLE unless `path` is a file this process may read. */
export function assertReadableFile(path: string, what: string): void {
  let isDir: boolean;
  try {
    isDir = statSync(path).isDirectory();
    accessSync(path, constants.R_OK);
  } catch (e) {
    throw fsError(e, path, what);
  }
  if (isDir) throw new KilnError('FILE_UNREADABLE', `${what} ${path} is a directory, not a file; give the file's path`, { path: [path] });
}

/**
 * Throws PROJECT_READONLY unless this process may create and change files in `dir` (and `file`, when it
 * exists): SQLite and DuckDB write journals beside their database files.
 */
export function assertWritable(dir: string, file?: string): void {
  const targets = file && existsSync(file) ? [dir, file] : [dir];
  for (const t of targets) {
    try {
      accessSync(t, constants.W_OK);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') continue;
      throw new KilnError(
        'PROJECT_READONLY',
        `${t} is not writable (${code}); kiln writes its databases and their journals in ${dir}. Run kiln as a user who may write there, or fix the permissions (ls -ld ${t})`,
        { path: [t], cause: e },
      );
    }
  }
}

/** Translates an error of better-sqlite3 about the metadata store at `path`. */
export function sqliteError(e: unknown, path: string): unknown {
  if (e instanceof KilnError) return e;
  const code = String((e as { code?: unknown })?.code ?? '');
  const msg = (e as Error)?.message ?? String(e);
  if (code.startsWith('SQLITE_CORRUPT') || code === 'SQLITE_NOTADB') {
    return new KilnError(
      'META_CORRUPT',
      `the metadata store ${path} is damaged (${msg}). Restore it from a backup (${path}.bak-*), or move it aside and rebuild what can be rebuilt with 'kiln init --repair'`,
      { path: [path], cause: e },
    );
  }
  if (code.startsWith('SQLITE_READONLY')) {
    return new KilnError('PROJECT_READONLY', `the metadata store ${path} is read-only (${msg}); kiln needs write access to it and to ${dirname(path)}`, { path: [path], cause: e });
  }
  if (code.startsWith('SQLITE_CANTOPEN') || code.startsWith('SQLITE_PERM') || code.startsWith('SQLITE_IOERR')) {
    const ro = (() => { try { assertWritable(dirname(path), path); return null; } catch (w) { return w as KilnError; } })();
    if (ro) return new KilnError('PROJECT_READONLY', `cannot open the metadata store ${path}: ${ro.message}`, { path: [path], cause: e });
    return new KilnError('FILE_UNREADABLE', `cannot open the metadata store ${path} (${msg}); check that it is a readable file and that its directory exists`, { path: [path], cause: e });
  }
  if (code === 'SQLITE_BUSY' || code === 'SQLITE_LOCKED') {
    return new KilnError('STORE_BUSY', `the metadata store ${path} stayed locked by another kiln process (${msg}); try again when it is done`, { path: [path], cause: e });
  }
  return e;
}

/** Translates a DuckDB error from opening the offline store at `path` (other than a lock conflict). */
export function duckdbOpenError(e: unknown, path: string): unknown {
  if (e instanceof KilnError) return e;
  const msg = ((e as Error)?.message ?? String(e)).split('\n')[0]!;
  if (/not a valid DuckDB database|Corrupt|checksum|truncated|Failed to read|INTERNAL Error/i.test(msg)) {
    return new KilnError(
      'FILE_UNREADABLE',
      `the offline store ${path} is not a readable DuckDB database (${msg}). It may be damaged: restore it from a backup, or move it aside and re-ingest the tables ('kiln ingest'); meta.sqlite is not affected`,
      { path: [path], cause: e },
    );
  }
  if (/Permission denied|Read-only file system|cannot open file|Cannot open/i.test(msg)) {
    const ro = /Read-only file system/i.test(msg);
    return new KilnError(ro ? 'PROJECT_READONLY' : 'FILE_UNREADABLE', `cannot open the offline store ${path} (${msg}); kiln needs to read and write it and its directory`, { path: [path], cause: e });
  }
  return new KilnError('FILE_UNREADABLE', `cannot open the offline store ${path}: ${msg}`, { path: [path], cause: e });
}

export function isLockConflict(e: unknown): boolean {
  return /Could not set lock|Conflicting lock|database is locked/i.test((e as Error)?.message ?? '');
}
