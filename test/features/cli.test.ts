/** `kiln features list|describe|training-set` on a project whose config declares features. */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { registerFeatures } from '../../src/cli/commands/features.js';
import { isKilnError } from '../../src/core/errors.js';
import { tempProject } from '../helpers.js';
import { DAY, T0, createTable } from './helpers.js';

const DSL = resolve(import.meta.dirname, '../../src/features/index.js');
const CONFIG = `import { defineConfig } from 'kiln';
import { count, derived, div, entity, eventSource, featureSet, sum } from ${JSON.stringify(DSL)};
const user = entity('user', { key: 'user_id' });
const pay = eventSource('payments', { entity: user, timestamp: 'ts', columns: { amount: 'double' }, description: 'payments in' });
const n = count(pay, { name: 'n_7d', window: '7d', owner: 'ops' });
const s = sum(pay, 'amount', { name: 'sum_7d', window: '7d', description: 'money in, last week' });
const avg = derived('avg_7d', div(s, n));
export default defineConfig({ name: 'cli-features', features: [user, pay, n, s, avg, featureSet('basic', [n, s, avg], { description: 'the basics' })] });
`;

async function kiln(dir: string, ...args: string[]): Promise<string> {
  const program = new Command().name('kiln').option('-p, --project <dir>').exitOverride();
  registerFeatures(program);
  const chunks: string[] = [];
  const spy = vi.spyOn(process.stdout, 'write').mockImplementation((c: string | Uint8Array) => { chunks.push(String(c)); return true; });
  try {
    await program.parseAsync(['node', 'kiln', '--project', dir, 'features', ...args]);
  } finally {
    spy.mockRestore();
  }
  return chunks.join('');
}

describe('kiln features', () => {
  let ctx: Awaited<ReturnType<typeof tempProject>>;
  beforeAll(async () => {
    ctx = await tempProject(CONFIG);
    await createTable(ctx.project, 'payments', { user_id: 'BIGINT', ts: 'TIMESTAMP', amount: 'DOUBLE' }, [{ user_id: 1, ts: T0, amount: 4 }, { user_id: 1, ts: T0 + DAY, amount: 6 }]);
    await createTable(ctx.project, 'spine', { user_id: 'BIGINT', ts: 'TIMESTAMP', label: 'BOOLEAN' }, [{ user_id: 1, ts: T0 + 2 * DAY, label: true }, { user_id: 2, ts: T0, label: false }]);
    ctx.project.close(); // the commands open the project themselves
  });
  afterAll(() => ctx.cleanup());

  it('lists features with versions, sources, users and owners', async () => {
    const out = await kiln(ctx.dir, 'list');
    expect(out).toMatch(/^feature\s+computes\s+source\s+version\s+used by\s+owner\s+description$/m);
    expect(out).toMatch(/^n_7d\s+count\(\) over 7d\s+payments\s+[0-9a-f]{12}\s+avg_7d, basic\s+ops/m);
    expect(out).toMatch(/^avg_7d\s+\(sum_7d \/ n_7d\)\s+\(derived\)/m);
    expect(out).toMatch(/^basic\s+3\s+[0-9a-f]{12}\s+the basics$/m);
    const json = JSON.parse(await kiln(ctx.dir, 'list', '--json')) as { features: { name: string; version: string }[] };
    expect(json.features.map((f) => f.name)).toEqual(['n_7d', 'sum_7d', 'avg_7d']);
  });

  it('describes a feature and says did-you-mean for an unknown one', async () => {
    const out = await kiln(ctx.dir, 'describe', 'sum_7d');
    expect(out).toContain('computes     sum(amount) over 7d');
    expect(out).toContain('source       name=payments type=event table=payments key=user_id timestamp=ts');
    expect(out).toContain('description  money in, last week');
    const err = await kiln(ctx.dir, 'describe', 'sum_7').catch((e: unknown) => e);
    expect(isKilnError(err, 'FEATURE_NOT_FOUND') && err.message).toBe("no feature or feature set 'sum_7'; did you mean 'sum_7d'?; run 'kiln features list'");
  });

  it('builds a training set to Parquet', async () => {
    const file = join(ctx.dir, 'out', 'train.parquet');
    const out = await kiln(ctx.dir, 'training-set', '--features', 'basic', '--spine', 'spine', '--out', file);
    expect(out).toMatch(/^built 2 rows x 6 columns \(3 features of basic [0-9a-f]{12}\) in [\d.]+s -> .*train\.parquet$/m);
    expect(existsSync(file)).toBe(true);
    const json = JSON.parse(await kiln(ctx.dir, 'training-set', '-f', 'n_7d,avg_7d', '--as-of', '2024-01-03T00:00:00Z', '--json')) as { rows: number; columns: string[]; table: string };
    expect(json).toMatchObject({ rows: 1, columns: ['user_id', 'as_of', 'n_7d', 'avg_7d'], table: 'training_set' });
    const err = await kiln(ctx.dir, 'training-set', '-f', 'basic').catch((e: unknown) => e);
    expect(isKilnError(err) && err.message).toContain('say which rows to build: --spine TABLE|FILE, or --as-of TIME');
  });
});
