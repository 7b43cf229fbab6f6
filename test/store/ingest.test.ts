import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ingest, type Project } from '../../src/store/index.js';
import { tempProject, write } from '../helpers.js';
import { failMessage as fails } from '../fails.js';

const DECLARED = `export default {
  name: 'ingest-test',
  tables: {
    loans: {
      key: 'loan_id',
      timestamp: 'funded_at',
      columns: {
        loan_id: 'bigint',
        funded_at: 'timestamp',
        amount: { type: 'double', nullable: false },
        purpose: 'varchar',
        note: { type: 'varchar', required: false },
      },
    },
  },
};
`;

let ctx: Awaited<ReturnType<typeof tempProject>>;
let project: Project;
let dir: string;

async function snapshot(table: string): Promise<unknown[]> {
  if (!(await project.offline.tableExists(table))) return [];
  return project.offline.all(`SELECT * FROM ${table} ORDER BY ALL`);
}

async function stagingTables(): Promise<number> {
  const r = await project.offline.all<{ n: number }>(`SELECT count(*)::INT AS n FROM duckdb_tables() WHERE table_name LIKE '__kiln_stage%'`);
  return r[0]!.n;
}

describe('ingest with an inferred schema', () => {
  beforeEach(async () => {
    ctx = await tempProject();
    project = ctx.project;
    dir = ctx.dir;
  });
  afterEach(() => ctx.cleanup());

  it('loads a CSV, infers types, converts time zones to UTC and registers the table', async () => {
    const f = write(dir, 'tx.csv', 'txn_id,ts,amount,merchant\n1,2024-01-01 10:00:00,12.5,acme\n2,2024-01-02T05:00:00+02:00,7,"big, co"\n');
    const r = await ingest(project, { table: 'tx', inputs: [f], timestamp: 'ts', key: 'txn_id', progress: false });
    expect(r).toMatchObject({ rowsAdded: 2, tableRows: 2, mode: 'append' });
    const rows = await project.offline.all<{ ts: string; merchant: string }>('SELECT ts::VARCHAR AS ts, merchant FROM tx ORDER BY txn_id');
    expect(rows).toEqual([{ ts: '2024-01-01 10:00:00', merchant: 'acme' }, { ts: '2024-01-02 03:00:00', merchant: 'big, co' }]);
    const types = await project.offline.all<{ column_name: string; column_type: string }>('DESCRIBE tx');
    expect(types.map((t) => t.column_type)).toEqual(['BIGINT', 'TIMESTAMP', 'DOUBLE', 'VARCHAR']);
    expect(project.meta.getTable('tx')).toMatchObject({ timestampColumn: 'ts', keyColumn: 'txn_id', source: 'ingest' });
  });

  it('rejects ragged rows naming the file and lines, showing the rows', async () => {
    const f = write(dir, 'ragged.csv', 'a,b,c\n1,2,3\n4,5,6,7\n8,9\n10,11,12\n');
    const m = await fails(ingest(project, { table: 't', inputs: [f], progress: false }), 'INGEST_BAD_ROWS');
    expect(m).toContain(`${f}: 2 bad rows; nothing was loaded (table 't' is unchanged)`);
    expect(m).toContain('line 3: too many fields: expected 3, found more');
    expect(m).toContain('      4,5,6,7');
    expect(m).toContain('line 4: too few fields: expected 3');
    expect(m).toContain('      8,9');
    expect(await project.offline.tableExists('t')).toBe(false);
  });

  it('rejects unparseable timestamps with the line and column', async () => {
    const f = write(dir, 'ts.csv', 'id,ts\n1,2024-01-01\n2,2024-13-45\n3,yesterday\n');
    const m = await fails(ingest(project, { table: 't', inputs: [f], timestamp: 'ts', progress: false }), 'INGEST_BAD_ROWS');
    expect(m).toContain('2 bad rows');
    expect(m).toContain(`line 3, column 'ts': "2024-13-45" is not a valid timestamp`);
    expect(m).toContain(`line 4, column 'ts': "yesterday" is not a valid timestamp`);
  });

  it('rejects an empty timestamp', async () => {
    const f = write(dir, 'ts.csv', 'id,ts\n1,2024-01-01\n2,\n');
    const m = await fails(ingest(project, { table: 't', inputs: [f], timestamp: 'ts', progress: false }), 'INGEST_BAD_ROWS');
    expect(m).toContain(`line 3, column 'ts': missing value (the timestamp column cannot be empty)`);
  });

  it('rejects an empty file and a header-only file', async () => {
    const empty = write(dir, 'empty.csv', '');
    expect(await fails(ingest(project, { table: 't', inputs: [empty], progress: false }), 'INGEST_EMPTY_FILE')).toContain(`${empty}: the file is empty`);
    const header = write(dir, 'header.csv', 'a,b\n');
    expect(await fails(ingest(project, { table: 't', inputs: [header], progress: false }), 'INGEST_EMPTY_FILE')).toContain('has a header but no data rows');
  });

  it('rejects duplicate keys within a file, across files and against the table', async () => {
    const d = write(dir, 'dup.csv', 'id,v\n1,a\n2,b\n1,c\n3,d\n1,e\n');
    const m = await fails(ingest(project, { table: 't', inputs: [d], key: 'id', progress: false }), 'INGEST_DUPLICATE_KEYS');
    expect(m).toContain("key 'id' must be unique but 1 value repeats");
    expect(m).toContain('id = 1: 3 times (lines 2, 4, 6)');

    const a = write(dir, 'a.csv', 'id,v\n1,a\n2,b\n');
    const b = write(dir, 'b.csv', 'id,v\n3,c\n2,d\n');
    const m2 = await fails(ingest(project, { table: 't', inputs: [a, b], key: 'id', progress: false }), 'INGEST_DUPLICATE_KEYS');
    expect(m2).toContain(`id = 2: ${a} line 3 and ${b} line 3`);

    await ingest(project, { table: 't', inputs: [a], key: 'id', progress: false });
    const c = write(dir, 'c.csv', 'id,v\n5,x\n1,y\n');
    const m3 = await fails(ingest(project, { table: 't', inputs: [c], progress: false }), 'INGEST_DUPLICATE_KEYS');
    expect(m3).toContain("1 key value is already in table 't'");
    expect(m3).toContain('id = 1 (line 3)');
  });

  it('names a --timestamp or --key column that is not in the file', async () => {
    const f = write(dir, 'x.csv', 'id,event_ts\n1,2024-01-01\n');
    const m = await fails(ingest(project, { table: 't', inputs: [f], timestamp: 'event_time', progress: false }), 'INGEST_MISSING_COLUMNS');
    expect(m).toContain("--timestamp column 'event_time' is not in the file (columns: id, event_ts); did you mean 'event_ts'?");
  });

  it('is a no-op to re-ingest the same content in append mode, unless forced', async () => {
    const f = write(dir, 'x.csv', 'id,v\n1,a\n2,b\n');
    await ingest(project, { table: 't', inputs: [f], progress: false });
    const copy = write(dir, 'copy-of-x.csv', 'id,v\n1,a\n2,b\n');
    const again = await ingest(project, { table: 't', inputs: [copy], progress: false });
    expect(again.rowsAdded).toBe(0);
    expect(again.skipped).toHaveLength(1);
    expect(again.tableRows).toBe(2);
    const forced = await ingest(project, { table: 't', inputs: [f], force: true, progress: false });
    expect(forced.tableRows).toBe(4);
    // after a replace, the content counts as ingested once again
    await ingest(project, { table: 't', inputs: [f], mode: 'replace', progress: false });
    expect((await ingest(project, { table: 't', inputs: [f], progress: false })).rowsAdded).toBe(0);
    expect((await snapshot('t'))).toHaveLength(2);
    expect(project.meta.ingestLog('t').every((r) => r.status === 'done')).toBe(true);
  });

  it('replaces a table, and refuses to append a file with another schema', async () => {
    await ingest(project, { table: 't', inputs: [write(dir, 'a.csv', 'id,v\n1,a\n')], progress: false });
    const other = write(dir, 'b.csv', 'id,w\n2,b\n');
    const m = await fails(ingest(project, { table: 't', inputs: [other], progress: false }), 'INGEST_SCHEMA_MISMATCH');
    expect(m).toContain("column 'w' is new");
    expect(m).toContain("column 'v' of the table is missing from the file");
    const r = await ingest(project, { table: 't', inputs: [other], mode: 'replace', progress: false });
    expect(r.tableRows).toBe(1);
    expect(await snapshot('t')).toEqual([{ id: 2, w: 'b' }]);
  });

  it('loads globs of files in one all-or-nothing batch', async () => {
    write(dir, 'part-1.csv', 'id,v\n1,a\n');
    write(dir, 'part-2.csv', 'id,v\n2,b\n');
    const r = await ingest(project, { table: 't', inputs: ['part-*.csv'], cwd: dir, progress: false });
    expect(r.files).toHaveLength(2);
    expect(r.tableRows).toBe(2);
    await fails(ingest(project, { table: 't', inputs: ['nothing-*.csv'], cwd: dir, progress: false }), 'INGEST_NO_FILES');
    await fails(ingest(project, { table: 't', inputs: ['missing.csv'], cwd: dir, progress: false }), 'INGEST_NO_FILES');
  });

  it('leaves the table exactly as it was when a later file of a batch fails', async () => {
    await ingest(project, { table: 't', inputs: [write(dir, 'base.csv', 'id,v\n1,a\n2,b\n')], key: 'id', progress: false });
    const before = await snapshot('t');
    const good = write(dir, 'good.csv', 'id,v\n3,c\n4,d\n');
    const bad = write(dir, 'z-bad.csv', 'id,v\n5,e\n6,f,extra\n');
    await fails(ingest(project, { table: 't', inputs: [good, bad], progress: false }), 'INGEST_BAD_ROWS');
    expect(await snapshot('t')).toEqual(before);
    expect(await stagingTables()).toBe(0);
    // the failed batch did not mark the good file as ingested
    expect((await ingest(project, { table: 't', inputs: [good], progress: false })).rowsAdded).toBe(2);
  });

  it('rolls back when the commit itself fails midway', async () => {
    await ingest(project, { table: 't', inputs: [write(dir, 'base.csv', 'id,v\n1,a\n')], progress: false });
    const before = await snapshot('t');
    // a trigger-like failure: a CHECK constraint on the table that the second staged file violates
    await project.offline.run(`CREATE TABLE t2 (id BIGINT, v VARCHAR CHECK (v <> 'boom'))`);
    await project.offline.run(`INSERT INTO t2 SELECT * FROM t`);
    await project.offline.run(`DROP TABLE t`);
    await project.offline.run(`ALTER TABLE t2 RENAME TO t`);
    const ok = write(dir, 'ok.csv', 'id,v\n2,fine\n');
    const boom = write(dir, 'boom.csv', 'id,v\n3,boom\n');
    await expect(ingest(project, { table: 't', inputs: [ok, boom], progress: false })).rejects.toThrow(/CHECK constraint/);
    expect(await snapshot('t')).toEqual(before);
    expect(await stagingTables()).toBe(0);
    expect(project.meta.ingestLog('t').filter((r) => r.status === 'failed').map((r) => r.filePath).sort()).toEqual([boom, ok].sort());
  });

  it('loads Parquet and reports rows that do not convert to the declared timestamp', async () => {
    const pq = join(dir, 'x.parquet');
    await project.offline.run(`COPY (SELECT i AS id, CASE WHEN i = 3 THEN 'soon' ELSE '2024-01-0' || i END AS ts FROM range(1, 5) t(i)) TO '${pq}' (FORMAT parquet)`);
    const m = await fails(ingest(project, { table: 'p', inputs: [pq], timestamp: 'ts', progress: false }), 'INGEST_BAD_ROWS');
    expect(m).toContain(`row 3, column 'ts': "soon" is not a valid timestamp`);
    const good = join(dir, 'good.parquet');
    await project.offline.run(`COPY (SELECT i AS id, TIMESTAMPTZ '2024-01-01 00:00:00+01' + to_hours(i) AS ts FROM range(3) t(i)) TO '${good}' (FORMAT parquet)`);
    const r = await ingest(project, { table: 'p', inputs: [good], timestamp: 'ts', key: 'id', progress: false });
    expect(r.tableRows).toBe(3);
    const rows = await project.offline.all<{ ts: string }>('SELECT min(ts)::VARCHAR AS ts FROM p');
    expect(rows[0]!.ts).toBe('2023-12-31 23:00:00');
  });

  it('loads NDJSON and reports malformed lines and bad values by line', async () => {
    const bad = write(dir, 'bad.ndjson', '{"id":1,"ts":"2024-01-01"}\n{"id":2,"ts":"2024-01-02"\n[1,2]\n{"id":4,"ts":"2024-01-04"}\n');
    const m = await fails(ingest(project, { table: 'j', inputs: [bad], progress: false }), 'INGEST_BAD_ROWS');
    expect(m).toContain('line 2: malformed JSON');
    expect(m).toContain('line 3: not a JSON object');
    const badTs = write(dir, 'badts.ndjson', '{"id":1,"ts":"2024-01-01"}\n{"id":2,"ts":"tomorrow"}\n');
    expect(await fails(ingest(project, { table: 'j', inputs: [badTs], timestamp: 'ts', progress: false }), 'INGEST_BAD_ROWS')).toContain(`line 2, column 'ts': "tomorrow" is not a valid timestamp`);
    const good = write(dir, 'good.ndjson', '{"id":1,"ts":"2024-01-01T00:00:00Z","amount":1.5,"tags":{"a":1}}\n{"id":2,"ts":"2024-01-02","amount":2}\n');
    await ingest(project, { table: 'j', inputs: [good], timestamp: 'ts', progress: false });
    const types = await project.offline.all<{ column_name: string; column_type: string }>('DESCRIBE j');
    expect(Object.fromEntries(types.map((t) => [t.column_name, t.column_type]))).toEqual({ id: 'BIGINT', ts: 'TIMESTAMP', amount: 'DOUBLE', tags: 'VARCHAR' });
  });

  it('refuses an unknown extension without --format, and accepts it with one', async () => {
    const f = write(dir, 'data.dat', 'id\n1\n');
    expect(await fails(ingest(project, { table: 't', inputs: [f], progress: false }), 'INGEST_BAD_FORMAT')).toContain("cannot tell the format from the extension '.dat'");
    expect((await ingest(project, { table: 't', inputs: [f], format: 'csv', progress: false })).rowsAdded).toBe(1);
  });
});

