/**
 * Embedding spaces as model inputs, point in time. The leakage test plants a signal that exists only in
 * the future of every training row (bad borrowers shop at one merchant after October) and shows it
 * cannot reach the training set: rows read only versions whose data ended before them.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Rng } from '../../src/core/rng.js';
import { EmbeddingLookup, trainSpace } from '../../src/embeddings/index.js';
import { loadProjectFeatures } from '../../src/features/training/index.js';
import { checkModelSpec } from '../../src/pipelines/checks.js';
import { loadModelDataset } from '../../src/pipelines/dataset.js';
import { attachEmbeddings, embeddingDatasetOptions, EmbeddingFiller, planEmbeddings } from '../../src/pipelines/embedding-inputs.js';
import { trainModel, versionBundle } from '../../src/pipelines/index.js';
import { initProject, Project } from '../../src/store/index.js';
import { tempDir } from '../helpers.js';

const CONFIG = `import { defineConfig, entity, eventSource, lastK, count } from 'kiln';
const borrower = entity('borrower', { key: 'borrower' });
const txns = eventSource('txns', { entity: borrower, timestamp: 'ts', columns: { merchant: 'varchar', amount: 'double' } });
export default defineConfig({
  name: 'embfeat',
  features: [borrower, txns, lastK(txns, { name: 'recent_merchants', k: 10, fields: ['merchant', 'amount'] }), count(txns, { name: 'txn_count_90d', window: '90d' })],
  embeddings: {
    borrowers: { entity: 'borrower', source: { kind: 'interactions', table: 'txns', user: 'borrower', item: 'merchant', time: 'ts', side: 'user' }, trainer: 'als', dim: 4, params: { iterations: 10 }, align: false },
    merchants: { entity: 'merchant', source: { kind: 'sequences', table: 'txns', by: 'borrower', item: 'merchant', time: 'ts' }, trainer: 'item2vec', dim: 8, params: { epochs: 10, window: 3 } },
  },
  models: {
    direct: { spine: { table: 'loans', timestamp: 'applied_at', key: 'borrower' }, label: { column: 'bad' }, columns: ['noise'], embeddings: [{ space: 'borrowers' }],
      split: { validFrom: '2024-07-01', testFrom: '2024-08-15', testTo: '2024-10-01' }, defaultReason: 'Other', params: { n_estimators: 30, max_depth: 2 } },
    pooled: { spine: { table: 'loans', timestamp: 'applied_at', key: 'borrower' }, label: { column: 'bad' }, features: ['txn_count_90d'], embeddings: [{ space: 'merchants', pool: 'recent_merchants', reason: 'Where the borrower shops' }],
      split: { validFrom: '2024-07-01', testFrom: '2024-08-15', testTo: '2024-10-01' }, defaultReason: 'Other', params: { n_estimators: 80, max_depth: 3, learning_rate: 0.05, early_stopping_rounds: 40, min_child_weight: 1 } },
  },
});
`;

let project: Project;
let dir: string;
let cleanup: () => void;
const bad = new Map<string, number>();

beforeAll(async () => {
  ({ dir, cleanup } = tempDir('kiln-embfeat-'));
  writeFileSync(join(dir, 'kiln.config.ts'), CONFIG);
  await initProject(dir);
  project = await Project.open({ project: dir });
  const rng = new Rng(5);
  const t = (y: number, m: number, d: number): number => Date.UTC(y, m - 1, d);
  const txns = ['borrower,merchant,ts,amount'];
  const loans = ['borrower,applied_at,bad,noise'];
  const N = 600;
  for (let b = 0; b < N; b++) {
    // A borrower's risk is the share of visits to "risky" merchants r0..r4 (a real signal, known before the loan); the rest at s0..s29.
    const risk = rng.uniform();
    const y = rng.uniform() < 0.05 + 0.6 * risk * risk ? 1 : 0;
    bad.set(`b${b}`, y);
    for (let e = 0; e < 25; e++) {
      const m = rng.uniform() < risk ? `r${Math.floor(rng.uniform() * 5)}` : `s${Math.floor(rng.uniform() * 30)}`;
      txns.push(`b${b},${m},${new Date(t(2024, 1, 1) + rng.uniform() * (t(2024, 10, 1) - t(2024, 1, 1))).toISOString()},${(rng.uniform() * 100).toFixed(2)}`);
    }
    // The planted future: after October, every bad borrower shops at 'leak' many times.
    if (y) for (let e = 0; e < 30; e++) txns.push(`b${b},leak,${new Date(t(2024, 10, 5) + e * 3600e3).toISOString()},1.00`);
    const applied = new Date(t(2024, 4, 15) + rng.uniform() * (t(2024, 9, 30) - t(2024, 4, 15))).toISOString();
    loans.push(`b${b},${applied},${y},${rng.uniform().toFixed(4)}`);
  }
  writeFileSync(join(dir, 'txns.csv'), `${txns.join('\n')}\n`);
  writeFileSync(join(dir, 'loans.csv'), `${loans.join('\n')}\n`);
  await project.offline.run(`CREATE TABLE txns AS SELECT borrower, merchant, ts::TIMESTAMP AS ts, amount FROM read_csv('${join(dir, 'txns.csv')}')`);
  await project.offline.run(`CREATE TABLE loans AS SELECT borrower, applied_at::TIMESTAMP AS applied_at, bad, noise FROM read_csv('${join(dir, 'loans.csv')}')`);
  // Versions: as of April, as of July (no leak yet), and everything (the leak is in it).
  for (const space of ['borrowers', 'merchants']) {
    await trainSpace(project, space, { quiet: true, until: '2024-04-01' });
    await trainSpace(project, space, { quiet: true, until: '2024-07-01' });
    await trainSpace(project, space, { quiet: true });
  }
}, 120_000);
afterAll(() => { project?.close(); cleanup?.(); });

/** AUC of a score against the planted labels. */
function auc(scores: number[], labels: number[]): number {
  const idx = scores.map((_, i) => i).sort((a, b) => scores[a]! - scores[b]!);
  let rank = 0, pos = 0, sum = 0;
  for (const i of idx) { rank++; if (labels[i]) { pos++; sum += rank; } }
  const neg = labels.length - pos;
  return (sum - (pos * (pos + 1)) / 2) / (pos * neg);
}

