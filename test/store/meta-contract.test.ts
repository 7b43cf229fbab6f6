/**
 * The metadata contract on both engines (test/meta-backends.ts): alerts, run search, embedding spaces,
 * the append-only audit, schema versions, copying SQLite's metadata over, and alias moves raced by
 * several processes. The registry, tracking and loop-state suites (test/registry, test/loop/runner-contract)
 * run on both engines as well.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { KilnError } from '../../src/core/errors.js';
import { AlertStore } from '../../src/monitor/index.js';
import { getDecision, newDecisionId, openDecisionLog } from '../../src/serve/index.js';
import { ModelRegistry, searchRuns, Tracker } from '../../src/registry/index.js';
import { copyMetadata, MetaStore, PgSyncDb, SHARED_TABLES, sharedMetadata } from '../../src/store/index.js';
import { tempDir } from '../helpers.js';
import { backendProject, dropSchema, META_BACKENDS, TEST_DATABASE_URL, testSchema } from '../meta-backends.js';

const sig = { features: [{ name: 'income', type: 'DOUBLE' }] };
const run = promisify(execFile);

describe.each(META_BACKENDS)('metadata contract (%s)', (backend) => {
  let ctx: Awaited<ReturnType<typeof backendProject>>;
  beforeEach(async () => { ctx = await backendProject(backend); });
  afterEach(() => ctx.cleanup());

  it('stores alerts once per (model, version, kind, subject, window), counts and acknowledges them', () => {
    const store = new AlertStore(ctx.project.meta.db);
    const a = { model: 'credit', version: 1, kind: 'feature_drift' as const, subject: 'income', window: '2024-03', severity: 'warning' as const, value: 0.2, threshold: 0.1, message: 'PSI 0.2', evidence: { psi: 0.2 } };
    const fresh = store.record([a, { ...a, subject: 'score', severity: 'critical' as const }]);
    expect(fresh.map((f) => f.subject)).toEqual(['income', 'score']);
    expect(store.record([{ ...a, value: 0.3 }])).toEqual([]);
    const listed = store.list({ model: 'credit' });
    expect(listed).toHaveLength(2);
    expect(listed.find((l) => l.subject === 'income')).toMatchObject({ value: 0.3, timesSeen: 2, evidence: { psi: 0.2 } });
    expect(store.count({ severity: 'critical' })).toBe(1);
    expect(store.summary()).toEqual([expect.objectContaining({ model: 'credit', alerts: 2, critical: 1, open: 2, latestWindow: '2024-03' })]);
    expect(store.acknowledge(fresh[0]!.id)).toBe(true);
    expect(store.acknowledge(fresh[0]!.id)).toBe(false);
    expect(store.summary()[0]!.open).toBe(1);
  });

  it('searches runs by words (any case), tags, params and final metric values, sorted and paged', async () => {
    const tracker = new Tracker(ctx.project.meta.db, ctx.project.paths.artifactsDir);
    for (let i = 0; i < 6; i++) {
      await tracker.withRun({ experiment: i < 3 ? 'Credit' : 'fraud', name: `gbdt_${i}`, params: { depth: i % 2 ? 6 : 4 }, tags: { owner: i % 3 ? 'risk' : 'growth' } }, async (r) => {
        r.logCurve('auc', [0.5, 0.6 + i / 100]);
      });
    }
    expect(searchRuns(ctx.project.meta.db, { text: 'CREDIT' }).total).toBe(3);
    expect(searchRuns(ctx.project.meta.db, { text: 'gbdt_' }).total).toBe(6);
    expect(searchRuns(ctx.project.meta.db, { tags: { owner: 'risk' }, params: { depth: '6' } }).runs.map((r) => r.name).sort()).toEqual(['gbdt_1', 'gbdt_5']);
    const best = searchRuns(ctx.project.meta.db, { metrics: [{ key: 'auc', op: '>=', value: 0.63 }], sort: 'metric:auc', dir: 'desc', withMetrics: ['auc'] });
    expect(best.runs.map((r) => [r.name, r.metrics.auc])).toEqual([['gbdt_5', 0.65], ['gbdt_4', 0.64], ['gbdt_3', 0.63]]);
    const page = searchRuns(ctx.project.meta.db, { sort: 'name', dir: 'asc', size: 4, page: 2 });
    expect([page.total, page.runs.map((r) => r.name)]).toEqual([6, ['gbdt_4', 'gbdt_5']]);
  });

  it('registers embedding versions with their folders, moves aliases and keeps the audit', () => {
    const reg = ctx.project.embeddings;
    const stage = (): string => { const d = join(reg.spaceDir('merchants'), `.staged-${Math.random()}`); mkdirSync(d, { recursive: true }); writeFileSync(join(d, 'vectors.f32'), 'x'); return d; };
    const v = { entity: 'merchant', trainer: 'item2vec', dim: 8, metric: 'cosine', size: 10, dataFrom: null, dataTo: null, trainedUntil: '2024-01-01', params: {}, metrics: { loss: 1 }, lineage: {}, checksum: 'abc' } as never;
    expect(reg.register('merchants', stage(), v).version).toBe(1);
    expect(reg.register('merchants', stage(), v).version).toBe(2);
    reg.setAlias('merchants', 'prod', 1, { reason: 'first', actor: 'ana' });
    expect(reg.setAlias('merchants', 'prod', 2, { reason: 'better', actor: 'bo' })).toEqual({ previousVersion: 1 });
    expect(reg.resolve('merchants@prod').version).toBe(2);
    expect(reg.versions('merchants').map((x) => x.version)).toEqual([1, 2]);
    expect(reg.versions('merchants', { newestFirst: true, limit: 1 }).map((x) => x.version)).toEqual([2]);
    expect(reg.spaces()).toEqual([{ space: 'merchants', versions: 2, latestVersion: 2, aliases: { prod: 2 } }]);
    expect(reg.auditLog('merchants').map((a) => [a.action, a.version, a.previousVersion])).toEqual(
      expect.arrayContaining([['register_version', 1, null], ['register_version', 2, null], ['set_alias', 1, null], ['set_alias', 2, 1]]));
  });

  it('refuses to change or delete audit rows, with the same words on both engines', () => {
    const reg = new ModelRegistry(ctx.project.meta.db);
    reg.registerVersion('credit', { signature: sig });
    for (const t of ['audit_log', 'embedding_audit']) {
      if (t === 'embedding_audit') ctx.project.meta.db.prepare(`INSERT INTO embedding_audit (at, actor, action, space) VALUES ('x', 'x', 'x', 'x')`).run();
      expect(() => ctx.project.meta.db.prepare(`UPDATE ${t} SET actor = 'mallory'`).run()).toThrow(`${t} is append-only`);
      expect(() => ctx.project.meta.db.prepare(`DELETE FROM ${t}`).run()).toThrow(`${t} is append-only`);
    }
    expect(reg.auditLog('credit')[0]!.actor).not.toBe('mallory');
  });

  it('refuses a schema written by a newer kiln', async () => {
    ctx.project.meta.db.prepare('INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)').run(99, 'x');
    const err = await ctx.reopen().then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(KilnError);
    expect(err).toMatchObject({ code: 'STORE_TOO_NEW', message: expect.stringContaining('schema 99') });
  });

  it('keeps alias moves atomic when several processes race them', async () => {
    const reg = new ModelRegistry(ctx.project.meta.db);
    for (let i = 0; i < 4; i++) reg.registerVersion('credit', { signature: sig });
    const shared = sharedMetadata(ctx.project.config) ?? null;
    const child = (w: number): Promise<unknown> => run(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', `
      import { MetaStore } from ${JSON.stringify(resolve('src/store/index.ts'))};
      import { ModelRegistry } from ${JSON.stringify(resolve('src/registry/index.ts'))};
      const meta = MetaStore.open(${JSON.stringify(ctx.project.paths.metaDb)}, ${JSON.stringify(shared)} ?? undefined);
      const reg = new ModelRegistry(meta.db);
      for (let i = 0; i < 15; i++) {
        reg.setAlias('credit', 'champion', 1 + ((i + ${w}) % 4), { reason: 'race ${w}.' + i, actor: 'w${w}' });
        if (i % 5 === 0) reg.registerVersion('credit', { signature: ${JSON.stringify(sig)}, actor: 'w${w}' });
      }
      meta.close();`]);
    await Promise.all([0, 1, 2, 3].map(child));
    const moves = reg.auditLog('credit').filter((a) => a.action === 'set_alias').sort((a, b) => a.id - b.id);
    expect(moves).toHaveLength(60);
    // Every move saw the one before it: the chain of previous versions has no gap.
    for (let i = 1; i < moves.length; i++) expect(moves[i]!.previousVersion).toBe(moves[i - 1]!.version);
    expect(reg.resolve('credit@champion').version).toBe(moves.at(-1)!.version);
    const versions = reg.versionNumbers('credit', 100).map((v) => v.version).sort((a, b) => a - b);
    expect(versions).toEqual(Array.from({ length: 16 }, (_, i) => i + 1));
  }, 60_000);
});

describe.skipIf(!META_BACKENDS.includes('postgres'))('metadata on PostgreSQL', () => {
  it('copies an embedded project\'s metadata over, row for row, in one transaction', async () => {
    const src = await backendProject('sqlite');
    const schema = testSchema();
    try {
      const reg = new ModelRegistry(src.project.meta.db);
      const tracker = new Tracker(src.project.meta.db, src.project.paths.artifactsDir);
      const id = await tracker.withRun({ experiment: 'credit', params: { depth: 4 } }, async (r) => { r.logCurve('auc', [0.6, 0.7]); return r.id; });
      reg.registerVersion('credit', { signature: sig, runId: id });
      reg.setAlias('credit', 'champion', 1, { reason: 'first' });
      new AlertStore(src.project.meta.db).record([{ model: 'credit', version: 1, kind: 'feature_drift', subject: 'income', window: '2024-03', severity: 'warning', value: 0.2, threshold: 0.1, message: 'm', evidence: {} }]);
      const { dir, cleanup } = tempDir();
      const pg = MetaStore.open(join(dir, 'meta.sqlite'), { url: TEST_DATABASE_URL, schema });
      try {
        const report = copyMetadata(src.project.meta.db, pg.db);
        expect(report.rows).toBeGreaterThan(8);
        for (const t of SHARED_TABLES) {
          const order = t === 'monitor_alerts' || t.endsWith('audit') || t === 'audit_log' || t === 'experiments' ? 'id' : '1, 2';
          expect(pg.db.prepare(`SELECT * FROM ${t} ORDER BY ${order}`).all(), t).toEqual(src.project.meta.db.prepare(`SELECT * FROM ${t} ORDER BY ${order}`).all());
        }
        // Ids go on after the copied ones; a second copy into a non-empty schema is refused, nothing added.
        expect(new ModelRegistry(pg.db).setAlias('credit', 'champion', 1, { reason: 'again' })).toEqual({ previousVersion: 1 });
        expect(() => copyMetadata(src.project.meta.db, pg.db)).toThrow(/already holds metadata/);
      } finally {
        pg.close();
        cleanup();
      }
    } finally {
      src.cleanup();
      dropSchema(schema);
    }
  });

  it('creates a fresh schema on first use, but upgrades an older one only when asked (kiln db migrate)', () => {
    const schema = testSchema();
    const { dir, cleanup } = tempDir();
    try {
      const db = new PgSyncDb(TEST_DATABASE_URL, schema);
      db.exec('CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)');
      db.close();
      expect(() => MetaStore.open(join(dir, 'a.sqlite'), { url: TEST_DATABASE_URL, schema })).not.toThrow();
      const older = new PgSyncDb(TEST_DATABASE_URL, schema);
      older.exec(`DELETE FROM schema_migrations WHERE version = (SELECT max(version) FROM schema_migrations); DROP INDEX runs_by_start, run_tags_by_value, run_params_by_value`);
      older.close();
      let err: unknown;
      try { MetaStore.open(join(dir, 'b.sqlite'), { url: TEST_DATABASE_URL, schema }); } catch (e) { err = e; }
      expect(err).toMatchObject({ code: 'DATABASE_NOT_MIGRATED', message: expect.stringContaining("kiln db migrate") });
    } finally {
      cleanup();
      dropSchema(schema);
    }
  });

  it('lets several processes open a fresh schema at once: one creates it, all use it', async () => {
    const schema = testSchema();
    const { dir, cleanup } = tempDir();
    try {
      const loc = JSON.stringify({ url: TEST_DATABASE_URL, schema });
      await Promise.all([0, 1, 2, 3, 4, 5].map((w) => run(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', `
        import { MetaStore } from ${JSON.stringify(resolve('src/store/index.ts'))};
        import { ModelRegistry } from ${JSON.stringify(resolve('src/registry/index.ts'))};
        const meta = MetaStore.open(${JSON.stringify(join(dir, 'w'))} + ${w} + '.sqlite', ${loc});
        new ModelRegistry(meta.db).registerVersion('m${w}', { signature: ${JSON.stringify(sig)} });
        meta.close();`])));
      const meta = MetaStore.open(join(dir, 'check.sqlite'), { url: TEST_DATABASE_URL, schema });
      try {
        expect(new ModelRegistry(meta.db).listModels().map((m) => m.name)).toEqual(['m0', 'm1', 'm2', 'm3', 'm4', 'm5']);
        expect((meta.db.prepare('SELECT count(*) AS n FROM schema_migrations').get() as { n: number }).n).toBe(7);
      } finally {
        meta.close();
      }
    } finally {
      cleanup();
      dropSchema(schema);
    }
  }, 60_000);

  it('keeps a schema name with capitals as written, for the metadata and the decision log', async () => {
    const schema = `Kiln_${testSchema()}`;
    const { dir, cleanup } = tempDir();
    try {
      const loc = { url: TEST_DATABASE_URL, schema };
      const meta = MetaStore.open(join(dir, 'meta.sqlite'), loc);
      try {
        new ModelRegistry(meta.db).registerVersion('credit', { signature: sig });
      } finally {
        meta.close();
      }
      const log = await openDecisionLog(loc);
      const rec = { id: newDecisionId(), time: new Date().toISOString(), model: 'credit', version: 1, decidedBy: 'primary' as const, entityId: 'b1', asOf: null, request: {}, features: {}, score: { version: 1, raw: 0.1 } as never, reasons: null, shadow: [], latencyMs: 1 };
      await log.append([rec]);
      await log.close();
      expect((await getDecision(loc, rec.id)).entityId).toBe('b1');
      const check = new PgSyncDb(TEST_DATABASE_URL, 'public');
      try {
        expect(check.prepare('SELECT count(*) AS n FROM information_schema.tables WHERE table_schema = ? AND table_name IN (?, ?)').get(schema, 'decisions', 'model_versions')).toEqual({ n: 2 });
      } finally {
        check.close();
      }
    } finally {
      cleanup();
      dropSchema(schema);
    }
  });

  it('names the address and the reason when PostgreSQL cannot be reached', () => {
    const { dir, cleanup } = tempDir();
    try {
      expect(() => MetaStore.open(join(dir, 'meta.sqlite'), { url: 'postgres://kiln:secret@127.0.0.1:1/none', schema: 'kiln' })).toThrow(
        expect.objectContaining({ code: 'DATABASE_UNAVAILABLE', message: expect.stringMatching(/postgres:\/\/kiln:\*\*\*@127\.0\.0\.1:1\/none .*ECONNREFUSED/) }));
    } finally {
      cleanup();
    }
  });
});
