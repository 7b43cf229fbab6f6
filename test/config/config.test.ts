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
    expect(c).toEqual({ name: 'p', dataDir: '.kiln', tables: {}, features: [], models: {} });
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
