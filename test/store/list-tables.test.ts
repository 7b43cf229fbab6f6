import { afterEach, describe, expect, it } from 'vitest';
import { initProject, listTables, Project } from '../../src/store/index.js';
import { tempDir } from '../helpers.js';

const cleanups: (() => void)[] = [];
afterEach(() => { while (cleanups.length) cleanups.pop()!(); });

async function project(): Promise<string> {
  const t = tempDir('kiln-list-tables-');
  cleanups.push(t.cleanup);
  await initProject(t.dir);
  return t.dir;
}

describe('listTables', () => {
  it('gives each of several tables its own exact count, columns in order and time range, in one pass', async () => {
    const d = await project();
    const p = await Project.open({ project: d });
    try {
      const con = await p.offline.ready();
      // Names that need quoting, a table with no rows, one without a timestamp, a view (not listed), kiln's own table (not listed).
      await con.run(`CREATE TABLE "b tx" (id BIGINT, "when" TIMESTAMP, amount DOUBLE)`);
      await con.run(`INSERT INTO "b tx" SELECT i, TIMESTAMP '2024-01-01' + INTERVAL (i) DAY, i * 1.5 FROM range(0, 250) t(i)`);
      await con.run(`CREATE TABLE a_people (name VARCHAR, age INTEGER)`);
      await con.run(`INSERT INTO a_people VALUES ('x', 1), ('y', 2), ('z', NULL)`);
      await con.run(`CREATE TABLE c_empty (ts TIMESTAMP, v INTEGER)`);
      await con.run(`CREATE VIEW d_view AS SELECT * FROM a_people`);
      await con.run(`CREATE TABLE __kiln_internal (x INTEGER)`);
      const tables = await listTables(p);
      expect(tables.map((t) => t.name)).toEqual(['a_people', 'b tx', 'c_empty']);
      const [a, b, c] = tables;
      expect(a).toMatchObject({ rows: 3, timestampColumn: null, timeRange: null, columns: [{ name: 'name', type: 'VARCHAR' }, { name: 'age', type: 'INTEGER' }] });
      expect(b).toMatchObject({
        rows: 250,
        timestampColumn: 'when',
        timeRange: { from: '2024-01-01 00:00:00', to: '2024-09-06 00:00:00' },
        columns: [{ name: 'id', type: 'BIGINT' }, { name: 'when', type: 'TIMESTAMP' }, { name: 'amount', type: 'DOUBLE' }],
      });
      expect(c).toMatchObject({ rows: 0, timestampColumn: 'ts', timeRange: { from: null, to: null } });
      expect(typeof b!.rows).toBe('number');
    } finally {
      p.close();
    }
  });

  it('lists no tables in an empty store, opened read-only', async () => {
    const d = await project();
    const p = await Project.open({ project: d, offline: 'read' });
    try {
      expect(await listTables(p)).toEqual([]);
      expect(p.offline.access).toBe('read');
    } finally {
      p.close();
    }
  });
});
