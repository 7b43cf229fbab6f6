/**
 * The parity test: the scores of the same inputs at training time, in batch (`kiln score`) and
 * online are equal. A small model is trained on a small simulated lending world (the demo's config:
 * features credit_v1, spine loan_labels); then, for every loan of the spine at its funding time:
 * (a) training time: the rows of the training set `trainModel` built (its table `training_credit`), read
 *     with the trainer's casts and scored by the version's bundle;
 * (b) batch: `scoreBatch` over the spine (features rebuilt point in time by the offline engine);
 * (c) online: the events materialised into the embedded online store, read with `lookup(ids, features,
 *     { asOf })` at each funding time, scored by `bundle.score` as the server does.
 * Also `--entities` as of one time against the online store at that time, and the errors of a spine.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_REASONS, DEMO_REASON_GROUPS } from '../../examples/demo/features.js';
import { loadFeatureRegistry } from '../../src/features/index.js';
import { openOnlineStore, materialize, type OnlineFeatureStore } from '../../src/online/index.js';
import { trainModel, type ScoreRow } from '../../src/pipelines/index.js';
import { gbdtBundle, loadLiveVersion, scoreBatch, type LiveVersion } from '../../src/serve/index.js';
import { simulate } from '../../src/sim/index.js';
import { failMessage } from '../fails.js';
import { DEMO_FEATURES_FILE, tempProject } from '../helpers.js';

const MODEL = {
  spine: { table: 'loan_labels', timestamp: 'funded_at', key: 'borrower_id' },
  label: { column: 'default_12m', availableAt: 'label_available_at' },
  features: 'credit_v1',
  split: { random: { valid: 0.2, test: 0.2, seed: 7 } },
  params: { max_depth: 3, learning_rate: 0.2, n_estimators: 30, early_stopping_rounds: 30 },
  reasons: DEMO_REASONS,
  reasonGroups: DEMO_REASON_GROUPS,
  minPositives: 3,
};

let ctx: Awaited<ReturnType<typeof tempProject>>;
let live: LiveVersion;
/** Spine rows in spine order: key, funding time (ISO). */
let spine: { borrower_id: number; funded_at: string }[];
let training: Float64Array;
let online: OnlineFeatureStore;
/** The features the model reads: the owners of its input columns (credit_v1 and the inputs of its derived features). */
let features: string[];

beforeAll(async () => {
  ctx = await tempProject(`import { defineConfig } from 'kiln';\nimport { DEMO_FEATURES } from ${JSON.stringify(DEMO_FEATURES_FILE)};\nexport default defineConfig({ name: 'parity', features: [...DEMO_FEATURES], models: ${JSON.stringify({ credit: MODEL })} });\n`);
  const { project } = ctx;
  const sim = await simulate(project.offline, { borrowers: 2000, months: 24, seed: 5 });
  for (const t of sim.tables) project.meta.upsertTable({ name: t.name, timestampColumn: t.timestampColumn ?? null, keyColumn: t.keyColumn ?? null, source: 'sim', description: t.description });
  await trainModel(project, 'credit', { quiet: true, force: true });
  live = loadLiveVersion(project, 'credit@1');
  const owner = new Map([...loadFeatureRegistry(project.config.features).features.values()].flatMap((f) => f.outputs.map((o) => [o.column, f.name] as const)));
  features = [...new Set(live.info.signature.features.map((f) => owner.get(f.name)!))];
  const bundle = gbdtBundle(live);
  // (a) The training set as the trainer read it: numeric inputs ::DOUBLE, categorical ::VARCHAR → their codes.
  const names = bundle.booster.featureNames;
  const cols = names.map((n, j) => `"${n}"::${bundle.categoryCodes(j) ? 'VARCHAR' : 'DOUBLE'} AS "${n}"`);
  const rows = await project.offline.all<Record<string, number | string | null>>(`SELECT borrower_id, funded_at, ${cols.join(', ')} FROM training_credit ORDER BY rowid`);
  spine = rows.map((r) => ({ borrower_id: Number(r.borrower_id), funded_at: String(r.funded_at) }));
  const inputs = names.map((n, j) => Float64Array.from(rows, (r) => {
    const v = r[n];
    const codes = bundle.categoryCodes(j);
    return v === null || v === undefined ? NaN : codes ? codes.get(String(v)) ?? NaN : Number(v);
  }));
  training = bundle.scoreColumns(inputs).probability;
  // (c) The online store, holding every event up to just after the last funding (raw events kept for years, so
  // reads at any funding time are exact).
  const last = spine.reduce((m, s) => (s.funded_at > m ? s.funded_at : m), '');
  online = await openOnlineStore(project, { backend: 'embedded', retentionMarginMs: 20 * 365 * 86_400_000 });
  await materialize(project, { store: online, asOf: new Date(Date.parse(last) + 1000).toISOString(), quiet: true });
}, 240_000);
afterAll(async () => { await online?.close(); ctx?.cleanup(); });

