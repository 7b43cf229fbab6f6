/**
 * Fused GBDTs and imported ONNX sequence models through `kiln serve`: a simulated world where model
 * 'credit' has a GBDT version (1), a fused version (2: a GRU encoder's embedding of `recent_txns` under a
 * GBDT over credit_v1), a GRU sequence version (3), and version 3 exported to ONNX and imported back (4),
 * materialised into the embedded online store. Predict by id and by row with parity (fused: FusedModel
 * on the same online values, reasons included; ONNX: OnnxSequenceModel.score, and the kiln network's PD
 * before calibration to 1e-5), replays, malformed rows answered 400 naming the field, `kiln score`
 * refusing both, and a hot swap GBDT -> fused -> ONNX -> GBDT under load with no failed request, the ONNX
 * session released once swapped out.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KilnError } from '../../src/core/errors.js';
import { materialize, openOnlineStore, type OnlineFeatureStore } from '../../src/online/index.js';
import { exportSequenceOnnx, FusedModel, importOnnxModel, loadModelBundle, OnnxSequenceModel, parseSequenceBundle, SequenceModel, trainModel } from '../../src/pipelines/index.js';
import { createServer } from '../../src/serve/http/index.js';
import {
  CUTOFF_UNAVAILABLE, REASONS_UNAVAILABLE, loadLiveVersion, openLiveVersion, openModelSet, requestInputs, retireLive, scoreBatch, servedFeatures, validateLive,
  type DecisionRecord, type LiveVersion, type ServedFeature,
} from '../../src/serve/index.js';
import { simulate } from '../../src/sim/index.js';
import { initProject, Project } from '../../src/store/index.js';
import { tempDir } from '../helpers.js';
import { CountingLog, route, settings, testServer, type TestServer } from './http-helpers.js';
import { BASE, GBDT, creditConfig, month, SEQ } from './sequence-models.js';

const FUSED = { ...BASE, algorithm: 'sequence', sequence: { input: 'recent_txns', encoder: 'gru', size: 8, epochs: 2, register: 'gbdt', reason: 'Recent transaction pattern' }, params: { n_estimators: 40, max_depth: 3, learning_rate: 0.1 }, defaultReason: 'Other credit history factors' };
const config = (credit: object): string => creditConfig('serve-fused', credit);

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

let dir: string;
let cleanup: () => void;
let project: Project;
let online: OnlineFeatureStore;
let served: ServedFeature[];
let ids: number[];
let fusedLive: LiveVersion;
let onnxLive: LiveVersion;
let fs: TestServer;
let os: TestServer;
const ASOF = new Date(Math.floor(Date.now() / 1000) * 1000 - 3_600_000).toISOString();

async function train(credit: object): Promise<void> {
  project.close();
  writeFileSync(join(dir, 'kiln.config.ts'), config(credit));
  project = await Project.open({ project: dir });
  await trainModel(project, 'credit', { quiet: true, force: true });
}

beforeAll(async () => {
  ({ dir, cleanup } = tempDir('kiln-serve-fused-'));
  writeFileSync(join(dir, 'kiln.config.ts'), config(GBDT));
  await initProject(dir);
  project = await Project.open({ project: dir });
  const sim = await simulate(project.offline, { borrowers: 2000, seed: 7, orderEpisodes: 0.3, start: month(0) });
  for (const t of sim.tables) project.meta.upsertTable({ name: t.name, timestampColumn: t.timestampColumn ?? null, keyColumn: t.keyColumn ?? null, source: 'sim', description: t.description });
  await trainModel(project, 'credit', { quiet: true, force: true });
  await train(FUSED);
  await train(SEQ);
  exportSequenceOnnx(project, 'credit@3', join(dir, 'credit3.onnx'));
  await importOnnxModel(project, join(dir, 'credit3.onnx'), { name: 'credit', encodingFrom: 'credit@3' });
  project.registry.setAlias('credit', 'champion', 1, { reason: 'the GBDT first' });
  online = await openOnlineStore(project, { features: ['credit_v1', 'recent_txns'] });
  await materialize(project, { store: online, quiet: true });
  served = servedFeatures(online.plan);
  const rows = await project.offline.all<{ id: number }>("SELECT DISTINCT borrower_id::INT AS id FROM transactions WHERE ts > now()::TIMESTAMP - INTERVAL '60 days' ORDER BY 1 LIMIT 40");
  project.releaseOffline();
  ids = rows.map((r) => r.id);
  fusedLive = loadLiveVersion(project, 'credit@2');
  onnxLive = await openLiveVersion('credit@4', project.registry.resolve('credit@4'));
  fs = await testServer({ routes: [route(fusedLive)], online, project });
  os = await testServer({ routes: [route(onnxLive)], online, project });
}, 240_000);
afterAll(async () => {
  await fs?.close();
  await os?.close();
  if (onnxLive) await retireLive(onnxLive);
  await online?.close();
  project?.close();
  cleanup?.();
});

async function call(app: TestServer['app'], method: 'GET' | 'POST', url: string, payload?: unknown): Promise<{ status: number; body: Json }> {
  const r = await app.inject({ method, url, ...(payload === undefined ? {} : { payload: payload as object }) });
  return { status: r.statusCode, body: r.json() };
}
const predict = (app: TestServer['app'], payload: unknown): Promise<{ status: number; body: Json }> => call(app, 'POST', '/v1/models/credit/predict', payload);

/** An online value as the server reads it (bigint as a number). */
const plain = (v: unknown): unknown => (typeof v === 'bigint' ? Number(v) : v);

