import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { findProjectRoot, loadConfigFile, resolveProjectRoot, validateConfig } from '../../src/config/index.js';
import { KilnError } from '../../src/core/errors.js';
import { tempDir } from '../helpers.js';

function problems(raw: unknown): string {
  try {
    validateConfig(raw, 'kiln.config.ts');
  } catch (e) {
    expect(e).toBeInstanceOf(KilnError);
    expect((e as KilnError).code).toBe('CONFIG_INVALID');
    return (e as KilnError).message;
  }
  throw new Error('expected the config to be rejected');
}

describe('config validation', () => {
  it('accepts a minimal config and fills defaults', () => {
    const c = validateConfig({ name: 'p' }, 'kiln.config.ts');
    expect(c).toEqual({ name: 'p', dataDir: '.kiln', tables: {}, features: [], models: {}, embeddings: {}, search: {}, recommenders: {} });
  });

  it("checks each model's GBDT params against the GBDT's parameter table when the config loads", () => {
    const model = (params: Record<string, unknown>): unknown => ({
      name: 'p',
      models: { credit: { spine: { table: 'loans', timestamp: 'ts', key: 'id' }, label: { column: 'y' }, columns: ['x'], split: { validFrom: '2024-01-01', testFrom: '2024-02-01', testTo: '2024-03-01' }, params } },
    });
    const m = problems(model({ max_dept: 4, learning_rate: 2, subsample: 'all', objective: 'binary:logistik' }));
    expect(m).toContain(`models.credit.params.max_dept: unknown parameter 'max_dept'; did you mean 'max_depth'?`);
    expect(m).toContain(`models.credit.params.learning_rate: parameter 'learning_rate' = 2 is invalid: must be a number in (0, 1]`);
    expect(m).toContain(`models.credit.params.subsample: parameter 'subsample' = 'all' is invalid: must be a number in (0, 1]`);
    expect(m).toContain(`models.credit.params.objective: parameter 'objective' = 'binary:logistik' is invalid: must be one of: binary:logistic,`);
    expect(m).toContain('(4 problems)');
    const ok = validateConfig(model({ max_depth: 3, learning_rate: 0.1, eval_metric: ['auc'] }), 'kiln.config.ts');
    expect(ok.models.credit?.params).toEqual({ max_depth: 3, learning_rate: 0.1, eval_metric: ['auc'] });
  });

  it('names the field and what was expected for a wrong type', () => {
    const m = problems({ name: 'p', tables: { loans: { key: 42 } } });
    expect(m).toContain('kiln.config.ts is not a valid kiln config');
    expect(m).toContain('tables.loans.key: expected string; got 42');
  });

  it('names a missing required field', () => {
    expect(problems({ tables: {} })).toContain('name: required field is missing (expected string)');
  });

  it('suggests the field meant for an unknown one', () => {
    const m = problems({ name: 'p', tabels: {} });
    expect(m).toContain("tabels: unknown field; did you mean 'tables'?");
  });

  it('explains a bad column type with the allowed types', () => {
    const m = problems({ name: 'p', tables: { t: { columns: { amount: 'flaot', ts: { type: 'timestmp' } } } } });
    expect(m).toMatch(/tables\.t\.columns\.amount: expected one of "boolean", "integer", .*"timestamp", "date", or an object; got "flaot"/);
    expect(m).toContain('tables.t.columns.ts.type: expected one of');
    expect(m).toContain('got "timestmp"');
    expect(m).toContain('2 problems');
  });

  it('checks that the timestamp and key columns are declared, with a hint', () => {
    const m = problems({ name: 'p', tables: { t: { timestamp: 'tss', key: 'id', columns: { id: 'bigint', ts: 'timestamp' } } } });
    expect(m).toContain("tables.t.timestamp: column 'tss' is not among the declared columns (id, ts); did you mean 'ts'?");
  });

  it('requires the timestamp column to be a timestamp', () => {
    const m = problems({ name: 'p', tables: { t: { timestamp: 'ts', columns: { ts: 'varchar' } } } });
    expect(m).toContain("the timestamp column must have type 'timestamp', not 'varchar'");
  });

  it('rejects table names that are not identifiers', () => {
    expect(problems({ name: 'p', tables: { '1bad-name': {} } })).toContain('a SQL identifier');
  });
});

describe('config loading and project discovery', () => {
  let cleanup = (): void => undefined;
  afterEach(() => cleanup());

  it("loads a TypeScript config that imports from 'kiln', from anywhere on disk", async () => {
    const t = tempDir();
    cleanup = t.cleanup;
    const file = join(t.dir, 'kiln.config.ts');
    writeFileSync(file, `import { defineConfig } from 'kiln';\nconst n: number = 2;\nexport default defineConfig({ name: 'loaded', tables: { t: { key: 'id', columns: { id: 'bigint' } } }, description: String(n) });\n`);
    const c = await loadConfigFile(file);
    expect(c.name).toBe('loaded');
    expect(c.description).toBe('2');
    expect(c.tables.t?.key).toBe('id');
  });

  it('reports a config with a wrong field by file and field', async () => {
    const t = tempDir();
    cleanup = t.cleanup;
    const file = join(t.dir, 'kiln.config.ts');
    writeFileSync(file, `export default { name: 'x', tables: { t: { timestamp: 5 } } };\n`);
    await expect(loadConfigFile(file)).rejects.toThrow(/kiln\.config\.ts is not a valid kiln config[\s\S]*tables\.t\.timestamp: expected string; got 5/);
  });

  it('reports a config that does not compile or throws', async () => {
    const t = tempDir();
    cleanup = t.cleanup;
    const file = join(t.dir, 'kiln.config.ts');
    writeFileSync(file, `throw new Error('boom');\n`);
    await expect(loadConfigFile(file)).rejects.toMatchObject({ code: 'CONFIG_LOAD_FAILED', message: expect.stringContaining('boom') });
  });

  it('finds the project by walking up, or says how to make one', () => {
    const t = tempDir();
    cleanup = t.cleanup;
    writeFileSync(join(t.dir, 'kiln.config.ts'), 'export default { name: "x" };\n');
    const deep = join(t.dir, 'a', 'b');
    mkdirSync(deep, { recursive: true });
    expect(findProjectRoot(deep)).toBe(t.dir);
    expect(resolveProjectRoot(undefined, deep)).toBe(t.dir);
    expect(() => resolveProjectRoot('nope', t.dir)).toThrow(/--project nope: no such directory/);
    expect(() => resolveProjectRoot('a', t.dir)).toThrow(/has no kiln\.config\.ts\. Create one with 'kiln init a'/);
  });
});

