import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KilnError } from '../../src/core/errors.js';
import { EmbeddingLookup, procrustes, rotate, trainSpace, VersionFiles, neighborOverlap } from '../../src/embeddings/index.js';
import type { Project } from '../../src/store/index.js';
import { kiln } from '../helpers.js';
import { clusterOf, spaceProject } from './space-fixture.js';

let project: Project;
let dir: string;
let cleanup: () => void;

beforeAll(async () => {
  ({ project, dir, cleanup } = await spaceProject('space'));
}, 60_000);
afterAll(() => { project?.close(); cleanup?.(); });

const code = async (p: Promise<unknown>): Promise<string> => p.then(() => 'no error', (e: unknown) => (e instanceof KilnError ? `${e.code}: ${e.message}` : String(e)));

describe('embedding spaces', () => {
  it('trains an immutable version with lineage, its index and the offline copy', async () => {
    const { version: v } = await trainSpace(project, 'merchants', { quiet: true });
    expect(v.version).toBe(1);
    expect([v.entity, v.trainer, v.dim, v.size, v.metric]).toEqual(['merchant', 'item2vec', 16, 60, 'cos']);
    expect(v.dataFrom! < v.dataTo!).toBe(true);
    expect(v.trainedUntil).toBeNull();
    expect(v.lineage.sources).toEqual([{ kind: 'table', name: 'txns', rows: 12000 }]);
    expect(v.metrics.index_recall_at_10).toBeGreaterThanOrEqual(0.95);
    expect(v.params).toMatchObject({ epochs: 15, window: 3, dim: 16, seed: 7 });
    const rows = await project.offline.all<{ n: number; d: number }>('SELECT count(*)::INT AS n, max(len(vector))::INT AS d FROM embeddings_merchants WHERE version = 1');
    expect(rows[0]).toEqual({ n: 60, d: 16 });
    // Neighbours are mostly of the merchant's own cluster (random: 1 in 6).
    const lookup = new EmbeddingLookup(project.embeddings);
    let agree = 0, total = 0;
    for (let m = 0; m < 60; m += 5) {
      for (const n of lookup.neighbors('merchants', { id: `m${m}`, k: 5 }).neighbors) { agree += clusterOf(n.id) === m % 6 ? 1 : 0; total++; }
    }
    expect(agree / total).toBeGreaterThan(0.8);
  }, 60_000);

  it('same seed, same bytes', async () => {
    const a = project.embeddings.get('merchants', 1);
    const { version: b } = await trainSpace(project, 'merchants', { quiet: true });
    // Version 2 is rotated onto version 1: a rotation of the same vectors is the identity.
    expect(b.lineage.alignedTo).toMatchObject({ version: 1, shared: 60 });
    expect(b.lineage.alignedTo!.residual).toBeLessThan(1e-4);
    const fa = VersionFiles.open(a.path), fb = VersionFiles.open(b.path);
    let maxDiff = 0;
    for (let i = 0; i < fa.vectors.length; i++) maxDiff = Math.max(maxDiff, Math.abs(fa.vectors[i]! - fb.vectors[i]!));
    expect(maxDiff).toBeLessThan(1e-4);
  }, 60_000);

  it('a version trained until a time reads only data before it; versions are aligned', async () => {
    const { version: v } = await trainSpace(project, 'merchants', { quiet: true, until: '2024-07-01' });
    expect(v.trainedUntil).toBe('2024-07-01T00:00:00.000Z');
    expect(v.dataTo! < '2024-07-01').toBe(true);
    expect(v.lineage.sources[0]!.rows).toBeLessThan(12000);
    expect(v.lineage.alignedTo!.residual).toBeLessThan(0.5);
    // Rotation keeps the neighbourhoods; the half-year version agrees with the full one on most.
    const lookup = new EmbeddingLookup(project.embeddings);
    const o = neighborOverlap(lookup, project.embeddings.get('merchants', 1), v, { k: 5 });
    expect(o.overlap).toBeGreaterThan(0.5);
    expect(project.embeddings.usableAt(project.embeddings.versions('merchants'), Date.parse('2024-08-01'))!.version).toBe(v.version);
    expect(project.embeddings.usableAt(project.embeddings.versions('merchants'), Date.parse('2024-03-01'))).toBeNull();
  }, 60_000);

  it('procrustes recovers a planted rotation', () => {
    const d = 4, n = 30;
    const A = Float32Array.from({ length: n * d }, (_, i) => Math.sin(i * 1.7) + Math.cos(i * 0.3));
    const c = Math.cos(0.7), s = Math.sin(0.7);
    const R0 = Float64Array.from([c, -s, 0, 0, s, c, 0, 0, 0, 0, 0, 1, 0, 0, 1, 0]);
    const B = rotate(A, R0, d);
    const rows = Int32Array.from({ length: n }, (_, i) => i);
    const R = procrustes(A, rows, B, rows, d)!;
    for (let i = 0; i < d * d; i++) expect(R[i]).toBeCloseTo(R0[i]!, 5);
  });

  it('filters neighbours on attributes and leaves ids out', async () => {
    const lookup = new EmbeddingLookup(project.embeddings);
    const r = lookup.neighbors('merchants@1', { id: 'm0', k: 8, filters: { city: 'paris' }, exclude: ['m1'] });
    expect(r.neighbors).toHaveLength(8);
    for (const n of r.neighbors) { expect(Number(n.id.slice(1)) % 2).toBe(1); expect(n.id).not.toBe('m1'); }
    const any = lookup.neighbors('merchants@1', { id: 'm0', k: 60, filters: { category: ['cat1', 'cat2'] } });
    expect(any.neighbors).toHaveLength(20);
    expect(() => lookup.neighbors('merchants@1', { id: 'm0', filters: { colour: 'red' } })).toThrow(/no attribute 'colour' \(attributes: category, city\)/);
    expect(() => lookup.neighbors('merchants@1', { id: 'nope' })).toThrow(/has no vector for merchant 'nope'/);
    expect(() => lookup.neighbors('merchants@1', { vector: [1, 2] })).toThrow(/expected 16 numbers/);
  });

  it('aliases move with a reason and are audited', () => {
    const reg = project.embeddings;
    expect(() => reg.setAlias('merchants', 'current', 1, { reason: '' })).toThrow(/needs a reason/);
    reg.setAlias('merchants', 'current', 1, { reason: 'first' });
    expect(reg.setAlias('merchants', 'current', 2, { reason: 'cut over' }).previousVersion).toBe(1);
    expect(reg.resolve('merchants@current').version).toBe(2);
    expect(() => reg.resolve('merchants@curent')).toThrow(/did you mean 'current'/);
    expect(() => reg.resolve('merchant')).toThrow(/did you mean 'merchants'/);
    const log = reg.auditLog('merchants').filter((e) => e.action === 'set_alias');
    expect(log.map((e) => [e.version, e.previousVersion, e.reason])).toEqual([[1, null, 'first'], [2, 1, 'cut over']]);
  });

  it('a changed vectors file is refused when opened', () => {
    const v = project.embeddings.get('merchants', 1);
    const copy = join(dir, 'copy-v1');
    mkdirSync(copy);
    for (const f of ['manifest.json', 'ids.json', 'attributes.json', 'index.usearch', 'index.usearch.json']) writeFileSync(join(copy, f), readFileSync(join(v.path, f)));
    const bytes = readFileSync(join(v.path, 'vectors.f32')) as Buffer;
    bytes[5] = bytes[5]! ^ 0xff;
    writeFileSync(join(copy, 'vectors.f32'), bytes);
    expect(() => VersionFiles.open(copy)).toThrow(/does not match its checksum/);
  });

  it('matrix factorisation spaces, and clear errors for bad specs', async () => {
    const { version } = await trainSpace(project, 'merchants_mf', { quiet: true });
    expect([version.trainer, version.dim, version.size]).toEqual(['als', 8, 60]);
    expect(version.metrics.interactions).toBeGreaterThan(4000);
    expect(await code(trainSpace(project, 'merchnts'))).toMatch(/EMBEDDING_NOT_FOUND: no embedding space 'merchnts'.*did you mean 'merchants'/);
    expect(await code(trainSpace(project, 'merchants', { until: 'soon' }))).toMatch(/USAGE: 'soon' is not a time/);
  }, 60_000);

  it('two-tower spaces: borrowers of one cluster are near each other; the towers are kept', async () => {
    const { version } = await trainSpace(project, 'borrowers_tt', { quiet: true });
    expect([version.trainer, version.dim, version.size, version.entity]).toEqual(['two-tower', 8, 400, 'borrower']);
    const lookup = new EmbeddingLookup(project.embeddings);
    let agree = 0;
    for (let b = 0; b < 60; b++) for (const n of lookup.neighbors('borrowers_tt', { id: `b${b}`, k: 5 }).neighbors) agree += Number(n.id.slice(1)) % 6 === b % 6 ? 1 : 0;
    expect(agree / 300).toBeGreaterThan(0.4);
    expect((lookup.files(version).encoder as { format: string }).format).toMatch(/two-tower/);
  }, 60_000);

  it('the CLI lists, shows, looks up and compares', async () => {
    const list = await kiln(['embeddings', 'list', '--json'], dir);
    expect(list.code).toBe(0);
    const rows = JSON.parse(list.stdout) as { space: string; versions: number }[];
    expect(rows.map((r) => [r.space, r.versions])).toEqual([['borrowers_tt', 1], ['merchants', 3], ['merchants_mf', 1]]);
    const nb = await kiln(['embeddings', 'neighbors', 'merchants@current', 'm3', '-k', '3', '--filter', 'city=paris'], dir);
    expect(nb.code).toBe(0);
    expect(nb.stdout).toMatch(/merchants@2: neighbours of merchant m3/);
    const show = await kiln(['embeddings', 'show', 'merchants@3'], dir);
    expect(show.stdout).toMatch(/trained until 2024-07-01T00:00:00.000Z/);
    expect(show.stdout).toMatch(/aligned to version 2/);
    const cmp = await kiln(['embeddings', 'compare', 'merchants@1', 'merchants@3', '--json'], dir);
    expect(cmp.code).toBe(0);
    expect((JSON.parse(cmp.stdout) as { overlap: number }).overlap).toBeGreaterThan(0.3);
    // The CLI writes the offline store (the vectors' copy): this process lets go of it first.
    project.releaseOffline();
    const backfill = await kiln(['embeddings', 'train', 'merchants_mf', '--every', 'quarter', '--from', '2024-04-01', '--to', '2024-10-01', '--alias', 'current', '--reason', 'backfill', '--quiet', '--json'], dir);
    expect(backfill.code).toBe(0);
    const made = JSON.parse(backfill.stdout) as { version: number; trainedUntil: string }[];
    expect(made.map((v) => [v.version, v.trainedUntil.slice(0, 10)])).toEqual([[2, '2024-04-01'], [3, '2024-07-01'], [4, '2024-10-01']]);
    const noReason = await kiln(['embeddings', 'train', 'merchants_mf', '--alias', 'current'], dir);
    expect(noReason.stderr).toMatch(/--alias needs --reason/);
    const bad = await kiln(['embeddings', 'show', 'nothing'], dir);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/embedding space 'nothing' has no versions/);
  }, 90_000);
});
