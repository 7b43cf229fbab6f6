import { gzipSync } from 'node:zlib';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ingest, type Project } from '../../src/store/index.js';
import { tempProject, write } from '../helpers.js';
import { failMessage as fails } from '../fails.js';

let ctx: Awaited<ReturnType<typeof tempProject>> | undefined;

async function open(config?: string): Promise<{ project: Project; dir: string }> {
  ctx = await tempProject(config);
  return { project: ctx.project, dir: ctx.dir };
}
afterEach(() => { ctx?.cleanup(); ctx = undefined; });

async function types(project: Project, table: string): Promise<Record<string, string>> {
  const r = await project.offline.all<{ column_name: string; column_type: string }>(`DESCRIBE ${table}`);
  return Object.fromEntries(r.map((c) => [c.column_name, c.column_type]));
}

function gz(dir: string, name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, gzipSync(Buffer.from(text)));
  return p;
}

const config = (tables: string): string => `export default { name: 'exports-test', tables: ${tables} };\n`;

describe('missing-value tokens', () => {
  it('loads NA, NaN, NULL, null, N/A and empty fields as NULL in numeric and text columns', async () => {
    const { project, dir } = await open();
    const f = write(dir, 'x.csv', 'id,income,deps,city\n1,9120,2,Brno\n2,NA,NA,NA\n3,NaN,,N/A\n4,NULL,null,\n5,2600.5,1,Praha\n');
    await ingest(project, { table: 'x', inputs: [f], progress: false });
    expect(await types(project, 'x')).toEqual({ id: 'BIGINT', income: 'DOUBLE', deps: 'BIGINT', city: 'VARCHAR' });
    const rows = await project.offline.all<{ id: number; income: number | null; deps: number | null; city: string | null }>('SELECT * FROM x ORDER BY id');
    expect(rows.map((r) => r.income)).toEqual([9120, null, null, null, 2600.5]);
    expect(rows.map((r) => r.deps)).toEqual([2, null, null, null, 1]);
    expect(rows.map((r) => r.city)).toEqual(['Brno', null, null, null, 'Praha']);
    // NaN is NULL, not a DOUBLE NaN: aggregates stay finite
    expect((await project.offline.all<{ n: number }>('SELECT count(income)::INT AS n FROM x'))[0]!.n).toBe(2);
  });

  it('applies the tokens to declared columns, and takes the list per ingest or per table', async () => {
    const { project, dir } = await open(config(`{ d: { nullValues: ['?', '-'], columns: { id: 'bigint', v: 'double', s: 'varchar' } } }`));
    const f = write(dir, 'd.csv', 'id,v,s\n1,?,-\n2,3.5,NA\n');
    await ingest(project, { table: 'd', inputs: [f], progress: false });
    expect(await project.offline.all('SELECT * FROM d ORDER BY id')).toEqual([{ id: 1, v: null, s: null }, { id: 2, v: 3.5, s: 'NA' }]);
    const g = write(dir, 'g.csv', 'id,v\n1,missing\n2,4\n');
    await ingest(project, { table: 'g', inputs: [g], nullValues: ['missing'], progress: false });
    expect(await types(project, 'g')).toEqual({ id: 'BIGINT', v: 'BIGINT' });
    // without the token the value is text, and a declared type rejects it by line
    const h = write(dir, 'h.csv', 'id,v,s\n3,missing,x\n');
    expect(await fails(ingest(project, { table: 'd', inputs: [h], progress: false }), 'INGEST_BAD_ROWS')).toContain(`line 2, column 'v': "missing" is not a valid DOUBLE`);
  });
});

