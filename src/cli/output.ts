import { KilnError } from '../core/errors.js';
import { exitCode } from '../core/error-codes.js';
import { fsError, lastMetaPath, sqliteError } from '../store/open/index.js';

/**
 * Prints an error for a person: the code and the actionable message. A KilnError never shows a stack
 * unless `debug` (--debug); any other error is a bug in kiln and says so (its stack only with --debug).
 * Returns the exit code: a KilnError's from ERROR_CODES (sysexits classes, docs/errors.md), 64 for a
 * command line commander rejects, 70 for a bug.
 */
export function reportError(thrown: unknown, opts: { debug?: boolean } = {}): number {
  const e = atEdge(thrown);
  if (e instanceof KilnError) {
    process.stderr.write(`error [${e.code}]: ${e.message}\n`);
    if (opts.debug) process.stderr.write(`${stackOf(e)}\n`);
    return exitCode(e);
  }
  const err = e as { code?: string; message?: string; stack?: string };
  if (err?.code?.startsWith?.('commander.')) return 64;
  const first = (err?.message ?? String(e)).split('\n')[0];
  process.stderr.write(`internal error: ${first}\nThis is a bug in kiln; please report it with the command you ran${opts.debug ? '' : ' and the output of the same command with --debug'}.\n`);
  if (opts.debug) process.stderr.write(`${stackOf(e)}\n`);
  return 70;
}

/**
 * The last line of defence: a Node file error (ENOENT, EACCES, EISDIR, EROFS...) that escaped a
 * command names its path, so it is reported as the user's file problem, not as a bug; so does a SQLite
 * error about meta.sqlite (damaged, read-only, locked too long).
 */
function atEdge(e: unknown): unknown {
  if (e instanceof KilnError) return e;
  const err = e as NodeJS.ErrnoException;
  if (typeof err?.code === 'string' && typeof err.path === 'string') return fsError(e, err.path, 'file');
  // better-sqlite3 errors (SQLITE_CORRUPT, SQLITE_BUSY, SQLITE_READONLY...) come from meta.sqlite.
  if (typeof err?.code === 'string' && err.code.startsWith('SQLITE_')) return sqliteError(e, lastMetaPath() ?? 'meta.sqlite');
  return e;
}

/** The stack of an error and of its causes. */
function stackOf(e: unknown): string {
  const parts: string[] = [];
  let cur: unknown = e;
  for (let depth = 0; cur !== undefined && cur !== null && depth < 5; depth++) {
    const c = cur as { stack?: string; cause?: unknown };
    parts.push(`${depth ? 'caused by: ' : ''}${c.stack ?? String(cur)}`);
    cur = c.cause;
  }
  return parts.join('\n');
}

export { formatTable } from './table.js';