describe('scores at training time, in batch and online are equal', () => {
  it('for every loan of the spine at its funding time', async () => {
    expect(spine.length).toBeGreaterThan(400);
    const out = join(ctx.dir, 'batch.parquet');
    const r = await scoreBatch(ctx.project, { model: 'credit@1', spine: 'loan_labels', output: out, quiet: true });
    expect(r.rows).toBe(spine.length);
    const batch = await ctx.project.offline.all<{ borrower_id: number; as_of: string; probability: number }>(`SELECT borrower_id, as_of, probability FROM read_parquet('${out}')`);
    expect(batch.map((b) => [b.borrower_id, b.as_of])).toEqual(spine.map((s) => [s.borrower_id, s.funded_at]));
    const batchP = Float64Array.from(batch, (b) => b.probability);
    // (a) = (b): the same feature SQL, the same casts, the same trees: bit for bit.
    expect(batchP).toEqual(training);
    expect(new Set(batchP).size).toBeGreaterThan(50);

    // (c) online, one lookup per loan at its funding time, scored as the server scores.
    const rows: ScoreRow[] = [];
    for (const s of spine) {
      const [got] = await online.lookup([s.borrower_id], features, { asOf: s.funded_at });
      expect(got!.known).toBe(true);
      rows.push(got!.row as ScoreRow);
    }
    const onlineP = gbdtBundle(live).score(rows).probability;
    // Online features are computed in JavaScript, offline by DuckDB, in other summation orders: they agree to
    // rtol 1e-9 (test/online/parity.test.ts), not always to the last bit. The trees compare float32-rounded
    // values, so the scores are equal unless a value lies within that rounding of a split threshold: 1e-12.
    let worst = 0;
    for (let i = 0; i < spine.length; i++) worst = Math.max(worst, Math.abs(onlineP[i]! - training[i]!));
    expect(worst).toBeLessThanOrEqual(1e-12);
  }, 120_000);

  it('for a file of entity ids as of one time, equal to the online store read at that time', async () => {
    const asOf = '2024-11-15T00:00:00.000Z';
    const ids = [...new Set(spine.filter((s) => s.funded_at < asOf).map((s) => s.borrower_id))].slice(0, 150);
    writeFileSync(join(ctx.dir, 'ids.csv'), `borrower_id\n${ids.join('\n')}\n`);
    const out = join(ctx.dir, 'entities.csv');
    const r = await scoreBatch(ctx.project, { model: 'credit@1', entities: join(ctx.dir, 'ids.csv'), asOf: '2024-11-15T00:00:00Z', output: out, reasons: true, quiet: true });
    expect(r.rows).toBe(ids.length);
    const batch = await ctx.project.offline.all<{ borrower_id: number; as_of: string; probability: number; points: number; declined: boolean }>(`SELECT * FROM read_csv('${out}')`);
    expect(batch.map((b) => [b.borrower_id, b.as_of])).toEqual(ids.map((id) => [id, asOf]));
    const got = await online.lookup(ids, features, { asOf });
    const s = gbdtBundle(live).score(got.map((g) => g.row as ScoreRow));
    batch.forEach((b, i) => {
      expect(Math.abs(b.probability - s.probability[i]!)).toBeLessThanOrEqual(1e-12);
      expect(b.declined).toBe(s.declined[i] === 1);
    });
  }, 60_000);
});

describe('kiln score with features: spine errors', () => {
  it('names a spine without the entity key, or without a time, and lists its columns', async () => {
    writeFileSync(join(ctx.dir, 'nokey.csv'), 'id,funded_at\n1,2024-05-01T00:00:00Z\n');
    expect(await failMessage(scoreBatch(ctx.project, { model: 'credit@1', spine: join(ctx.dir, 'nokey.csv'), output: join(ctx.dir, 'x.parquet'), quiet: true }), 'SPINE_INVALID'))
      .toMatch(/^spine file .*nokey\.csv has no entity key column 'borrower_id' \(columns: id, funded_at\)/);
    writeFileSync(join(ctx.dir, 'notime.csv'), 'borrower_id,amount\n1,500\n');
    expect(await failMessage(scoreBatch(ctx.project, { model: 'credit@1', spine: join(ctx.dir, 'notime.csv'), output: join(ctx.dir, 'x.parquet'), quiet: true }), 'SPINE_INVALID'))
      .toMatch(/notime\.csv has no timestamp column \(columns: borrower_id BIGINT, amount BIGINT\)/);
    expect(await failMessage(scoreBatch(ctx.project, { model: 'credit@1', spine: 'loan_labels', time: 'approved_at', output: join(ctx.dir, 'x.parquet'), quiet: true }), 'SPINE_INVALID'))
      .toMatch(/^spine table 'loan_labels' has no time column 'approved_at'.* \(columns: .*funded_at/);
  });
});
