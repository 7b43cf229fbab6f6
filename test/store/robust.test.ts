import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { KilnError } from '../../src/core/errors.js';
import { listRuns, getRun, ModelRegistry, Tracker } from '../../src/registry/index.js';
import { ingest, initProject, lockInfoPath, MetaStore, OfflineStore, Project } from '../../src/store/index.js';
import { MIGRATIONS } from '../../src/store/meta.js';
import { tempDir, write } from '../helpers.js';

const ROOT = resolve(import.meta.dirname, '../..');
const cleanups: (() => void)[] = [];
afterEach(() => { while (cleanups.length) cleanups.pop()!(); });

function dir(): string {
  const t = tempDir('kiln-robust-');
  cleanups.push(t.cleanup);
  return t.dir;
}

async function rejects(p: Promise<unknown> | (() => unknown), code: string): Promise<KilnError> {
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (e) {
    expect(e).toBeInstanceOf(KilnError);
    expect((e as KilnError).code).toBe(code);
    return e as KilnError;
  }
  throw new Error(`expected ${code}, but nothing was thrown`);
}

/** A project whose offline store has a table 'tx' (key declared in the config) loaded by ingest. */
async function projectWithData(): Promise<string> {
  const d = dir();
  writeFileSync(join(d, 'kiln.config.ts'), `import { defineConfig } from 'kiln';\nexport default defineConfig({ name: 'r', tables: { tx: { key: 'id', timestamp: 'ts' } } });\n`);
  await initProject(d);
  const p = await Project.open({ project: d });
  try {
    await ingest(p, { table: 'tx', inputs: [write(d, 'tx.csv', 'id,ts,amount\n1,2024-01-01,5\n2,2024-02-01,6\n')] });
  } finally {
    p.close();
  }
  return d;
}