describe('model specs', () => {
  const model = {
    spine: { table: 'loan_labels', timestamp: 'funded_at' }, label: { column: 'default_12m' }, features: 'credit_v1',
    split: { validFrom: '2024-07-01', testFrom: '2024-10-01', testTo: '2025-01-01' },
  };
  it('accepts a model and fills its defaults', () => {
    const c = validateConfig({ name: 'p', models: { credit: model } }, 'kiln.config.ts');
    expect(c.models.credit).toMatchObject({ algorithm: 'gbdt', maxReasons: 4, calibration: 'platt', minPositives: 20, monotone: {} });
  });
  it('rejects windows out of order, overlapping or empty', () => {
    const m = problems({ name: 'p', models: { credit: { ...model, split: { validFrom: '2024-10-01', testFrom: '2024-10-01', testTo: '2024-09-01' } } } });
    expect(m).toContain('models.credit.split: validFrom (2024-10-01) must be before testFrom (2024-10-01)');
    expect(m).toContain('testFrom (2024-10-01) must be before testTo (2024-09-01)');
  });
  it('names unknown model fields and bad monotone values', () => {
    const m = problems({ name: 'p', models: { credit: { ...model, monotonic: {}, monotone: { income: 2 } } } });
    expect(m).toContain("models.credit.monotonic: unknown field; did you mean 'monotone'?");
    expect(m).toContain('models.credit.monotone.income');
  });
});

describe('the online section', () => {
  it('accepts a full section, fills the backend, and is absent when not given', () => {
    const online = { backend: 'redis', redisUrl: 'rediss://:secret@10.0.0.5:6380/2', keyPrefix: 'kiln:prod:', retentionMarginMs: 0, cacheSeries: 0, denseDay: 1, features: ['n_7d', 'sum_7d'] } as const;
    expect(validateConfig({ name: 'p', online }, 'kiln.config.ts').online).toEqual(online);
    expect(validateConfig({ name: 'p', online: { features: 'credit_v1' } }, 'kiln.config.ts').online).toEqual({ backend: 'embedded', features: 'credit_v1' });
    expect(validateConfig({ name: 'p' }, 'kiln.config.ts').online).toBeUndefined();
  });

  it('names each bad field and what it expects', () => {
    const m = problems({
      name: 'p',
      online: { backend: 'memcached', redisUrl: 'http://10.0.0.5:6379', keyPrefix: '', retentionMarginMs: -1, cacheSeries: 1.5, denseDay: 0, features: [] },
    });
    expect(m).toContain('7 problems');
    expect(m).toContain('online.backend: expected one of "embedded", "redis"; got "memcached"');
    expect(m).toContain('online.redisUrl: expected a redis:// or rediss:// URL, e.g. redis://127.0.0.1:6379; got "http://10.0.0.5:6379"');
    expect(m).toContain('online.keyPrefix: expected a non-empty key prefix, e.g. kiln:prod:; got ""');
    expect(m).toContain('online.retentionMarginMs: expected a number of milliseconds >= 0; got -1');
    expect(m).toContain('online.cacheSeries: expected a whole number >= 0; got 1.5');
    expect(m).toContain('online.denseDay: expected a whole number >= 1; got 0');
    expect(m).toContain('online.features: expected a non-empty list of feature names; got []');
  });

  it('rejects a Redis URL that does not parse, and wrong types', () => {
    const m = problems({ name: 'p', online: { redisUrl: 'redis://[oops', retentionMarginMs: '1d', features: 5 }, tables: {} });
    expect(m).toContain('online.redisUrl: expected a redis:// or rediss:// URL');
    expect(m).toContain('online.retentionMarginMs: expected number; got "1d"');
    expect(m).toContain('online.features: expected string, or array; got 5');
    expect(problems({ name: 'p', online: 'redis' })).toContain('online: expected object; got "redis"');
  });

  it('suggests the field meant for a misspelled one', () => {
    const m = problems({ name: 'p', online: { backend: 'redis', redisURL: 'redis://10.0.0.5:6379', keyPrefx: 'kiln:prod:' } });
    expect(m).toContain("online.redisURL: unknown field; did you mean 'redisUrl'?");
    expect(m).toContain("online.keyPrefx: unknown field; did you mean 'keyPrefix'?");
    expect(m).toContain('(allowed: backend, redisUrl, keyPrefix, retentionMarginMs, cacheSeries, denseDay, maxSeriesInMemory, features)');
    expect(problems({ name: 'p', onlne: {} })).toContain("onlne: unknown field; did you mean 'online'?");
  });
});
