/**
 * One writer per decision log: `writer.lock` in the log's folder holds the writer's pid, host, command
 * and start time. It is created with O_EXCL; when it exists and names a process of this host that is no
 * longer alive, it is stale (a killed server) and is taken over: removed, created again with O_EXCL, and
 * read back to check that this process won a race with another one taking it over at the same time.
 * Readers never take it.
 */
import { open, readFile, unlink } from 'node:fs/promises';
import { hostname } from 'node:os';
import { basename, join } from 'node:path';
import { KilnError } from '../../core/errors.js';
import { processAlive } from '../../core/process.js';

export const LOCK_FILE = 'writer.lock';

export interface WriterLockInfo {
  readonly pid: number;
  readonly host: string;
  readonly command: string;
  readonly since: string;
}

export interface WriterLock {
  readonly path: string;
  /** The stale lock taken over, if any. */
  readonly tookOver: WriterLockInfo | null;
  release(): Promise<void>;
}

async function readLock(path: string): Promise<WriterLockInfo | null> {
  try {
    const v = JSON.parse(await readFile(path, 'utf8')) as WriterLockInfo;
    return typeof v?.pid === 'number' ? v : null;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    return { pid: -1, host: '?', command: '?', since: '?' }; // unreadable or half written: see below
  }
}

function command(): string {
  const [, script, ...args] = process.argv;
  return [basename(script ?? 'node'), ...args].join(' ');
}

async function create(path: string, me: WriterLockInfo): Promise<boolean> {
  try {
    const fh = await open(path, 'wx');
    try { await fh.writeFile(`${JSON.stringify(me)}\n`); await fh.sync(); } finally { await fh.close(); }
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw new KilnError('DECISION_LOG_INVALID', `cannot create the decision log's lock ${path}: ${(e as Error).message}. Check that the folder exists and kiln may write there`, { path: [path], cause: e });
  }
}

/** Takes the writer's lock of the log in `dir`, or refuses (DECISION_LOG_INVALID) while another live process holds it. */
export async function lockWriter(dir: string): Promise<WriterLock> {
  const path = join(dir, LOCK_FILE);
  const me: WriterLockInfo = { pid: process.pid, host: hostname(), command: command(), since: new Date().toISOString() };
  let tookOver: WriterLockInfo | null = null;
  for (let attempt = 0; attempt < 3; attempt++) {
    if (await create(path, me)) {
      const back = await readLock(path);
      if (back?.pid === me.pid && back.since === me.since) {
        return { path, tookOver, release: async () => { const cur = await readLock(path); if (cur?.pid === me.pid && cur.since === me.since) await unlink(path).catch(() => undefined); } };
      }
      continue; // another process took over the same stale lock at the same moment: look again
    }
    const holder = await readLock(path);
    if (holder === null) continue; // removed meanwhile
    if (holder.pid === -1) {
      throw new KilnError('DECISION_LOG_INVALID', `the decision log's lock ${path} is unreadable. If no kiln server is running on this project, remove the file and start again`, { path: [path] });
    }
    const stale = holder.host === me.host && holder.pid !== process.pid && !processAlive(holder.pid);
    if (!stale) {
      const who = holder.pid === process.pid ? 'this process already has it open' : `pid ${holder.pid} on ${holder.host} (${holder.command}, since ${holder.since}) writes it`;
      throw new KilnError('DECISION_LOG_INVALID',
        `the decision log ${dir} has a writer already: ${who}. One server writes a project's decisions at a time: stop the other server, or serve from another project` +
        (holder.host === me.host ? '' : `; if that server on ${holder.host} is gone, remove ${path}`), { path: [path], details: holder });
    }
    tookOver = holder;
    await unlink(path).catch(() => undefined);
  }
  throw new KilnError('DECISION_LOG_INVALID', `could not take the decision log's lock ${path}: other processes keep taking it. Start one server at a time`, { path: [path] });
}