/** The values of `inputs` the online store gives an entity as of ASOF (a bucketed feature's columns are <feature>__<bucket>). */
async function onlineRow(id: number, inputs: readonly string[]): Promise<Json> {
  const [l] = await online.lookup([id], [...new Set(inputs.map((n) => n.split('__')[0]!))], { asOf: ASOF });
  return Object.fromEntries(inputs.map((n) => [n, plain((l!.row as Json)[n] ?? null)]));
}

describe('loading and validation', () => {
  it('a fused bundle is a fused version: it reads its lastK input, not its embedding columns, and validates', () => {
    expect(fusedLive.kind).toBe('fused');
    const sig = fusedLive.info.signature.features.map((f) => f.name);
    expect(sig).toContain('recent_txns_emb_7');
    expect(sig).not.toContain('recent_txns');
    const inputs = requestInputs(fusedLive);
    expect(inputs[0]).toMatchObject({ name: 'recent_txns', type: 'SEQUENCE' });
    expect(inputs.some((f) => f.name.startsWith('recent_txns_emb_'))).toBe(false);
    expect(inputs.length).toBe(sig.length - 8 + 1);
    const r = validateLive(fusedLive, { definitions: served });
    expect(r.warnings).toEqual([]);
    expect(r.featuresChecked).toBe(inputs.length);
    expect(r.smokeRows).toBeGreaterThan(4);
    const moved = served.map((f) => (f.name === 'recent_txns' ? { ...f, version: 'other' } : f));
    expect(() => validateLive(fusedLive, { definitions: moved })).toThrow(/recent_txns/);
  });

  it('an imported ONNX bundle is an ONNX version: validated on its smoke rows, live with a no-cutoff warning', () => {
    expect(onnxLive.kind).toBe('onnx');
    const r = validateLive(onnxLive, { definitions: served });
    expect(r).toMatchObject({ smokeRows: 4, featuresChecked: 1 });
    expect(r.warnings.join(' ')).toContain('no cutoff');
    // loaded synchronously, its smoke rows were not scored: it may not go live
    const sync = loadLiveVersion(project, 'credit@4');
    expect(sync.kind === 'onnx' && sync.scorer.open).toBe(false);
    expect(() => validateLive(sync)).toThrow(/smoke rows were not scored/);
  });

  it('kiln score refuses fused and ONNX versions, naming them and what scores them', async () => {
    for (const [v, what] of [[2, 'a fused model'], [4, 'an imported ONNX model']] as const) {
      const e = await scoreBatch(project, { model: `credit@${v}`, entities: join(dir, 'none.csv'), output: join(dir, 'out.parquet'), quiet: true }).catch((x: unknown) => x as KilnError);
      expect(e).toBeInstanceOf(KilnError);
      expect((e as KilnError).code).toBe('USAGE');
      expect((e as KilnError).message).toContain(`credit version ${v}, ${what}`);
      expect((e as KilnError).message).toContain('/v1/models/credit/predict');
    }
  });
});