/** In-sample separation of the labels by the mean-difference direction of a version's vectors. */
function separation(vectors: (Float32Array | null)[], labels: number[]): number {
  const d = vectors.find((v) => v)!.length;
  const mb = new Float64Array(d), mg = new Float64Array(d);
  let nb = 0, ng = 0;
  vectors.forEach((v, i) => { if (!v) return; const m = labels[i] ? mb : mg; for (let j = 0; j < d; j++) m[j]! += v[j]!; if (labels[i]) nb++; else ng++; });
  const w = Array.from({ length: d }, (_, j) => mb[j]! / nb - mg[j]! / ng);
  const s: number[] = [], l: number[] = [];
  vectors.forEach((v, i) => { if (v) { s.push(v.reduce((a, x, j) => a + x * w[j]!, 0)); l.push(labels[i]!); } });
  return auc(s, l);
}

describe('embeddings as features', () => {
  it('a signal that exists only in the future cannot reach the training set', async () => {
    const ids = [...bad.keys()];
    const labels = ids.map((id) => bad.get(id)!);
    const lookup = new EmbeddingLookup(project.embeddings);
    // The newest version carries the planted signal; a join on it would leak it.
    const leaky = separation(lookup.get('borrowers@3', ids).vectors, labels);
    const clean = separation(lookup.get('borrowers@2', ids).vectors, labels);
    expect(leaky).toBeGreaterThan(clean + 0.1);
    expect(leaky).toBeGreaterThan(0.9);

    const spec = project.config.models.direct!;
    const registry = await loadProjectFeatures(project);
    const plan = planEmbeddings(project, 'direct', spec, registry);
    expect(plan.entries[0]!.served.version).toBe(3);
    const data = await loadModelDataset(project, 'direct', spec, await checkModelSpec(project, 'direct', spec, registry), embeddingDatasetOptions(plan));
    const { usage } = attachEmbeddings(project, plan, data);
    // Rows from mid-April read version 1, from July version 2, never 3 (its data ends in October, after every row).
    expect(Object.keys(usage[0]!.rowsByVersion).sort()).toEqual(['1', '2']);
    const v1 = lookup.files(project.embeddings.get('borrowers', 1)), v2 = lookup.files(project.embeddings.get('borrowers', 2));
    const v3 = lookup.files(project.embeddings.get('borrowers', 3));
    const cut = Date.parse(project.embeddings.get('borrowers', 2).dataTo!);
    let checked = 0;
    for (const split of Object.values(data.splits)) {
      const cols = split.features.slice(-4);
      for (let i = 0; i < split.rows; i++) {
        const id = String(split.raw.__emb_0![i]);
        const want = split.timeMs![i]! > cut ? v2.vector(id)! : v1.vector(id)!;
        for (let j = 0; j < 4; j++) {
          expect(cols[j]![i]).toBeCloseTo(want[j]!, 6);
          expect(Math.abs(cols[j]![i]! - v3.vector(id)![j]!)).toBeGreaterThan(0);
        }
        checked++;
      }
    }
    expect(checked).toBe(600);
  }, 60_000);

  it('a pooled space trains into the model, recorded with the version it is served with', async () => {
    const r = await trainModel(project, 'pooled', { quiet: true });
    expect(r.evaluation.metrics.auc).toBeGreaterThan(0.6);
    const v = project.registry.getVersion('pooled', r.version);
    const bundle = versionBundle(v);
    expect(bundle.json.embeddings).toEqual([{ space: 'merchants', version: 3, checksum: project.embeddings.get('merchants', 3).checksum, entity: 'merchant', dim: 8, columns: Array.from({ length: 8 }, (_, j) => `merchants_${j}`), pool: { input: 'recent_merchants', field: 'merchant' } }]);
    expect(v.signature.features.map((f) => f.name)).toContain('merchants_0');
    const run = project.tracker.getRun(r.runId);
    // The run report compares the GBDT with and without the embedding (here it carries the only signal).
    expect(run.metrics.compare_gbdt_with_embeddings_test_auc).toBeGreaterThan(run.metrics.compare_gbdt_without_embeddings_test_auc! + 0.05);
    expect(run.artifacts.map((a) => a.path)).toContain('comparison.json');
    const lineage = run.lineage.find((l) => l.kind === 'embedding');
    expect(lineage).toMatchObject({ name: 'merchants', version: '3' });
    // Serving fills the columns from the lastK events with version 3's vectors.
    const filler = EmbeddingFiller.open(project, bundle.json.embeddings!, 'pooled@1');
    const row = filler.fill({ txn_count_90d: 4, recent_merchants: [{ ts: 1, merchant: 'r1', amount: 3 }, { ts: 2, merchant: 'r2', amount: 5 }] });
    const f3 = new EmbeddingLookup(project.embeddings).files(project.embeddings.get('merchants', 3));
    expect(row.merchants_0).toBeCloseTo((f3.vector('r1')![0]! + f3.vector('r2')![0]!) / 2, 6);
    expect(row.recent_merchants).toBeUndefined();
    expect(filler.fill({ txn_count_90d: 1, recent_merchants: [] }).merchants_0).toBeNull();
    const s = bundle.score([row, filler.fill({ txn_count_90d: 4, recent_merchants: [{ ts: 1, merchant: 's3', amount: 3 }] })]);
    expect(s.probability[0]).toBeGreaterThan(s.probability[1]!);
  }, 60_000);

  it('compares two versions for a cut-over: neighbour overlap and each consumer on either version', async () => {
    const { compareVersions } = await import('../../src/embeddings/index.js');
    const c = await compareVersions(project, 'merchants@2', 'merchants@3', { k: 5 });
    expect([c.space, c.from, c.to, c.k]).toEqual(['merchants', 2, 3, 5]);
    expect(c.onlyInTo).toBe(1);
    expect(c.overlap).toBeGreaterThan(0.1);
    expect(c.consumers).toHaveLength(1);
    const pooled = c.consumers[0]!;
    expect(pooled).toMatchObject({ model: 'pooled', trainedOn: 3 });
    expect(pooled.aucTo).toBeGreaterThan(0.6);
    expect(pooled.aucFrom).toBeGreaterThan(0.5);
  }, 60_000);

  it('kiln serve scores a model that reads a space, by entity id or full row, with the trained version', async () => {
    const { loadLiveVersion } = await import('../../src/serve/index.js');
    const { testServer, route } = await import('../serve/http-helpers.js');
    const r = await trainModel(project, 'direct', { quiet: true, force: true });
    const live = loadLiveVersion(project, `direct@${r.version}`);
    expect(live.kind === 'gbdt' && live.embeddings?.entries[0]).toMatchObject({ space: 'borrowers', version: 3, id: 'borrower' });
    // A newer version of the space does not change what the model reads: it keeps version 3.
    await trainSpace(project, 'borrowers', { quiet: true });
    const server = await testServer({ routes: [route(live)], online: null, project });
    try {
      const res = await server.app.inject({ method: 'POST', url: '/v1/models/direct/predict', payload: { rows: [{ features: { noise: 0.5, borrower: 'b3' } }, { features: { noise: 0.5, borrower: 'nobody' } }] } });
      expect(res.statusCode).toBe(200);
      const body = res.json() as { results: { score: { raw: number } }[] };
      const bundle = versionBundle(project.registry.getVersion('direct', r.version));
      const filler = EmbeddingFiller.open(project, bundle.json.embeddings!, 'direct');
      const want = bundle.score([filler.fill({ noise: 0.5, borrower: 'b3' }), filler.fill({ noise: 0.5, borrower: 'nobody' })]);
      expect(body.results.map((d) => d.score.raw)).toEqual([want.probability[0], want.probability[1]]);
      expect(want.probability[0]).not.toBe(want.probability[1]);
      await server.decisions.flush();
      // The decision records what the model read (the entity id), so it replays with the same vectors.
      const rec = (await server.decisions.records())[0]!;
      expect(rec.features).toEqual({ noise: 0.5, borrower: 'b3' });
      const rp = await server.app.inject({ method: 'POST', url: `/v1/decisions/${rec.id}/replay` });
      expect(rp.json()).toMatchObject({ equal: true });
      const bad = await server.app.inject({ method: 'POST', url: '/v1/models/direct/predict', payload: { rows: [{ features: { noise: 0.5, borrower: 'b3', borrowers_0: 1 } }] } });
      expect(bad.statusCode).toBe(400);
    } finally {
      await server.close();
    }
  }, 60_000);

  it('refuses to serve a model against vectors it was not trained with', () => {
    const entries = [{ space: 'merchants', version: 3, checksum: 'f'.repeat(64), entity: 'merchant', dim: 8, columns: ['m_0'], pool: { input: 'recent_merchants', field: 'merchant' } }];
    expect(() => EmbeddingFiller.open(project, entries, 'pooled@9')).toThrow(/EMBEDDING_VERSION_MISMATCH|holds other vectors/);
    expect(() => EmbeddingFiller.open(project, [{ ...entries[0]!, version: 42 }], 'pooled@9')).toThrow(/does not have/);
  });
});