describe('time formats', () => {
  it('parses declared formats exactly: yymmdd (not read as an integer), dd/mm/yyyy, Mon-yyyy, epoch seconds and milliseconds', async () => {
    const { project, dir } = await open(config(`{
      t: { timestamp: 'ts', columns: {
        id: 'bigint',
        ts: { type: 'timestamp', format: '%y%m%d' },
        d: { type: 'date', format: '%d/%m/%Y' },
        m: { type: 'date', format: '%b-%Y' },
        es: { type: 'timestamp', format: 'epoch_s' },
        ems: { type: 'timestamp', format: 'epoch_ms' },
      } },
    }`));
    const f = write(dir, 't.csv', 'id,ts,d,m,es,ems\n1,930705,05/07/1993,Jan-2018,1700000000,1700000000500\n2,981208,31/12/1998,Dec-2019,0,NA\n');
    await ingest(project, { table: 't', inputs: [f], progress: false });
    expect(await types(project, 't')).toEqual({ id: 'BIGINT', ts: 'TIMESTAMP', d: 'DATE', m: 'DATE', es: 'TIMESTAMP', ems: 'TIMESTAMP' });
    const rows = await project.offline.all('SELECT ts::VARCHAR AS ts, d::VARCHAR AS d, m::VARCHAR AS m, es::VARCHAR AS es, ems::VARCHAR AS ems FROM t ORDER BY id');
    expect(rows).toEqual([
      { ts: '1993-07-05 00:00:00', d: '1993-07-05', m: '2018-01-01', es: '2023-11-14 22:13:20', ems: '2023-11-14 22:13:20.5' },
      { ts: '1998-12-08 00:00:00', d: '1998-12-31', m: '2019-12-01', es: '1970-01-01 00:00:00', ems: null },
    ]);
  });

  it('reports a value that does not fit the format with its line, and refuses an invalid format', async () => {
    const { project, dir } = await open();
    const f = write(dir, 'l.csv', 'id,day\n1,05/07/1993\n2,1993-07-06\n3,31/02/1993\n');
    const m = await fails(ingest(project, { table: 'l', inputs: [f], timestamp: 'day', timestampFormat: '%d/%m/%Y', progress: false }), 'INGEST_BAD_ROWS');
    expect(m).toContain(`2 bad rows`);
    expect(m).toContain(`line 3, column 'day': "1993-07-06" does not fit the format '%d/%m/%Y' of this timestamp column`);
    expect(m).toContain(`line 4, column 'day': "31/02/1993" does not fit the format`);
    expect(await project.offline.tableExists('l')).toBe(false);
    const ok = write(dir, 'ok.csv', 'id,day\n1,05/07/1993\n');
    await ingest(project, { table: 'l', inputs: [ok], timestamp: 'day', timestampFormat: '%d/%m/%Y', progress: false });
    expect(await project.offline.all('SELECT day::VARCHAR AS day FROM l')).toEqual([{ day: '1993-07-05 00:00:00' }]);
    expect(await fails(ingest(project, { table: 'l2', inputs: [ok], timestamp: 'day', timestampFormat: '%d/%Q/%Y', progress: false }), 'INGEST_BAD_OPTION')).toContain("time format '%d/%Q/%Y' of column 'day' is not valid");
    expect(await fails(ingest(project, { table: 'l2', inputs: [ok], timestampFormat: '%d/%m/%Y', progress: false }), 'INGEST_BAD_OPTION')).toContain('--timestamp-format needs a timestamp column');
  });

  it('refuses a format on a column that is not a date or timestamp, in the config', async () => {
    const m = await fails(open(config(`{ t: { columns: { id: { type: 'bigint', format: '%Y' } } } }`)), 'CONFIG_INVALID');
    expect(m).toContain('tables.t.columns.id');
    expect(m).toContain("format applies only to columns of type 'date' or 'timestamp'");
  });
});

