/**
 * Planning and computing partitions in this process (no Redis): the snapshot, a part committed by rename
 * (a dead attempt's temp file removed first), a cancelled partition that commits nothing, the manifest only
 * once every part is in, and the union of the parts equal to buildTrainingSet's single-process output.
 */
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { planBackfill, runPartition, writeManifest, type BackfillSpec, type PartRecord } from '../../src/backfill/index.js';
import { KilnError } from '../../src/core/errors.js';
import { buildTrainingSet } from '../../src/features/training/index.js';
import { OfflineStore, type Project } from '../../src/store/index.js';
import { simulatedProject } from '../helpers.js';
import { compareRows } from './compare.js';

const SPINE = { table: 'loan_labels', key: 'borrower_id', timestamp: 'funded_at' };
const notCancelled = async (): Promise<boolean> => false;

describe('backfill plan and partitions (in process)', () => {
  let world: { dir: string; project: Project; cleanup: () => void };
  let spec: BackfillSpec;
  let single: string;

  beforeAll(async () => {
    world = await simulatedProject('kiln-backfill-plan-', {}, { borrowers: 600, seed: 21 });
    single = join(world.dir, 'single.parquet');
    await buildTrainingSet(world.project, { spine: SPINE, features: 'credit_v1', out: single });
    spec = await planBackfill(world.project, { features: 'credit_v1', spine: SPINE, partitions: 3, out: join(world.dir, 'out') });
  }, 60_000);
  afterAll(() => {
    world.project.close();
    world.cleanup();
  });

  it('plans every spine row into one partition and snapshots the sources split by entity', async () => {
    const [n] = await world.project.offline.all<{ n: number }>('SELECT count(*)::BIGINT AS n FROM loan_labels');
    world.project.releaseOffline();
    expect(spec.plannedRows.reduce((a, b) => a + b, 0)).toBe(Number(n!.n));
    expect(spec.plannedRows.every((r) => r > 0)).toBe(true);
    expect(spec.sources.length).toBeGreaterThan(0);
    expect(spec.sources.every((s) => s.partitioned)).toBe(true);
    expect(existsSync(spec.snapshot)).toBe(true);
    expect(existsSync(join(spec.dir, 'backfill.json'))).toBe(true);
  });

  it('refuses a folder that is not empty, naming --out', async () => {
    const dir = join(world.dir, 'busy');
    mkdirSync(dir);
    writeFileSync(join(dir, 'x'), '');
    await expect(planBackfill(world.project, { features: 'credit_v1', spine: SPINE, partitions: 2, out: dir })).rejects.toThrow(/--out .*not empty/);
  });

  it('a cancelled partition commits nothing; parts commit by rename; the manifest waits for every part; the union is the single-process set', async () => {
    await expect(runPartition(world.project, spec, 0, { attempt: 1, cancelled: async () => true })).rejects.toSatisfy((e) => e instanceof KilnError && e.code === 'INTERRUPTED');
    expect(readdirSync(spec.dir).filter((f) => f.includes('part-'))).toEqual([]);

    writeFileSync(join(spec.dir, '.part-00001.parquet.999999.1.parquet'), 'left by a killed attempt');
    const records: PartRecord[] = [];
    for (const p of [1, 2]) records.push(await runPartition(world.project, spec, p, { attempt: 1, cancelled: notCancelled, threads: 1 }));
    expect(readdirSync(spec.dir).filter((f) => f.startsWith('.'))).toEqual([]);
    expect(writeManifest(spec, records)).toBeNull();
    records.push(await runPartition(world.project, spec, 0, { attempt: 2, cancelled: notCancelled }));
    const manifest = writeManifest(spec, records)!;
    expect(manifest.parts.map((p) => [p.partition, p.rows])).toEqual([0, 1, 2].map((p) => [p, spec.plannedRows[p]]));

    const db = await OfflineStore.open(':memory:');
    try {
      const parts = `read_parquet('${join(spec.dir, 'part-*.parquet')}')`;
      const whole = `read_parquet('${single}')`;
      const c = await compareRows(db, parts, whole, 'loan_id');
      expect(c.columnsA).toBe(c.columnsB);
      expect([c.rowsA, c.ids, c.matched, c.equal]).toEqual([manifest.rows, manifest.rows, manifest.rows, manifest.rows]);
      expect(c.rowsB).toBe(manifest.rows);
    } finally {
      db.close();
    }
  }, 60_000);
});
