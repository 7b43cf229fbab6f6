import { execFile, execFileSync } from 'node:child_process';
import { chmodSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KilnError } from '../../src/core/errors.js';
import { reportError } from '../../src/cli/output.js';
import { tempDir, write } from '../helpers.js';

const BIN = resolve(import.meta.dirname, '../../bin/kiln.js');
const run = promisify(execFile);

/** Runs kiln, as root or (asUser) as an unprivileged user, for whom file permissions apply. */
async function kiln(args: string[], cwd: string, asUser?: string): Promise<{ code: number; stdout: string; stderr: string }> {
  const [cmd, argv] = asUser
    ? ['setpriv', ['--reuid', asUser, '--regid', asUser === 'nobody' ? NOGROUP : asUser, '--clear-groups', process.execPath, BIN, ...args]]
    : [process.execPath, [BIN, ...args]];
  try {
    const { stdout, stderr } = await run(cmd, argv as string[], { cwd, env: { ...process.env, NO_COLOR: '1' } });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}

/** Whether we can run a child as 'nobody': permissions mean nothing to root (chmod 000 does not block it). */
function canDropPrivileges(): boolean {
  try {
    execFileSync('setpriv', ['--reuid', 'nobody', '--regid', NOGROUP, '--clear-groups', 'true'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
const NOGROUP = (() => { try { return execFileSync('id', ['-gn', 'nobody'], { encoding: 'utf8' }).trim(); } catch { return 'nogroup'; } })();
const ASUSER = process.getuid?.() === 0 && canDropPrivileges();
if (!ASUSER) console.warn('skipping the permission tests: they need root and setpriv to run kiln as the user nobody (as root, chmod does not block reads)');

const noStack = (s: string): void => { expect(s).not.toMatch(/\n\s+at .+:\d+:\d+\)?\n/); };

describe('errors from user input are KilnErrors naming the file, without a stack', () => {
  let dir: string;
  let cleanup: () => void;
  beforeAll(async () => {
    ({ dir, cleanup } = tempDir('kiln-errors-'));
    chmodSync(dir, 0o755);
    expect((await kiln(['init', 'proj'], dir)).code).toBe(0);
  }, 60_000);
  afterAll(() => cleanup());

  it.runIf(ASUSER)('a config file the user may not read: FILE_UNREADABLE', async () => {
    const root = join(dir, 'proj');
    chmodSync(join(root, 'kiln.config.ts'), 0o000);
    try {
      const r = await kiln(['runs', 'list'], root, 'nobody');
      expect(r.code).toBe(66);
      expect(r.stderr).toContain(`error [FILE_UNREADABLE]: the project config ${join(root, 'kiln.config.ts')}: permission denied`);
      noStack(r.stderr);
    } finally {
      chmodSync(join(root, 'kiln.config.ts'), 0o644);
    }
  });

  it.runIf(ASUSER)('a project directory the user may not write to: PROJECT_READONLY naming it', async () => {
    const root = join(dir, 'proj');
    // Readable by all, writable by root only: read-only for 'nobody'.
    execFileSync('chmod', ['-R', 'a+rX,go-w', root]);
    const r = await kiln(['models', 'list'], root, 'nobody');
    expect(r.code).toBe(77);
    expect(r.stderr).toContain(`error [PROJECT_READONLY]: ${join(root, '.kiln')} is not writable (EACCES)`);
    noStack(r.stderr);
    const init = await kiln(['init', 'inside'], root, 'nobody');
    expect(init.code).toBe(77);
    expect(init.stderr).toContain(`error [PROJECT_READONLY]: cannot create the project in ${join(root, 'inside')} (EACCES)`);
    noStack(init.stderr);
  });

  it.runIf(ASUSER)('a data file given to a command that the user may not read: FILE_UNREADABLE naming it', async () => {
    const root = join(dir, 'proj');
    const file = write(root, 'secret.csv', 'id,x\n1,2\n');
    chmodSync(file, 0o000);
    execFileSync('chmod', ['-R', 'a+rwX', join(root, '.kiln')]);
    chmodSync(root, 0o777);
    const r = await kiln(['ingest', 'secret', 'secret.csv'], root, 'nobody');
    expect(r.code).toBe(66);
    expect(r.stderr).toContain(`error [FILE_UNREADABLE]: file ${file}: permission denied`);
    noStack(r.stderr);
  });

  it('a corrupt or truncated meta.sqlite: META_CORRUPT; --debug adds the stack', async () => {
    const root = join(dir, 'corrupt');
    expect((await kiln(['init', root], dir)).code).toBe(0);
    const metaDb = join(root, '.kiln', 'meta.sqlite');
    truncateSync(metaDb, Math.floor(readFileSync(metaDb).length / 3));
    rmSync(`${metaDb}-wal`, { force: true });
    const r = await kiln(['runs', 'list'], root);
    expect(r.code).toBe(74);
    expect(r.stderr).toContain(`error [META_CORRUPT]: the metadata store ${metaDb} is damaged`);
    noStack(r.stderr);
    const d = await kiln(['--debug', 'runs', 'list'], root);
    expect(d.stderr).toContain('error [META_CORRUPT]');
    expect(d.stderr).toMatch(/KilnError: the metadata store[\s\S]*\n\s+at /);
    expect(d.stderr).toMatch(/caused by: SqliteError/);
  });

  it('a deleted meta.sqlite beside data: META_MISSING, then init --repair brings the tables back', async () => {
    const root = join(dir, 'lost');
    expect((await kiln(['init', root], dir)).code).toBe(0);
    write(root, 'tx.csv', 'id,ts\n1,2024-01-01\n2,2024-01-02\n');
    expect((await kiln(['ingest', 'tx', 'tx.csv'], root)).code).toBe(0);
    for (const f of ['meta.sqlite', 'meta.sqlite-wal', 'meta.sqlite-shm']) rmSync(join(root, '.kiln', f), { force: true });
    const r = await kiln(['tables'], root);
    expect(r.code).toBe(72);
    expect(r.stderr).toContain(`error [META_MISSING]: the metadata store ${join(root, '.kiln', 'meta.sqlite')} is missing, but the project has data (1 table in`);
    expect(r.stderr).toContain("'kiln init --repair'");
    const fix = await kiln(['init', '--repair'], root);
    expect(fix.code).toBe(0);
    expect(fix.stdout).toContain('1 table: tx; 1 ingest batch');
    expect(fix.stdout).toContain('not recovered:');
    expect((await kiln(['tables'], root)).stdout).toMatch(/^tx\s+2\s/m);
  });

  it('a missing file given to a command: FILE_NOT_FOUND or the command\'s own code, never internal', async () => {
    const r = await kiln(['--project', join(dir, 'lost'), 'ingest', 'tx', join(dir, 'nope.csv')], dir);
    expect(r.code).toBe(66);
    expect(r.stderr).toMatch(/^error \[[A-Z_]+\]: .*nope\.csv/m);
    expect(r.stderr).not.toContain('internal error');
  });

  it('--wait-timeout must be a number of seconds', async () => {
    const r = await kiln(['--wait-timeout', 'soon', 'tables'], join(dir, 'lost'));
    expect(r.code).toBe(64);
    expect(r.stderr).toContain('error [USAGE]: --wait-timeout soon: expected a number of seconds');
  });
});

describe('reportError', () => {
  function capture(fn: () => number): { code: number; text: string } {
    const write = process.stderr.write.bind(process.stderr);
    let text = '';
    process.stderr.write = ((s: string) => { text += s; return true; }) as typeof process.stderr.write;
    try {
      return { code: fn(), text };
    } finally {
      process.stderr.write = write;
    }
  }

  it('shows a KilnError without a stack, and its stack with --debug', () => {
    const e = new KilnError('FILE_NOT_FOUND', 'x.csv does not exist');
    expect(capture(() => reportError(e))).toEqual({ code: 66, text: 'error [FILE_NOT_FOUND]: x.csv does not exist\n' });
    expect(capture(() => reportError(e, { debug: true })).text).toMatch(/^error \[FILE_NOT_FOUND\]: x.csv does not exist\nKilnError: x.csv does not exist\n\s+at /);
  });

  it('calls anything else a bug in kiln, with the stack only under --debug', () => {
    const e = new TypeError('cannot read properties of undefined');
    const plain = capture(() => reportError(e));
    expect(plain.code).toBe(70);
    expect(plain.text).toContain('internal error: cannot read properties of undefined\nThis is a bug in kiln');
    noStack(plain.text);
    expect(capture(() => reportError(e, { debug: true })).text).toMatch(/TypeError: cannot read properties of undefined\n\s+at /);
  });

  it('turns a Node file error that escaped a command into a KilnError naming the path', () => {
    const e = Object.assign(new Error("EACCES: permission denied, open '/data/x.csv'"), { code: 'EACCES', path: '/data/x.csv' });
    expect(capture(() => reportError(e)).text).toBe('error [FILE_UNREADABLE]: file /data/x.csv: permission denied; give the user running kiln access to it (ls -l /data/x.csv)\n');
    const dirErr = Object.assign(new Error('EISDIR'), { code: 'EISDIR', path: '/data' });
    expect(capture(() => reportError(dirErr)).text).toContain('error [FILE_UNREADABLE]: file /data is a directory');
  });

  it('turns a SQLite error that escaped a command into a KilnError about meta.sqlite', () => {
    const e = Object.assign(new Error('database disk image is malformed'), { code: 'SQLITE_CORRUPT' });
    const out = capture(() => reportError(e));
    expect(out.code).toBe(74);
    expect(out.text).toMatch(/^error \[META_CORRUPT\]: the metadata store \S*meta\.sqlite is damaged \(database disk image is malformed\)/);
    const busy = Object.assign(new Error('database is locked'), { code: 'SQLITE_BUSY' });
    expect(capture(() => reportError(busy))).toEqual({ code: 75, text: expect.stringContaining('error [STORE_BUSY]: the metadata store') });
  });
});

