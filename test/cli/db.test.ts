/** `kiln db migrate [--from sqlite]` and `kiln db status` against the real PostgreSQL; a project moved over keeps working through the CLI. */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ModelRegistry, Tracker } from '../../src/registry/index.js';
import { MetaStore } from '../../src/store/index.js';
import { kiln } from '../helpers.js';
import { backendProject, dropSchema, META_BACKENDS, TEST_DATABASE_URL, testSchema } from '../meta-backends.js';

const sig = { features: [{ name: 'income', type: 'DOUBLE' }] };

describe.skipIf(!META_BACKENDS.includes('postgres'))('kiln db', () => {
  let ctx: Awaited<ReturnType<typeof backendProject>>;
  const schema = testSchema();
  beforeAll(async () => {
    ctx = await backendProject('sqlite');
    const tracker = new Tracker(ctx.project.meta.db, ctx.project.paths.artifactsDir);
    const runId = await tracker.withRun({ experiment: 'credit', params: { depth: 4 } }, async (r) => { r.logMetric('auc', 0.71); return r.id; });
    const reg = new ModelRegistry(ctx.project.meta.db);
    reg.registerVersion('credit', { signature: sig, runId });
    reg.registerVersion('credit', { signature: sig });
    reg.setAlias('credit', 'champion', 1, { reason: 'first approved', actor: 'ana' });
    ctx.project.close();
  });
  afterAll(() => { ctx.cleanup(); dropSchema(schema); });

  it('refuses --from sqlite when the project names no PostgreSQL', async () => {
    const r = await kiln(['db', 'migrate', '--from', 'sqlite'], ctx.dir);
    expect(r.code).toBe(64);
    expect(r.stderr).toContain('names none: set metadata: { url }');
  });

  it('copies the embedded metadata over, then the CLI reads and moves aliases there, with the audit', async () => {
    writeFileSync(join(ctx.dir, 'kiln.config.ts'), `import { defineConfig } from 'kiln';\nexport default defineConfig({ name: 't', metadata: { url: ${JSON.stringify(TEST_DATABASE_URL)}, schema: '${schema}' } });\n`);
    const m = await kiln(['db', 'migrate', '--from', 'sqlite'], ctx.dir);
    expect(m.stderr + m.stdout, m.stderr).toMatch(/postgres postgres:\/\/postgres@127\.0\.0\.1:5432\/test \(schema kiln_t_\w+\): migrated from schema 0 to 7/);
    expect(m.stdout).toContain('copied');
    expect(m.stderr).toContain('copied audit_log: 3 rows');
    const again = await kiln(['db', 'migrate'], ctx.dir);
    expect(again.stdout).toContain('already at schema 7');
    const status = JSON.parse((await kiln(['db', 'status', '--json'], ctx.dir)).stdout) as { engine: string; schema: number; known: number; rows: Record<string, number> };
    expect(status).toMatchObject({ engine: 'postgres', schema: 7, known: 7, rows: { runs: 1, model_versions: 2, model_aliases: 1, audit_log: 3 } });
    const set = await kiln(['models', 'alias', 'set', 'credit@2', 'champion', '--reason', 'better on the holdout'], ctx.dir);
    expect(set.code, set.stderr).toBe(0);
    const hist = await kiln(['models', 'history', 'credit', '--json'], ctx.dir);
    expect(hist.stdout).toContain('better on the holdout');
    // The embedded store was left as it was.
    const embedded = MetaStore.open(ctx.project.paths.metaDb);
    try {
      expect((embedded.db.prepare('SELECT count(*) AS n FROM audit_log').get() as { n: number }).n).toBe(3);
    } finally {
      embedded.close();
    }
  }, 60_000);

  it('takes the database from KILN_DATABASE_URL, and names it when unreachable', async () => {
    const r = await kiln(['db', 'status', '--json'], ctx.dir, { KILN_DATABASE_URL: `${TEST_DATABASE_URL}?schema=${schema}` });
    expect(JSON.parse(r.stdout)).toMatchObject({ engine: 'postgres', rows: { audit_log: 4 } });
    const down = await kiln(['models', 'list'], ctx.dir, { KILN_DATABASE_URL: 'postgres://kiln:pw@127.0.0.1:1/x' });
    expect(down.code).toBe(69);
    expect(down.stderr).toContain('DATABASE_UNAVAILABLE');
    expect(down.stderr).toContain('postgres://kiln:***@127.0.0.1:1/x');
    expect(down.stderr).not.toContain(':pw@');
  });
});
