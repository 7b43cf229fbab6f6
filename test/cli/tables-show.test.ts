import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kiln, tempDir, write } from '../helpers.js';

describe('kiln tables show and the new ingest flags', () => {
  let dir: string;
  let cleanup: () => void;
  let root: string;
  beforeAll(async () => {
    ({ dir, cleanup } = tempDir('kiln-show-'));
    expect((await kiln(['init', 'proj'], dir)).code).toBe(0);
    root = join(dir, 'proj');
    write(root, 'loans.csv', '"","loan_id","day","amount","status"\n"1",1,05/07/1993,100.5,A\n"2",2,06/07/1993,NA,B\n"3",3,07/07/1993,2000,NA\n');
    const ing = await kiln(['ingest', 'loans', 'loans.csv', '--timestamp', 'day', '--timestamp-format', '%d/%m/%Y', '--key', 'loan_id'], root);
    expect(ing.stderr).toBe('');
    expect(ing.stdout).toContain("note: ");
    expect(ing.stdout).toContain("dropped R's row-name column");
    expect(ing.stdout).toContain("appended 3 rows from 1 file into 'loans'");
  }, 60_000);
  afterAll(() => cleanup());

  it('prints rows as an aligned table, with a limit and a predicate', async () => {
    const all = await kiln(['tables', 'show', 'loans'], root);
    expect(all.code).toBe(0);
    const lines = all.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^loan_id\s+day\s+amount\s+status$/);
    expect(lines[1]).toMatch(/^1\s+1993-07-05 00:00:00\s+100\.5\s+A$/);
    expect(lines[2]).toMatch(/^2\s+1993-07-06 00:00:00\s+NULL\s+B$/);
    expect(lines[4]).toBe("(3 of 3 rows in 'loans')");
    const some = await kiln(['tables', 'show', 'loans', '--where', 'amount > 150 OR status IS NULL', '--limit', '5'], root);
    expect(some.stdout).toContain("(1 of 1 row matching in 'loans')");
    expect(some.stdout).toMatch(/^3\s+1993-07-07 00:00:00\s+2000(\.0)?\s+NULL$/m);
  });

  it('prints JSON lines', async () => {
    const r = await kiln(['tables', 'show', 'loans', '--json', '--limit', '2'], root);
    expect(r.stdout.trim().split('\n').map((l) => JSON.parse(l) as unknown)).toEqual([
      { loan_id: 1, day: '1993-07-05 00:00:00', amount: 100.5, status: 'A' },
      { loan_id: 2, day: '1993-07-06 00:00:00', amount: null, status: 'B' },
    ]);
  });

  it('names an unknown table with a did-you-mean, and a bad predicate, without an internal error', async () => {
    const r = await kiln(['tables', 'show', 'loan'], root);
    expect(r.code).toBe(66);
    expect(r.stderr).toContain("error [TABLE_NOT_FOUND]: table 'loan' is not in the offline store; did you mean 'loans'?");
    const w = await kiln(['tables', 'show', 'loans', '--where', 'amout > 1'], root);
    expect(w.code).toBe(64);
    expect(w.stderr).toContain('error [USAGE]: --where "amout > 1": DuckDB cannot run it as a condition on table \'loans\'');
    expect(w.stderr).toContain('columns: loan_id BIGINT, day TIMESTAMP, amount DOUBLE, status VARCHAR');
    const inj = await kiln(['tables', 'show', 'loans', '--where', "true; DROP TABLE loans"], root);
    expect(inj.stderr).toContain('error [USAGE]');
    expect((await kiln(['tables', 'show', 'loans', '--limit', 'ten'], root)).stderr).toContain('error [USAGE]: --limit ten');
    expect((await kiln(['tables'], root)).stdout).toMatch(/loans\s+3/);
  });
});