describe('ingest with a declared schema', () => {
  beforeEach(async () => {
    ctx = await tempProject(DECLARED);
    project = ctx.project;
    dir = ctx.dir;
  });
  afterEach(() => ctx.cleanup());

  it('enforces declared types with the line, column and value', async () => {
    const f = write(dir, 'loans.csv', 'loan_id,funded_at,amount,purpose\n1,2024-01-01,1000,car\n2,2024-01-02,lots,home\n');
    const m = await fails(ingest(project, { table: 'loans', inputs: [f], progress: false }), 'INGEST_BAD_ROWS');
    expect(m).toContain(`line 3, column 'amount': "lots" is not a valid DOUBLE`);
    expect(m).toContain('      2,2024-01-02,lots,home');
  });

  it('names missing required columns and undeclared ones', async () => {
    const f = write(dir, 'loans.csv', 'loan_id,funded_at,purpose\n1,2024-01-01,car\n');
    const m = await fails(ingest(project, { table: 'loans', inputs: [f], progress: false }), 'INGEST_MISSING_COLUMNS');
    expect(m).toContain("required column 'amount' is missing (the file has: loan_id, funded_at, purpose)");
    const g = write(dir, 'loans2.csv', 'loan_id,funded_at,amount,purpose,colour\n1,2024-01-01,5,car,red\n');
    const m2 = await fails(ingest(project, { table: 'loans', inputs: [g], progress: false }), 'INGEST_UNKNOWN_COLUMNS');
    expect(m2).toContain("column 'colour' is not declared for table 'loans'");
  });

  it('rejects NULL in a non-nullable column; loads optional columns as NULL; uses the declared key', async () => {
    const f = write(dir, 'loans.csv', 'loan_id,funded_at,amount,purpose\n1,2024-01-01,,car\n');
    expect(await fails(ingest(project, { table: 'loans', inputs: [f], progress: false }), 'INGEST_BAD_ROWS')).toContain(
      "line 2, column 'amount': missing value (declared nullable: false cannot be empty)",
    );
    const g = write(dir, 'loans-ok.csv', 'purpose,loan_id,amount,funded_at\ncar,1,100,2024-01-01\nhome,2,200,2024-01-02\n');
    await ingest(project, { table: 'loans', inputs: [g], progress: false });
    expect(await project.offline.all('SELECT loan_id, note FROM loans ORDER BY loan_id')).toEqual([{ loan_id: 1, note: null }, { loan_id: 2, note: null }]);
    const dup = write(dir, 'loans-dup.csv', 'loan_id,funded_at,amount,purpose\n2,2024-02-01,5,car\n');
    expect(await fails(ingest(project, { table: 'loans', inputs: [dup], progress: false }), 'INGEST_DUPLICATE_KEYS')).toContain("already in table 'loans'");
    expect(await fails(ingest(project, { table: 'loans', inputs: [dup], key: 'purpose', progress: false }), 'INGEST_BAD_OPTION')).toContain(
      "--key purpose disagrees with the config, which declares key: 'loan_id'",
    );
  });
});
