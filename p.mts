import { DuckDBInstance } from '@duckdb/node-api';
const inst = await DuckDBInstance.create(':memory:');
const con = await inst.connect();
async function q(sql: string) { try { const r = await con.runAndReadAll(sql); console.log(sql.slice(0,100), '\n', JSON.stringify(r.getRowObjectsJson())); } catch (e) { console.log('ERR', sql.slice(0,140), '\n', (e as Error).message); } }
const rd = `read_csv('/tmp/proto/csv/bad.csv', header=true, delim=',', quote='"', escape='"', types={'ts': 'TIMESTAMPTZ'}, store_rejects=true, rejects_table='rj', rejects_scan='rs')`;
await q(`DESCRIBE SELECT * FROM ${rd}`);
await q(`CREATE TABLE s AS SELECT * FROM ${rd}`);
await q(`SELECT line, column_name, error_type, error_message FROM rj`);
await q(`SELECT * FROM s`);
await q(`SELECT '2024-01-02'::TIMESTAMPTZ, TRY_CAST('notadate' AS TIMESTAMPTZ)`);