describe('a fused version through POST /v1/models/:name/predict', () => {
  it('scores by id as FusedModel does on the same online values, reasons included, and replays', async () => {
    const reference = new FusedModel(loadModelBundle(fusedLive.info.artifactPath!));
    const inputs = requestInputs(fusedLive).map((f) => f.name);
    const r = await predict(fs.app, { rows: ids.slice(0, 6).map((id) => ({ entityId: id, asOf: ASOF })), reasons: true });
    expect(r.status).toBe(200);
    const rows = await Promise.all(ids.slice(0, 6).map((id) => onlineRow(id, inputs)));
    expect(rows.some((x) => (x.recent_txns as unknown[]).length > 0)).toBe(true);
    const want = reference.score(rows, () => ASOF, { reasons: 'all' });
    const named = new Set<string>();
    for (const [i, res] of r.body.results.entries()) {
      expect(res).toMatchObject({ version: 2, entityId: String(ids[i]), asOf: ASOF });
      expect(res.reasonsUnavailable).toBeUndefined();
      expect(res.score.raw).toBe(want.probability[i]);
      expect(res.score.probability).toBe(want.calibrated ? want.calibrated[i] : want.probability[i]);
      expect(res.score.declined).toBe(want.declined[i] === 1);
      expect(res.reasons).toEqual(want.reasons![i]!.map((x) => ({ reason: x.reason, text: x.text, contribution: x.contribution })));
      for (const x of res.reasons) named.add(x.reason);
    }
    // the embedding columns are one reason, named after the lastK feature
    expect(named.has('recent_txns')).toBe(true);
    expect([...named].some((n) => n.startsWith('recent_txns_emb'))).toBe(false);
    const rec = (await call(fs.app, 'GET', `/v1/decisions/${r.body.results[0].decisionId}`)).body as DecisionRecord;
    expect(Object.keys(rec.features).sort()).toEqual([...inputs].sort());
    expect(rec.features.recent_txns).toEqual(rows[0]!.recent_txns);
    expect((await call(fs.app, 'POST', `/v1/decisions/${rec.id}/replay`)).body.equal).toBe(true);
  });

  it('scores a full row (the lastK list under its name) as by id; without asOf the decision time is recorded and replays', async () => {
    const inputs = requestInputs(fusedLive).map((f) => f.name);
    const row = await onlineRow(ids[1]!, inputs);
    const byId = (await predict(fs.app, { entityId: ids[1], asOf: ASOF })).body.results[0];
    const byRow = await predict(fs.app, { features: row, asOf: ASOF });
    expect(byRow.status).toBe(200);
    expect(byRow.body.results[0].score).toEqual(byId.score);
    const now = (await predict(fs.app, { features: { ...row, recent_txns: null } })).body.results[0];
    expect(now.asOf).not.toBeNull();
    expect((await call(fs.app, 'POST', `/v1/decisions/${now.decisionId}/replay`)).body.equal).toBe(true);
  });

  it('answers 400 naming the field for a malformed row', async () => {
    const inputs = requestInputs(fusedLive).map((f) => f.name);
    const row = await onlineRow(ids[0]!, inputs);
    const events = row.recent_txns as Json[];
    expect(events.length).toBeGreaterThan(1);
    const { recent_txns: _drop, ...noSeq } = row;
    const cases: [unknown, string][] = [
      [{ ...row, recent_txns: events.map((e, j) => (j === 1 ? { ...e, ts: 'yesterday' } : e)) }, 'rows.0.features.recent_txns.1.ts'],
      [{ ...row, recent_txns_emb_0: 0.5 }, 'rows.0.features'],
      [noSeq, 'rows.0.features.recent_txns'],
    ];
    for (const [features, field] of cases) {
      const r = await predict(fs.app, { rows: [{ features, asOf: ASOF }] });
      expect(r.status, field).toBe(400);
      expect(r.body.code).toBe('REQUEST_INVALID');
      expect(r.body.message).toContain(field);
    }
    expect((await predict(fs.app, { rows: [{ features: { ...row, recent_txns_emb_0: 0.5 }, asOf: ASOF }] })).body.message).toContain('recent_txns_emb_0');
    const explain = await call(fs.app, 'POST', '/v1/models/credit/explain', { entityId: ids[0] });
    expect(explain.status).toBe(400);
    expect(explain.body.message).toContain('a fused model');
  });
});