describe('compressed files', () => {
  it('loads .csv.gz, .ndjson.gz and a ;-separated .asc.gz with --format csv', async () => {
    const { project, dir } = await open();
    const c = gz(dir, 'a.csv.gz', 'id,v\n1,a\n2,b\n');
    expect((await ingest(project, { table: 'a', inputs: [c], progress: false })).tableRows).toBe(2);
    const j = gz(dir, 'j.ndjson.gz', '{"id":1,"ts":"2024-01-01"}\n{"id":2,"ts":"2024-01-02"}\n');
    expect((await ingest(project, { table: 'j', inputs: [j], timestamp: 'ts', progress: false })).tableRows).toBe(2);
    expect(await types(project, 'j')).toEqual({ id: 'BIGINT', ts: 'TIMESTAMP' });
    const asc = gz(dir, 'trans.asc.gz', '"trans_id";"date";"type";"amount";"bank"\r\n1;930101;"PRIJEM";700.00;\r\n2;930102;"VYDAJ";15.5;"AB"\r\n');
    await fails(ingest(project, { table: 't', inputs: [asc], progress: false }), 'INGEST_BAD_FORMAT');
    await ingest(project, { table: 't', inputs: [asc], format: 'csv', timestamp: 'date', timestampFormat: '%y%m%d', progress: false });
    expect(await types(project, 't')).toEqual({ trans_id: 'BIGINT', date: 'TIMESTAMP', type: 'VARCHAR', amount: 'DOUBLE', bank: 'VARCHAR' });
    expect(await project.offline.all('SELECT date::VARCHAR AS date, type, bank FROM t ORDER BY trans_id')).toEqual([
      { date: '1993-01-01 00:00:00', type: 'PRIJEM', bank: null },
      { date: '1993-01-02 00:00:00', type: 'VYDAJ', bank: 'AB' },
    ]);
    const bad = gz(dir, 'bad.csv.gz', 'id,ts\n1,2024-01-01\n2,soon\n');
    expect(await fails(ingest(project, { table: 'b', inputs: [bad], timestamp: 'ts', progress: false }), 'INGEST_BAD_ROWS')).toContain(`line 3, column 'ts': "soon" is not a valid timestamp`);
  });
});

describe('appending to a typed table', () => {
  it('reads the file with the table types, so a bad value is named by line and column', async () => {
    const { project, dir } = await open();
    await ingest(project, { table: 'p', inputs: [write(dir, 'a.csv', 'id,amount\n1,10.5\n2,3\n')], progress: false });
    const f = write(dir, 'b.csv', 'id,amount\n3,1\n4,2.5\n5,twelve\n6,4\n');
    const m = await fails(ingest(project, { table: 'p', inputs: [f], progress: false }), 'INGEST_BAD_ROWS');
    expect(m).toContain(`line 4, column 'amount': "twelve" is not a valid DOUBLE`);
    expect(m).not.toContain('VARCHAR in the file');
    // a file whose values are all integers appends to the DOUBLE column as DOUBLE
    await ingest(project, { table: 'p', inputs: [write(dir, 'c.csv', 'id,amount\n7,1\n')], progress: false });
    expect(await types(project, 'p')).toEqual({ id: 'BIGINT', amount: 'DOUBLE' });
  });
});

