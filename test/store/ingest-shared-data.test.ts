import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ingest, type Project } from '../../src/store/index.js';
import { tempProject } from '../helpers.js';

// The public data sets shared beside the repository; never copied into it.
const REPO = resolve(import.meta.dirname, '../..');
const DATA = resolve(REPO, '../shared/data');
const BERKA = join(DATA, 'berka');
const GMSC = join(DATA, 'give-me-some-credit', 'cs-training.csv');
const missing = [BERKA, GMSC].filter((p) => !existsSync(p));
if (missing.length) console.warn(`skipping the real-data ingest tests: ${missing.join(', ')} not found (the shared data sets live in <repo>/../shared/data)`);

let ctx: Awaited<ReturnType<typeof tempProject>> | undefined;
afterEach(() => { ctx?.cleanup(); ctx = undefined; });

async function types(project: Project, table: string): Promise<Record<string, string>> {
  const r = await project.offline.all<{ column_name: string; column_type: string }>(`DESCRIBE "${table}"`);
  return Object.fromEntries(r.map((c) => [c.column_name, c.column_type]));
}

describe.skipIf(missing.length > 0)('real exports from the shared data sets', () => {
  it('loads every Berka file with the example config: dates as TIMESTAMP, amounts as DOUBLE, the official row counts', async () => {
    ctx = await tempProject(readFileSync(join(REPO, 'examples/berka/kiln.config.ts'), 'utf8'));
    const project = ctx.project;
    const counts: Record<string, number> = { account: 4500, client: 5369, disp: 5369, district: 77, loan: 682, order: 6471, card: 892 };
    for (const table of Object.keys(counts)) {
      const r = await ingest(project, { table, inputs: [join(BERKA, `${table}.asc`)], format: 'csv', progress: false });
      expect(r.tableRows, table).toBe(counts[table]);
    }
    const trans = await ingest(project, { table: 'trans', inputs: ['trans_partial_*.asc.gz'], cwd: BERKA, progress: false });
    expect(trans.tableRows).toBe(98_845);
    expect(await types(project, 'trans')).toEqual({
      trans_id: 'BIGINT', account_id: 'BIGINT', date: 'TIMESTAMP', type: 'VARCHAR', operation: 'VARCHAR', amount: 'DOUBLE', balance: 'DOUBLE',
      k_symbol: 'VARCHAR', bank: 'VARCHAR', account: 'VARCHAR',
    });
    expect(await types(project, 'loan')).toEqual({ loan_id: 'BIGINT', account_id: 'BIGINT', date: 'TIMESTAMP', amount: 'DOUBLE', duration: 'INTEGER', payments: 'DOUBLE', status: 'VARCHAR' });
    expect((await types(project, 'card')).issued).toBe('TIMESTAMP');
    const span = await project.offline.all('SELECT min(date)::VARCHAR AS lo, max(date)::VARCHAR AS hi FROM trans');
    expect(span).toEqual([{ lo: '1993-01-01 00:00:00', hi: '1994-10-30 00:00:00' }]);
    expect(await project.offline.all('SELECT min(date)::DATE::VARCHAR AS lo, max(date)::DATE::VARCHAR AS hi FROM loan')).toEqual([{ lo: '1993-07-05', hi: '1998-12-08' }]);
    expect(await project.offline.all(`SELECT status, count(*)::INT AS n FROM loan GROUP BY status ORDER BY status`)).toEqual([
      { status: 'A', n: 203 }, { status: 'B', n: 31 }, { status: 'C', n: 403 }, { status: 'D', n: 45 },
    ]);
    // district 69's '?' values load as NULL through the table's nullValues
    expect(await project.offline.all('SELECT A12, A15, A13 FROM district WHERE A1 = 69')).toEqual([{ A12: null, A15: null, A13: 7.01 }]);
  }, 120_000);

  it("loads Give Me Some Credit's cs-training.csv: NA as NULL in numeric columns, R's row names dropped or named", async () => {
    ctx = await tempProject(`export default { name: 'gmsc', tables: { declared: { key: 'id', rowNames: 'id', allowExtraColumns: true, columns: {
      id: 'bigint', SeriousDlqin2yrs: 'integer', MonthlyIncome: 'double', NumberOfDependents: 'integer' } } } };\n`);
    const project = ctx.project;
    const r = await ingest(project, { table: 'inferred', inputs: [GMSC], progress: false });
    expect(r.tableRows).toBe(150_000);
    expect(r.notes).toEqual([expect.stringContaining("dropped R's row-name column")]);
    const t = await types(project, 'inferred');
    expect(Object.keys(t)).toHaveLength(11);
    expect(t.MonthlyIncome).toMatch(/^(BIGINT|DOUBLE)$/);
    expect(t.NumberOfDependents).toBe('BIGINT');
    const nulls = await project.offline.all('SELECT count(*) FILTER (WHERE MonthlyIncome IS NULL)::INT AS mi, count(*) FILTER (WHERE NumberOfDependents IS NULL)::INT AS nd, sum(SeriousDlqin2yrs)::INT AS pos FROM inferred');
    expect(nulls).toEqual([{ mi: 29_731, nd: 3_924, pos: 10_026 }]);

    const d = await ingest(project, { table: 'declared', inputs: [GMSC], progress: false });
    expect(d.tableRows).toBe(150_000);
    expect(d.notes).toEqual([]);
    const dt = await types(project, 'declared');
    expect([dt.id, dt.MonthlyIncome, dt.NumberOfDependents]).toEqual(['BIGINT', 'DOUBLE', 'INTEGER']);
    expect(await project.offline.all('SELECT min(id)::INT AS lo, max(id)::INT AS hi, count(MonthlyIncome)::INT AS mi FROM declared')).toEqual([{ lo: 1, hi: 150_000, mi: 150_000 - 29_731 }]);
  }, 120_000);
});
