/**
 * The embeddings screens on a real project: the embedding tests' small world (test/embeddings/space-fixture.ts),
 * the item2vec space 'merchants' trained twice (all the data, then only the first half-year), alias
 * current on v1. The list shows the spaces and versions the registry holds; the projection is checked
 * against an eigen-decomposition of the sample's covariance and its spec compiles; the neighbours of an
 * entity in two versions are what the space's own search returns.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { compile, type TopLevelSpec } from 'vega-lite';
import { EmbeddingLookup, symmetricEigen, trainSpace, VersionFiles } from '../../src/embeddings/index.js';
import type { Project } from '../../src/store/index.js';
import { projectSample, sampleRows } from '../../src/ui/web/screens/embeddings/projection.js';
import { createUiServer } from '../../src/ui/web/server.js';
import { spaceProject } from '../embeddings/space-fixture.js';
import { cells, specs, unescape } from './page-parse.js';

let project: Project;
let cleanup: () => void;
let app: FastifyInstance;


beforeAll(async () => {
  ({ project, cleanup } = await spaceProject('ui'));
  await trainSpace(project, 'merchants', { quiet: true });
  await trainSpace(project, 'merchants', { quiet: true, until: '2024-07-01' });
  project.embeddings.setAlias('merchants', 'current', 1, { reason: 'first cut-over' });
  project.releaseOffline();
  app = await createUiServer({ project });
}, 120_000);

afterAll(async () => {
  await app?.close();
  project?.close();
  cleanup?.();
});

describe('GET /embeddings', () => {
  it('lists the declared and trained spaces and their versions', async () => {
    const r = await app.inject({ url: '/embeddings' });
    expect(r.statusCode).toBe(200);
    const spaces = cells(r.body, 'spaces');
    expect(spaces.map((s) => s[0])).toEqual(['borrowers_tt', 'merchants', 'merchants_mf']);
    const m = spaces.find((s) => s[0] === 'merchants')!;
    expect(m.slice(2, 8)).toEqual(['merchant', 'item2vec', '16', '2', 'v2', 'current → v1']);
    expect(spaces.find((s) => s[0] === 'merchants_mf')![5]).toBe('not trained');
    const versions = cells(r.body, 'versions');
    expect(versions.map((v) => v.slice(0, 6))).toEqual([['merchants', 'v2', 'merchant', 'item2vec', '16', '60'], ['merchants', 'v1', 'merchant', 'item2vec', '16', '60']]);
    expect(versions[1]![7]).toBe('current');
    expect(r.body).toContain('href="/embeddings/merchants?version=2"');
  });

  it('the registry pages versions in SQL, newest first', () => {
    expect(project.embeddings.versions('merchants').map((v) => v.version)).toEqual([1, 2]);
    expect(project.embeddings.versions('merchants', { newestFirst: true, limit: 1 }).map((v) => v.version)).toEqual([2]);
    expect(project.embeddings.versions('merchants', { newestFirst: true, limit: 1, offset: 1 }).map((v) => v.version)).toEqual([1]);
  });
});

describe('GET /embeddings/:space', () => {
  it('shows versions, aliases and the audit', async () => {
    const r = await app.inject({ url: '/embeddings/merchants' });
    expect(r.statusCode).toBe(200);
    expect(cells(r.body, 'space-versions').map((v) => [v[0], v[1], v[6]])).toEqual([['v2', '–', '60'], ['v1', 'current', '60']]);
    expect(cells(r.body, 'aliases')).toEqual([['current', 'v1']]);
    const audit = cells(r.body, 'audit');
    expect(audit.map((a) => [a[2], a[3], a[4]])).toEqual([['set_alias', 'v1', 'current'], ['register_version', 'v2', '–'], ['register_version', 'v1', '–']]);
    expect(audit[0]![6]).toBe('first cut-over');
  });

  it('projects the current version coloured by an attribute: a spec that compiles, with the sample size', async () => {
    const r = await app.inject({ url: '/embeddings/merchants?color=category' });
    expect(r.statusCode).toBe(200);
    const [spec] = specs(r.body);
    const values = (spec!.data as { values: { id: string; x: number; y: number; value: string }[] }).values;
    expect(values).toHaveLength(60);
    expect(String(spec!.title)).toContain('merchants v1: 60 of 60 merchant vectors');
    const enc = spec!.encoding as Record<string, { field: string; type: string }>;
    expect([enc.color!.field, enc.color!.type, enc.shape!.type]).toEqual(['value', 'nominal', 'nominal']);
    expect(new Set(values.map((v) => v.value))).toEqual(new Set(['cat0', 'cat1', 'cat2', 'cat3', 'cat4', 'cat5']));
    // the category of m7 is cat1 (merchants.csv: cat{m % 6})
    expect(values.find((v) => v.id === 'm7')!.value).toBe('cat1');
    const warnings: string[] = [];
    const logger = { level: () => logger, warn: (...m: unknown[]) => { warnings.push(m.join(' ')); return logger; }, info: () => logger, debug: () => logger, error: (...m: unknown[]) => { warnings.push(m.join(' ')); return logger; } };
    expect(() => compile(spec as unknown as TopLevelSpec, { logger: logger as never })).not.toThrow();
    expect(warnings).toEqual([]);
    // another version, another attribute, and no colour
    const v2 = specs((await app.inject({ url: '/embeddings/merchants?version=2&color=city' })).body)[0]!;
    expect(String(v2.title)).toContain('merchants v2');
    expect(new Set((v2.data as { values: { value: string }[] }).values.map((v) => v.value))).toEqual(new Set(['paris', 'lyon']));
    const plain = specs((await app.inject({ url: '/embeddings/merchants?color=' })).body)[0]!;
    expect((plain.encoding as Record<string, unknown>).color).toBeUndefined();
  });

  it('the projection: the top two eigenpairs of the sample covariance, deterministic, at most 2,000 rows', () => {
    const v = project.embeddings.get('merchants', 1);
    const f = VersionFiles.open(v.path);
    const p = projectSample(f.vectors, f.dim);
    const d = f.dim, n = f.size;
    const mean = new Float64Array(d);
    for (let i = 0; i < n; i++) for (let k = 0; k < d; k++) mean[k]! += f.vectors[i * d + k]! / n;
    const cov = new Float64Array(d * d);
    for (let i = 0; i < n; i++) for (let a = 0; a < d; a++) for (let b = 0; b < d; b++) cov[a * d + b]! += (f.vectors[i * d + a]! - mean[a]!) * (f.vectors[i * d + b]! - mean[b]!) / n;
    const eig = symmetricEigen(cov, d);
    const order = [...eig.values.keys()].sort((a, b) => eig.values[b]! - eig.values[a]!);
    const trace = eig.values.reduce((s, x) => s + x, 0);
    expect(p.variance[0]).toBeCloseTo(eig.values[order[0]!]!, 6);
    expect(p.variance[1]).toBeCloseTo(eig.values[order[1]!]!, 6);
    expect(p.explained[0]).toBeCloseTo(eig.values[order[0]!]! / trace, 6);
    // the first component is the eigenvector (up to sign, fixed by the projection)
    const dot = p.components[0].reduce((s, x, k) => s + x * eig.vectors[k * d + order[0]!]!, 0);
    expect(Math.abs(dot)).toBeCloseTo(1, 5);
    const again = projectSample(f.vectors, f.dim);
    expect(Array.from(again.x)).toEqual(Array.from(p.x));
    const rows = sampleRows(10_000, 2000, 7);
    expect(rows).toHaveLength(2000);
    expect(new Set(rows).size).toBe(2000);
    expect(rows).toEqual([...rows].sort((a, b) => a - b));
    expect(sampleRows(10_000, 2000, 7)).toEqual(rows);
    const big = projectSample(new Float32Array(5000 * 4).map((_, i) => Math.sin(i)), 4);
    expect([big.sampled, big.size, big.x.length]).toEqual([2000, 5000, 2000]);
  });

  it("finds an entity's neighbours in two versions side by side: what the space's search returns", async () => {
    const r = await app.inject({ url: '/embeddings/merchants?entity=m3&a=1&b=2&k=5' });
    expect(r.statusCode).toBe(200);
    const lookup = new EmbeddingLookup(project.embeddings);
    for (const [version, id] of [[1, 'neighbors-a'], [2, 'neighbors-b']] as const) {
      const want = lookup.neighbors(`merchants@${version}`, { id: 'm3', k: 5 }).neighbors;
      expect(cells(r.body, id).map((c) => [c[1], c[2]])).toEqual(want.map((n) => [n.id, n.score.toFixed(4)]));
    }
    const a = new Set(cells(r.body, 'neighbors-a').map((c) => c[1]));
    const shared = cells(r.body, 'neighbors-b').filter((c) => a.has(c[1]!)).length;
    expect(r.body).toContain(`${shared} of 5 neighbours in common`);
    expect(cells(r.body, 'neighbors-b').map((c) => c[3])).toEqual(cells(r.body, 'neighbors-b').map((c) => (a.has(c[1]!) ? 'yes' : 'no')));
  });

  it('says so when a version does not hold the entity', async () => {
    const r = await app.inject({ url: '/embeddings/merchants?entity=zz9&a=1&b=2' });
    expect(r.statusCode).toBe(200);
    expect(unescape(r.body)).toContain("version 1 has no vector for merchant 'zz9'");
    expect(unescape(r.body)).toContain("version 2 has no vector for merchant 'zz9'");
  });

  it('a declared space not yet trained says so; unknown space 404; bad parameters 400', async () => {
    const untrained = await app.inject({ url: '/embeddings/merchants_mf' });
    expect(untrained.statusCode).toBe(200);
    expect(untrained.body).toContain('No versions of merchants_mf yet');
    expect((await app.inject({ url: '/embeddings/nope' })).statusCode).toBe(404);
    const color = await app.inject({ url: '/embeddings/merchants?color=nope' });
    expect(color.statusCode).toBe(400);
    expect(color.body).toContain('keeps the attributes category, city');
    expect((await app.inject({ url: '/embeddings/merchants?a=9' })).statusCode).toBe(400);
  });
});