describe('no silent wrong loads', () => {
  it('refuses a file whose delimiter is not a known one, unless it is given', async () => {
    const { project, dir } = await open(config(`{ c: { delimiter: ':' } }`));
    const f = write(dir, 'colon.csv', 'loan_id:funded_at:amount\n1:2024-01-01:100\n2:2024-01-02:200\n');
    const m = await fails(ingest(project, { table: 'x', inputs: [f], progress: false }), 'INGEST_BAD_FORMAT');
    expect(m).toContain(`${f}: line 1: the header "loan_id:funded_at:amount" has none of the delimiters , ; tab | but has ':'`);
    expect(m).toContain(`pass --delimiter ':'`);
    await ingest(project, { table: 'x', inputs: [f], delimiter: ':', progress: false });
    expect(await types(project, 'x')).toEqual({ loan_id: 'BIGINT', funded_at: 'DATE', amount: 'BIGINT' });
    await ingest(project, { table: 'c', inputs: [f], progress: false });
    expect(Object.keys(await types(project, 'c'))).toEqual(['loan_id', 'funded_at', 'amount']);
  });

  it('loads a real one-column file, and refuses one whose data lines have a delimiter', async () => {
    const { project, dir } = await open();
    const one = write(dir, 'one.csv', 'ts\n2024-01-01 10:00:00\n"a, quoted; value"\n');
    expect((await ingest(project, { table: 'one', inputs: [one], progress: false })).tableRows).toBe(2);
    const two = write(dir, 'two.csv', 'loans\n1\n2;3\n');
    expect(await fails(ingest(project, { table: 'two', inputs: [two], progress: false }), 'INGEST_BAD_FORMAT')).toContain(`${two}: line 3 has ';' outside quotes but the header (line 1) is one column`);
  });

  it('refuses a repeated or empty header name, naming line 1', async () => {
    const { project, dir } = await open();
    const f = write(dir, 'dup.csv', 'a,b,a\n1,2,3\n');
    expect(await fails(ingest(project, { table: 'd', inputs: [f], progress: false }), 'INGEST_BAD_FORMAT')).toContain(`${f}: line 1: the header names column 'a' twice (fields 1 and 3)`);
    const g = write(dir, 'empty.csv', 'a,,c\n1,2,3\n');
    expect(await fails(ingest(project, { table: 'd', inputs: [g], progress: false }), 'INGEST_BAD_FORMAT')).toContain('line 1: field 2 of the header is empty');
    expect(await project.offline.tableExists('d')).toBe(false);
  });

  it("drops R's row-name column and says so, or keeps it under a given name; ignores a byte-order mark", async () => {
    const { project, dir } = await open();
    const f = write(dir, 'r.csv', '\ufeff"","y","income"\r\n"1",1,NA\r\n"2",0,2600\r\n');
    const r = await ingest(project, { table: 'r', inputs: [f], progress: false });
    expect(r.notes).toEqual([expect.stringContaining("dropped R's row-name column")]);
    expect(await types(project, 'r')).toEqual({ y: 'BIGINT', income: 'BIGINT' });
    const k = await ingest(project, { table: 'k', inputs: [f], rowNames: 'row_id', progress: false });
    expect(k.notes).toEqual([]);
    expect(await project.offline.all('SELECT * FROM k ORDER BY row_id')).toEqual([{ row_id: 1, y: 1, income: null }, { row_id: 2, y: 0, income: 2600 }]);
    const bom = write(dir, 'bom.csv', '\ufeffid,v\n1,a\n');
    await ingest(project, { table: 'b', inputs: [bom], key: 'id', progress: false });
    expect(await types(project, 'b')).toEqual({ id: 'BIGINT', v: 'VARCHAR' });
  });
});

describe('time formats beyond CSV', () => {
  it('parses an integer Parquet column and NDJSON text with a format; an out-of-range epoch is a bad row', async () => {
    const { project, dir } = await open();
    const pq = join(dir, 'd.parquet');
    await project.offline.run(`COPY (SELECT i AS id, (930700 + i)::INTEGER AS day FROM range(1, 4) t(i)) TO '${pq}' (FORMAT parquet)`);
    await ingest(project, { table: 'p', inputs: [pq], timestamp: 'day', timestampFormat: '%y%m%d', progress: false });
    expect(await project.offline.all('SELECT day::VARCHAR AS day FROM p ORDER BY id')).toEqual([
      { day: '1993-07-01 00:00:00' }, { day: '1993-07-02 00:00:00' }, { day: '1993-07-03 00:00:00' },
    ]);
    const j = write(dir, 'e.ndjson', '{"id":1,"at":"1700000000"}\n{"id":2,"at":"1e20"}\n');
    const m = await fails(ingest(project, { table: 'e', inputs: [j], timestamp: 'at', timestampFormat: 'epoch_s', progress: false }), 'INGEST_BAD_ROWS');
    expect(m).toContain(`line 2, column 'at': "1e20" does not fit the format 'epoch_s'`);
  });
});
