/**
 * The worker side of pg-sync.ts, as CommonJS source run with `new Worker(code, { eval: true })`: no file
 * to resolve under tsx or from dist. It holds one `pg` connection, runs each request, posts the reply on
 * its port, then wakes the waiting thread through the shared Int32Array.
 */
export const PG_WORKER_SOURCE = String.raw`
const { workerData } = require('node:worker_threads');
process.on('exit', () => { Atomics.store(workerData.signal, 0, 2); Atomics.notify(workerData.signal, 0); });
const pg = require(workerData.pgPath);
const { signal, port, url, schema, applicationName } = workerData;
const parse = (oid, format) => {
  if (oid === 20 || oid === 1700) return (v) => (v === null ? null : Number(v));
  if (oid === 16) return (v) => (v === null ? null : v === 't' || v === true ? 1 : 0);
  return pg.types.getTypeParser(oid, format);
};
const client = new pg.Client({ connectionString: url, types: { getTypeParser: parse }, application_name: applicationName, connectionTimeoutMillis: 15000 });
let broken = null;
client.on('error', (e) => { broken = e; });
const quoted = '"' + schema.replace(/"/g, '""') + '"';
// Processes opening a fresh schema at once take turns creating it (CREATE SCHEMA IF NOT EXISTS alone can collide).
// The statements of one simple query are one transaction: the lock is the transaction's, so the next process
// gets it only once the schema is committed (a session lock released inside that transaction let it in before).
const lock = "hashtext('kiln:schema:' || " + "'" + schema.replace(/'/g, "''") + "')";
const ready = client.connect()
  .then(() => client.query('SELECT pg_advisory_xact_lock(' + lock + '); CREATE SCHEMA IF NOT EXISTS ' + quoted))
  .then(() => client.query('SET search_path TO ' + quoted));
const wake = () => { Atomics.store(signal, 0, 1); Atomics.notify(signal, 0); };
const fail = (e) => ({ ok: false, error: { message: String(e && e.message || e), code: e && e.code, detail: e && e.detail, constraint: e && e.constraint, table: e && e.table } });
port.on('message', async (msg) => {
  let reply;
  try {
    await ready;
    if (broken) throw broken;
    if (msg.op === 'close') { await client.end(); reply = { ok: true }; }
    else {
      const r = msg.name ? await client.query({ name: msg.name, text: msg.text, values: msg.values }) : await client.query(msg.text, msg.values);
      const last = Array.isArray(r) ? r[r.length - 1] : r;
      reply = { ok: true, rows: last.rows, rowCount: last.rowCount ?? 0 };
    }
  } catch (e) {
    reply = fail(e);
  }
  port.postMessage(reply);
  wake();
});
process.on('uncaughtException', (e) => { try { port.postMessage(fail(e)); } finally { wake(); } });
`;