describe('the metadata store', () => {
  it('reports a corrupt or truncated meta.sqlite as META_CORRUPT naming the file', async () => {
    const d = await projectWithData();
    const metaDb = join(d, '.kiln', 'meta.sqlite');
    const size = readFileSync(metaDb).length;
    truncateSync(metaDb, Math.floor(size / 3));
    rmSync(`${metaDb}-wal`, { force: true });
    const e = await rejects(Project.open({ project: d }), 'META_CORRUPT');
    expect(e.message).toContain(metaDb);
    expect(e.message).toContain('kiln init --repair');
    writeFileSync(metaDb, 'this is not a database, just text that happens to be long enough to have a header'.repeat(100));
    expect((await rejects(() => MetaStore.open(metaDb), 'META_CORRUPT')).message).toContain('file is not a database');
  });

  it('refuses a meta.sqlite written by a newer kiln as STORE_TOO_NEW, leaving it unchanged', () => {
    const metaDb = join(dir(), 'meta.sqlite');
    MetaStore.open(metaDb).close();
    const db = new Database(metaDb);
    db.prepare('INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)').run(MIGRATIONS.length + 1, '2030-01-01T00:00:00Z');
    db.close();
    const before = readFileSync(metaDb);
    let e: unknown;
    try { MetaStore.open(metaDb).close(); } catch (x) { e = x; }
    expect(e).toBeInstanceOf(KilnError);
    expect([(e as KilnError).code, (e as KilnError).message]).toEqual(['STORE_TOO_NEW', `${metaDb} was written by a newer kiln (schema ${MIGRATIONS.length + 1}; this kiln knows ${MIGRATIONS.length}). Upgrade kiln.`]);
    expect(readFileSync(metaDb).equals(before)).toBe(true);
  });

  it('refuses to recreate a deleted or emptied meta.sqlite beside data (META_MISSING), but creates it for a fresh project', async () => {
    const d = await projectWithData();
    const metaDb = join(d, '.kiln', 'meta.sqlite');
    for (const f of [metaDb, `${metaDb}-wal`, `${metaDb}-shm`]) rmSync(f, { force: true });
    const e = await rejects(Project.open({ project: d }), 'META_MISSING');
    expect(e.message).toContain(`${metaDb} is missing`);
    expect(e.message).toContain('1 table in');
    expect(e.message).toContain('kiln init --repair');
    expect(existsSync(metaDb)).toBe(false);
    await rejects(initProject(d), 'META_MISSING');
    writeFileSync(metaDb, '');
    expect((await rejects(Project.open({ project: d }), 'META_MISSING')).message).toContain('is empty');

    const fresh = dir();
    await initProject(fresh);
    rmSync(join(fresh, '.kiln', 'meta.sqlite'));
    const p = await Project.open({ project: fresh });
    expect(p.meta.listTables()).toEqual([]);
    p.close();
  });

  it('keeps a backup of meta.sqlite before a schema migration, and none for a fresh store', () => {
    const d = dir();
    const fresh = join(d, 'fresh.sqlite');
    MetaStore.open(fresh).close();
    expect(readdirSync(d).filter((f) => f.includes('.bak-'))).toEqual([]);

    const old = join(d, 'meta.sqlite');
    const db = new Database(old);
    db.exec('CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)');
    db.exec(MIGRATIONS[0]!);
    db.prepare('INSERT INTO schema_migrations VALUES (1, ?)').run(new Date().toISOString());
    db.prepare(`INSERT INTO tables (name, source, created_at, updated_at) VALUES ('loans', 'ingest', 'x', 'x')`).run();
    db.close();
    const m = MetaStore.open(old);
    expect(m.db.prepare('SELECT max(version) AS v FROM schema_migrations').get()).toEqual({ v: MIGRATIONS.length });
    m.close();
    const backups = readdirSync(d).filter((f) => f.startsWith('meta.sqlite.bak-v1-'));
    expect(backups).toHaveLength(1);
    expect(backups[0]).toMatch(/^meta\.sqlite\.bak-v1-\d{8}T\d{6}Z$/);
    const bak = new Database(join(d, backups[0]!), { readonly: true });
    expect(bak.prepare('SELECT name FROM tables').all()).toEqual([{ name: 'loans' }]);
    expect(bak.prepare('SELECT max(version) AS v FROM schema_migrations').get()).toEqual({ v: 1 });
    bak.close();
    // Opening again migrates nothing and copies nothing.
    MetaStore.open(old).close();
    expect(readdirSync(d).filter((f) => f.includes('.bak-'))).toHaveLength(1);
  });

  it('uses WAL and a busy timeout, so writers in other processes wait instead of failing', async () => {
    const d = dir();
    const path = join(d, 'meta.sqlite');
    const m = MetaStore.open(path);
    expect(m.local.raw.pragma('journal_mode', { simple: true })).toBe('wal');
    // Another process takes the write lock and keeps it for a second.
    const script = `const Database = require('better-sqlite3'); const db = new Database(${JSON.stringify(path)});
      db.exec('BEGIN IMMEDIATE'); db.prepare("INSERT INTO tables (name, source, created_at, updated_at) VALUES ('other', 'x', 'x', 'x')").run();
      process.stdout.write('locked\\n'); setTimeout(() => { db.exec('COMMIT'); db.close(); }, 1000);`;
    const child = spawn(process.execPath, ['-e', script], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((ok) => child.stdout!.on('data', (b: Buffer) => { if (b.toString().includes('locked')) ok(); }));
    const t0 = Date.now();
    m.upsertTable({ name: 'mine', source: 'test' });
    expect(Date.now() - t0).toBeGreaterThan(500);
    expect(m.listTables().map((t) => t.name)).toEqual(['mine', 'other']);
    m.close();
  });

  it('names a directory found where meta.sqlite or offline.duckdb should be', async () => {
    const d = dir();
    await initProject(d);
    const kiln = join(d, '.kiln');
    rmSync(join(kiln, 'offline.duckdb'));
    mkdirSync(join(kiln, 'offline.duckdb'));
    const p = await Project.open({ project: d });
    try {
      expect((await rejects(p.offline.all('SELECT 1'), 'FILE_UNREADABLE')).message).toBe(`the offline store ${join(kiln, 'offline.duckdb')} is a directory, not a file; give the file's path`);
    } finally {
      p.close();
    }
    for (const f of ['meta.sqlite', 'meta.sqlite-wal', 'meta.sqlite-shm']) rmSync(join(kiln, f), { force: true });
    mkdirSync(join(kiln, 'meta.sqlite'));
    expect((await rejects(Project.open({ project: d }), 'FILE_UNREADABLE')).message).toContain(`the metadata store ${join(kiln, 'meta.sqlite')} is a directory`);
  });
});

describe('kiln init --repair', () => {
  it('rebuilds tables, runs and model versions from the offline store and the artifacts, and says what was lost', async () => {
    const d = await projectWithData();
    const kiln = join(d, '.kiln');
    const meta = MetaStore.open(join(kiln, 'meta.sqlite'));
    const tracker = new Tracker(meta.db, join(kiln, 'artifacts'));
    const reg = new ModelRegistry(meta.db);
    const signature = { features: [{ name: 'income', type: 'DOUBLE' }], output: 'probability of default' };
    const ids: string[] = [];
    for (const v of [1, 2]) {
      ids.push(await tracker.withRun({ experiment: 'credit', params: { max_depth: 3 } }, async (run) => {
        run.logArtifact('model.json', { data: JSON.stringify({ format: 'kiln-gbdt', params: { max_depth: 3, learning_rate: 0.1 } }) });
        run.logArtifact('signature.json', { data: JSON.stringify({ signature, categories: {} }) });
        run.logArtifact('evaluation.json', { data: JSON.stringify({ metrics: { auc: 0.7 + v / 100, ks: 0.3 } }) });
        reg.registerVersion('credit', { signature, runId: run.id, artifactPath: join(kiln, 'artifacts', run.id, 'model.json') });
        run.logArtifact('report.html', { data: '<html></html>' });
        run.logArtifact('model-card.md', { data: `# Model card: credit v${v}\n\nRun \`${run.id}\`.\n` });
        return run.id;
      }));
    }
    reg.setAlias('credit', 'champion', 2, { reason: 'launch' });
    meta.close();
    for (const f of ['meta.sqlite', 'meta.sqlite-wal', 'meta.sqlite-shm']) rmSync(join(kiln, f), { force: true });

    const { repair } = await initProject(d, { repair: true });
    expect(repair).toMatchObject({ healthy: false, movedAside: null, ingestBatches: 1, tables: [{ name: 'tx', keyColumn: 'id', timestampColumn: 'ts' }] });
    expect(repair!.versions).toEqual([{ model: 'credit', version: 1, runId: ids[0] }, { model: 'credit', version: 2, runId: ids[1] }]);
    expect(repair!.notRecovered.join('\n')).toContain('aliases');

    const p = await Project.open({ project: d });
    try {
      expect(p.meta.getTable('tx')).toMatchObject({ keyColumn: 'id', timestampColumn: 'ts' });
      expect(listRuns(p.meta.db, {}).map((r) => r.id).sort()).toEqual([...ids].sort());
      const run = getRun(p.meta.db, ids[1]!);
      expect(run).toMatchObject({ experiment: 'credit', status: 'finished' });
      expect(run.metrics.auc).toBeCloseTo(0.72, 10);
      expect(run.params.learning_rate).toBe('0.1');
      expect(run.artifacts.map((a) => a.path).sort()).toEqual(['evaluation.json', 'model-card.md', 'model.json', 'report.html', 'signature.json']);
      expect(Date.parse(run.startedAt)).toBeGreaterThan(Date.now() - 600_000);
      const v2 = new ModelRegistry(p.meta.db).resolve('credit@2');
      expect(v2.signature).toEqual(signature);
      expect(v2.runId).toBe(ids[1]);
      // The re-ingest of the same file is refused as a duplicate key, not silently duplicated.
      await rejects(ingest(p, { table: 'tx', inputs: [join(d, 'tx.csv')] }), 'INGEST_DUPLICATE_KEYS');
    } finally {
      p.close();
    }

    // A sound store is left alone; a damaged one is moved aside, never deleted.
    expect((await initProject(d, { repair: true })).repair).toMatchObject({ healthy: true });
    writeFileSync(join(kiln, 'meta.sqlite'), 'garbage'.repeat(1000));
    const again = (await initProject(d, { repair: true })).repair!;
    expect(again.movedAside).toMatch(/meta\.sqlite\.damaged-\d{8}T\d{6}Z$/);
    expect(readFileSync(again.movedAside!, 'utf8')).toBe('garbage'.repeat(1000));
    expect(again.runs).toHaveLength(2);
  });
});

describe('the offline store', () => {
  const children: ChildProcess[] = [];
  afterEach(() => { for (const c of children.splice(0)) c.kill('SIGKILL'); });

  /** A separate process that opens the store for writing (as kiln does) and holds it until killed. */
  async function holder(db: string): Promise<ChildProcess> {
    const script = `import { OfflineStore } from ${JSON.stringify(join(ROOT, 'src/store/index.ts'))};
      const s = await OfflineStore.open(${JSON.stringify(db)}); await s.all('SELECT 1'); process.stdout.write('held\\n'); setInterval(() => {}, 1000);`;
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script, 'kiln', 'ingest', 'big', 'huge.csv'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
    children.push(child);
    await new Promise<void>((ok, fail) => {
      child.stdout!.on('data', (b: Buffer) => { if (b.toString().includes('held')) ok(); });
      child.on('exit', (code) => fail(new Error(`holder exited with ${code}`)));
    });
    return child;
  }

  it('is not opened by a project until used, and is released by releaseOffline', async () => {
    const d = dir();
    await initProject(d);
    const p = await Project.open({ project: d });
    try {
      expect(p.offline.isOpen).toBe(false);
      expect(existsSync(lockInfoPath(p.paths.offlineDb))).toBe(false);
      await p.offline.all('SELECT 1');
      expect(p.offline.isOpen).toBe(true);
      expect(JSON.parse(readFileSync(lockInfoPath(p.paths.offlineDb), 'utf8'))).toMatchObject({ pid: process.pid });
      p.releaseOffline();
      expect(p.offline.isOpen).toBe(false);
      expect(existsSync(lockInfoPath(p.paths.offlineDb))).toBe(false);
      expect(await p.offline.all('SELECT 42 AS x')).toEqual([{ x: 42 }]);
    } finally {
      p.close();
    }
  });

  it('waits for another process that holds it, then fails with STORE_BUSY naming that process', async () => {
    const d = dir();
    await initProject(d);
    const db = join(d, '.kiln', 'offline.duckdb');
    const child = await holder(db);
    const told: string[] = [];
    const t0 = Date.now();
    const e = await rejects(OfflineStore.open(db, { waitTimeoutSeconds: 1.5, onWait: (m) => told.push(m) }), 'STORE_BUSY');
    expect(Date.now() - t0).toBeGreaterThanOrEqual(1400);
    expect(e.message).toContain(`in use by pid ${child.pid} (kiln ingest big huge.csv`);
    expect(e.message).toContain('--wait-timeout');
    expect(told).toEqual([expect.stringContaining(`waiting for the offline store ${db}: it is in use by pid ${child.pid}`)]);
    // A reader conflicts with a writer too, and gets the same answer.
    await rejects(OfflineStore.open(db, { access: 'read', waitTimeoutSeconds: 0, onWait: () => undefined }), 'STORE_BUSY');

    // Once the holder is gone, a waiting open goes through; the dead holder's lock info is ignored.
    const waiting = OfflineStore.open(db, { waitTimeoutSeconds: 20, onWait: () => undefined });
    setTimeout(() => child.kill('SIGKILL'), 500);
    const s = await waiting;
    expect(await s.all('SELECT 1 AS one')).toEqual([{ one: 1 }]);
    expect(JSON.parse(readFileSync(lockInfoPath(db), 'utf8'))).toMatchObject({ pid: process.pid });
    s.close();
  });

  it('reports a corrupt offline.duckdb as FILE_UNREADABLE naming the file', async () => {
    const d = dir();
    await initProject(d);
    const db = join(d, '.kiln', 'offline.duckdb');
    writeFileSync(db, 'not a duckdb file '.repeat(500));
    const p = await Project.open({ project: d });
    try {
      const e = await rejects(p.offline.all('SELECT 1'), 'FILE_UNREADABLE');
      expect(e.message).toContain(db);
      expect(e.message).toContain('not a readable DuckDB database');
    } finally {
      p.close();
    }
  });
});
