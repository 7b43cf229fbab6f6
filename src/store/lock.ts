import { hostname } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { processAlive } from '../core/process.js';

/**
 * Who holds the offline store for writing: a small JSON file beside offline.duckdb, written by the
 * process that opened it read-write and removed when it closes. DuckDB's own file lock is what excludes
 * other processes; this file only lets a waiting command say which process and command it waits for.
 */
export interface LockInfo {
  pid: number;
  host: string;
  command: string;
  since: string;
}

export function lockInfoPath(dbPath: string): string {
  return join(dirname(dbPath), `${basename(dbPath).replace(/\.duckdb$/, '')}.lock.json`);
}

/** The command line of this process, as a person typed it (`kiln train credit`). */
export function currentCommand(): string {
  const [, script, ...args] = process.argv;
  const name = script && /kiln(\.js)?$/.test(script) ? 'kiln' : basename(script ?? 'node');
  return [name, ...args].join(' ');
}

export function writeLockInfo(dbPath: string): void {
  const p = lockInfoPath(dbPath);
  const info: LockInfo = { pid: process.pid, host: hostname(), command: currentCommand(), since: new Date().toISOString() };
  try {
    const tmp = `${p}.tmp-${process.pid}`;
    writeFileSync(tmp, `${JSON.stringify(info)}\n`);
    renameSync(tmp, p);
  } catch {
    // Advisory only: a waiting command then names the pid from DuckDB's message instead.
  }
}

/** Removes the lock info if this process wrote it. */
export function clearLockInfo(dbPath: string): void {
  const info = readLockInfo(dbPath);
  if (info && info.pid === process.pid && info.host === hostname()) rmSync(lockInfoPath(dbPath), { force: true });
}

/** The recorded holder, or null when there is none, it is unreadable, or its process is gone (stale). */
export function readLockInfo(dbPath: string): LockInfo | null {
  let info: LockInfo;
  try {
    info = JSON.parse(readFileSync(lockInfoPath(dbPath), 'utf8')) as LockInfo;
  } catch {
    return null;
  }
  if (typeof info?.pid !== 'number') return null;
  if (info.host === hostname() && !processAlive(info.pid)) return null;
  return info;
}

/** 'pid 123 (kiln train credit, since 12:00:01 UTC)', from the lock info or else DuckDB's message. */
export function describeHolder(dbPath: string, duckdbMessage: string): string {
  const info = readLockInfo(dbPath);
  if (info) return `pid ${info.pid} (${info.command}, since ${info.since.slice(11, 19)} UTC)`;
  const pid = /\(PID (\d+)\)/.exec(duckdbMessage)?.[1];
  return pid ? `pid ${pid}` : 'another process';
}