describe('an imported ONNX version through POST /v1/models/:name/predict', () => {
  it('scores by id as OnnxSequenceModel does, within 1e-5 of the kiln network before calibration; no reasons, no cutoff', async () => {
    const onnx = await OnnxSequenceModel.load(onnxLive.info.artifactPath!);
    const kiln = new SequenceModel(parseSequenceBundle(readFileSync(project.registry.getVersion('credit', 3).artifactPath!, 'utf8')));
    try {
      const r = await predict(os.app, { rows: ids.slice(0, 6).map((id) => ({ entityId: id, asOf: ASOF })), embedding: true, reasons: true });
      expect(r.status).toBe(200);
      for (const [i, res] of r.body.results.entries()) {
        const { recent_txns: events } = await onlineRow(ids[i]!, ['recent_txns']);
        const want = await onnx.score(events as unknown[], ASOF);
        expect(res).toMatchObject({ version: 4, reasons: [], reasonsUnavailable: REASONS_UNAVAILABLE, cutoffUnavailable: CUTOFF_UNAVAILABLE });
        expect(res.tasks).toEqual({});
        expect(res.score.raw).toBe(want.pd);
        expect(res.score.probability).toBe(want.pd);
        expect(res.score.declined).toBe(false);
        expect(res.embedding).toEqual(Array.from(want.embedding));
        const k = kiln.score(events as unknown[], ASOF);
        expect(Math.abs(res.score.raw - 1 / (1 + Math.exp(-k.raw)))).toBeLessThan(1e-5);
      }
      const rec = (await call(os.app, 'GET', `/v1/decisions/${r.body.results[0].decisionId}`)).body as DecisionRecord;
      expect(rec.score.calibrated).toBeNull();
      expect((await call(os.app, 'POST', `/v1/decisions/${rec.id}/replay`)).body.equal).toBe(true);
    } finally {
      await onnx.release();
    }
  });

  it('scores a full row as by id, and answers 400 naming the field for a malformed one', async () => {
    const { recent_txns: events } = await onlineRow(ids[2]!, ['recent_txns']);
    const byId = (await predict(os.app, { entityId: ids[2], asOf: ASOF })).body.results[0];
    const byRow = await predict(os.app, { features: { recent_txns: events }, asOf: ASOF });
    expect(byRow.status).toBe(200);
    expect(byRow.body.results[0].score).toEqual(byId.score);
    const bad = (events as Json[]).map((e, j) => (j === 0 ? { ...e, amount: 'lots' } : e));
    const r = await predict(os.app, { rows: [{ features: { recent_txns: bad }, asOf: ASOF }] });
    expect(r.status).toBe(400);
    expect(r.body.path).toEqual(['rows', 0, 'features', 'recent_txns', 0, 'amount']);
  });
});

describe('the ONNX session of a version swapped out', () => {
  it('is released once the calls in flight are done; a call after that reopens one for itself and gives the same scores', async () => {
    const live = await openLiveVersion('credit@4', project.registry.resolve('credit@4'));
    if (live.kind !== 'onnx') throw new Error('not an ONNX version');
    const { recent_txns: events } = await onlineRow(ids[3]!, ['recent_txns']);
    const row = { events: events as unknown[], at: ASOF };
    const inFlight = live.scorer.scoreMany([row]);
    await live.scorer.retire();
    expect(live.scorer.open).toBe(true);
    const first = await inFlight;
    expect(live.scorer.open).toBe(false);
    const late = await live.scorer.scoreMany([row]);
    expect(late[0]!.pd).toBe(first[0]!.pd);
    expect(live.scorer.open).toBe(false);
  });
});

describe('hot swap through the registry', () => {
  it('swaps GBDT -> fused -> ONNX -> GBDT under load with no failed request; the ONNX session is released once swapped out', async () => {
    const set = await openModelSet(project, ['credit@champion'], { pollMs: 0, definitions: served, log: () => {} });
    const decisions = await CountingLog.open();
    const app = createServer({ models: set, decisions, online, settings: settings() });
    const failures: string[] = [];
    const seen = new Set<number>();
    let stop = false;
    const load = (async () => {
      for (let i = 0; !stop; i++) {
        const r = await predict(app, { entityId: ids[i % ids.length], asOf: ASOF });
        if (r.status !== 200) failures.push(`${r.status} ${JSON.stringify(r.body)}`);
        else seen.add(r.body.results[0].version);
      }
    })();
    try {
      const one = async (): Promise<Json> => (await predict(app, { entityId: ids[0], asOf: ASOF, reasons: true })).body.results[0];
      expect((await one()).version).toBe(1);
      const swap = async (v: number): Promise<Json> => {
        project.registry.setAlias('credit', 'champion', v, { reason: `to ${v}` });
        await set.refresh();
        // the load has been served by the new version too
        while (!seen.has(v) && failures.length === 0) await new Promise((r) => setTimeout(r, 1));
        return one();
      };
      const fused = await swap(2);
      expect(fused.version).toBe(2);
      expect(fused.reasons.length).toBeGreaterThan(0);
      const onnx = await swap(4);
      expect(onnx).toMatchObject({ version: 4, cutoffUnavailable: CUTOFF_UNAVAILABLE });
      const onnxVersion = set.route('credit')!.primary;
      expect(onnxVersion.kind === 'onnx' && onnxVersion.scorer.open).toBe(true);
      expect(set.status()[0]!.warnings!.join(' ')).toContain('no cutoff');
      const back = await swap(1);
      expect(back.version).toBe(1);
      expect(back.cutoffUnavailable).toBeUndefined();
      stop = true;
      await load;
      expect(onnxVersion.kind === 'onnx' && onnxVersion.scorer.open).toBe(false);
      expect(failures).toEqual([]);
      expect(seen).toEqual(new Set([1, 2, 4]));
    } finally {
      stop = true;
      await load;
      await app.close();
      await set.close();
      await decisions.dispose();
    }
  });
});
