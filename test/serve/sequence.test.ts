/**
 * Sequence models through `kiln serve`: a simulated world where model 'credit' has a GBDT version (1),
 * a GRU sequence version (2, trained on the demo's `recent_txns` lastK feature with a next-event task) and
 * a joint GRU + scalar features version (3), materialised into the embedded online store. Predict by id and by row with parity against
 * `SequenceModel.score` on the lastK value the online store gives; a bad sequence in a row is a 400
 * naming the field; a hot swap GBDT -> sequence -> GBDT through the registry; a damaged sequence bundle
 * fails validation while the old version keeps serving; `kiln score` refuses a sequence version.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KilnError } from '../../src/core/errors.js';
import { materialize, openOnlineStore, type OnlineFeatureStore } from '../../src/online/index.js';
import { parseSequenceBundle, SequenceModel, trainModel } from '../../src/pipelines/index.js';
import { sequenceBundleText, type SequenceBundleJson } from '../../src/pipelines/sequence/bundle.js';
import { createServer } from '../../src/serve/http/index.js';
import {
  REASONS_UNAVAILABLE, loadLiveVersion, openModelSet, scoreBatch, servedFeatures, validateLive,
  type DecisionRecord, type ModelEvent, type ServedFeature,
} from '../../src/serve/index.js';
import { simulate } from '../../src/sim/index.js';
import { initProject, Project } from '../../src/store/index.js';
import { tempDir } from '../helpers.js';
import { CountingLog, route, settings, testServer, type TestServer } from './http-helpers.js';
import { GBDT, creditConfig, month, SEQ as SEQ_BASE } from './sequence-models.js';

const SEQ = { ...SEQ_BASE, sequence: { ...SEQ_BASE.sequence, tasks: [{ name: 'next_category', nextEvent: 'category' }] } };
const JOINT = { ...SEQ, sequence: { ...SEQ.sequence, joint: true, tasks: [] } };
const config = (credit: object): string => creditConfig('serve-seq', credit);

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

let dir: string;
let cleanup: () => void;
let project: Project;
let online: OnlineFeatureStore;
let served: ServedFeature[];
let bundle: SequenceBundleJson;
let ids: number[];
let s: TestServer;
/** An hour ago, in whole seconds (the online store reads recent times only). */
const ASOF = new Date(Math.floor(Date.now() / 1000) * 1000 - 3_600_000).toISOString();

beforeAll(async () => {
  ({ dir, cleanup } = tempDir('kiln-serve-seq-'));
  writeFileSync(join(dir, 'kiln.config.ts'), config(GBDT));
  await initProject(dir);
  project = await Project.open({ project: dir });
  const sim = await simulate(project.offline, { borrowers: 2000, seed: 7, orderEpisodes: 0.3, start: month(0) });
  for (const t of sim.tables) project.meta.upsertTable({ name: t.name, timestampColumn: t.timestampColumn ?? null, keyColumn: t.keyColumn ?? null, source: 'sim', description: t.description });
  await trainModel(project, 'credit', { quiet: true, force: true });
  project.close();
  writeFileSync(join(dir, 'kiln.config.ts'), config(SEQ));
  project = await Project.open({ project: dir });
  await trainModel(project, 'credit', { quiet: true, force: true });
  project.close();
  writeFileSync(join(dir, 'kiln.config.ts'), config(JOINT));
  project = await Project.open({ project: dir });
  await trainModel(project, 'credit', { quiet: true, force: true });
  project.registry.setAlias('credit', 'champion', 1, { reason: 'the GBDT first' });
  online = await openOnlineStore(project, { features: ['credit_v1', 'recent_txns'] });
  await materialize(project, { store: online, quiet: true });
  served = servedFeatures(online.plan);
  // Borrowers with transactions in the last 60 days: their recent_txns is not empty.
  const rows = await project.offline.all<{ id: number }>("SELECT DISTINCT borrower_id::INT AS id FROM transactions WHERE ts > now()::TIMESTAMP - INTERVAL '60 days' ORDER BY 1 LIMIT 40");
  project.releaseOffline();
  ids = rows.map((r) => r.id);
  bundle = parseSequenceBundle(readFileSync(project.registry.getVersion('credit', 2).artifactPath!, 'utf8'));
  s = await testServer({ routes: [route(loadLiveVersion(project, 'credit@2'))], online, project });
}, 240_000);
afterAll(async () => { await s?.close(); await online?.close(); project?.close(); cleanup?.(); });

async function call(method: 'GET' | 'POST', url: string, payload?: unknown, app = s.app): Promise<{ status: number; body: Json }> {
  const r = await app.inject({ method, url, ...(payload === undefined ? {} : { payload: payload as object }) });
  return { status: r.statusCode, body: r.json() };
}
const predict = (payload: unknown, app = s.app): Promise<{ status: number; body: Json }> => call('POST', '/v1/models/credit/predict', payload, app);

/** The lastK value the online store gives an entity as of a time. */
async function eventsOf(id: number, asOf: string): Promise<Json[]> {
  const [l] = await online.lookup([id], ['recent_txns'], { asOf });
  return l!.row.recent_txns as Json[];
}

describe('sequence versions: loading and validation', () => {
  it('loads a sequence bundle as a sequence version and validates it against the served lastK definition', () => {
    const live = loadLiveVersion(project, 'credit@2');
    expect(live.kind).toBe('sequence');
    expect(loadLiveVersion(project, 'credit@1').kind).toBe('gbdt');
    expect(served.find((f) => f.name === 'recent_txns')).toMatchObject({ type: 'SEQUENCE', version: bundle.encoding.featureVersion });
    expect(validateLive(live, { definitions: served })).toEqual({ warnings: [], smokeRows: 4, featuresChecked: 1 });
    const moved = served.map((f) => (f.name === 'recent_txns' ? { ...f, version: 'other' } : f));
    expect(() => validateLive(live, { definitions: moved })).toThrow(/recent_txns/);
    const gone = served.filter((f) => f.name !== 'recent_txns');
    expect(() => validateLive(live, { definitions: gone })).toThrow(KilnError);
  });

  it('kiln score refuses a sequence version, naming it and what scores it', async () => {
    const e = await scoreBatch(project, { model: 'credit@2', entities: join(dir, 'none.csv'), output: join(dir, 'out.parquet'), quiet: true }).catch((x: unknown) => x as KilnError);
    expect(e).toBeInstanceOf(KilnError);
    expect((e as KilnError).code).toBe('USAGE');
    expect((e as KilnError).message).toContain('credit version 2, a sequence model');
    expect((e as KilnError).message).toContain('/v1/models/credit/predict');
  });
});

describe('POST /v1/models/:name/predict with a sequence version', () => {
  it('scores by entity id as of a time: the PD is SequenceModel.score on the online lastK value', async () => {
    const model = new SequenceModel(bundle);
    const r = await predict({ rows: ids.slice(0, 6).map((id) => ({ entityId: id, asOf: ASOF })), embedding: true });
    expect(r.status).toBe(200);
    let nonEmpty = 0;
    for (const [i, res] of r.body.results.entries()) {
      const events = await eventsOf(ids[i]!, ASOF);
      nonEmpty += events.length > 0 ? 1 : 0;
      const want = model.score(events, ASOF);
      expect(res).toMatchObject({ model: 'credit', version: 2, entityId: String(ids[i]), asOf: ASOF, reasonsUnavailable: REASONS_UNAVAILABLE });
      expect(res.score.probability).toBe(want.pd);
      expect(res.score.raw).toBe(1 / (1 + Math.exp(-want.raw)));
      expect(res.embedding).toEqual(Array.from(want.embedding));
      expect(Object.keys(res.tasks.next_category).length).toBeGreaterThan(1);
      expect(res.reasons === null || (Array.isArray(res.reasons) && res.reasons.length === 0)).toBe(true);
    }
    expect(nonEmpty).toBeGreaterThan(0);
    const rec = (await call('GET', `/v1/decisions/${r.body.results[0].decisionId}`)).body as DecisionRecord;
    expect(rec.features.recent_txns).toEqual(await eventsOf(ids[0]!, ASOF));
    expect(rec.tasks).toEqual(r.body.results[0].tasks);
    const replayed = (await call('POST', `/v1/decisions/${rec.id}/replay`)).body;
    expect(replayed.equal).toBe(true);
    // the embedding only when asked for; reasons asked for are an empty list
    const plain = (await predict({ entityId: ids[0], asOf: ASOF, reasons: true })).body.results[0];
    expect(plain.embedding).toBeUndefined();
    expect(plain.reasons).toEqual([]);
    expect(plain.score).toEqual(r.body.results[0].score);
  });

  it('scores a full row with the lastK value as a JSON list, equal to the same entity by id', async () => {
    const id = ids.find((x, i) => i < 6) as number;
    const events = await eventsOf(id, ASOF);
    const byId = (await predict({ entityId: id, asOf: ASOF })).body.results[0];
    const byRow = await predict({ features: { recent_txns: events }, asOf: ASOF });
    expect(byRow.status).toBe(200);
    expect(byRow.body.results[0]).toMatchObject({ entityId: null, asOf: ASOF });
    expect(byRow.body.results[0].score).toEqual(byId.score);
    // without asOf: scored as of the decision's time, which is recorded, so the decision replays
    const now = (await predict({ rows: [{ features: { recent_txns: [] } }, { features: { recent_txns: null } }] })).body.results;
    expect(now[0].asOf).not.toBeNull();
    expect(now[0].score).toEqual(now[1].score);
    expect((await call('POST', `/v1/decisions/${now[0].decisionId}/replay`)).body.equal).toBe(true);
  });

  it('answers 400 naming the field for a bad sequence in a row', async () => {
    const events = (await eventsOf(ids[0]!, ASOF)).slice(0, 3);
    expect(events.length).toBeGreaterThan(1);
    const cases: [unknown, string][] = [
      [events.map((e, j) => (j === 1 ? { ...e, ts: 'yesterday' } : e)), 'rows.0.features.recent_txns.1.ts'],
      [events.map((e, j) => (j === 0 ? { ...e, amout: 3 } : e)), 'rows.0.features.recent_txns.0.amout'],
      [events.map((e, j) => (j === 2 ? { ...e, amount: '12.5' } : e)), 'rows.0.features.recent_txns.2.amount'],
      [events.map((e, j) => (j === 1 ? Object.fromEntries(Object.entries(e).filter(([k]) => k !== 'channel')) : e)), 'rows.0.features.recent_txns.1.channel'],
      [[...events].reverse(), 'rows.0.features.recent_txns.1.ts'],
      [Array.from({ length: bundle.encoding.k + 1 }, () => events[0]), 'rows.0.features.recent_txns'],
      ['[]', 'rows.0.features.recent_txns'],
    ];
    for (const [value, field] of cases) {
      const r = await predict({ rows: [{ features: { recent_txns: value }, asOf: ASOF }] });
      expect(r.status, field).toBe(400);
      expect(r.body.code).toBe('REQUEST_INVALID');
      expect(r.body.message).toContain(`${field}: `);
      expect(r.body.path).toEqual(field.split('.').map((x) => (/^\d+$/.test(x) ? Number(x) : x)));
    }
    // an event after the row's as-of time
    const early = new Date(Date.parse(ASOF) - 400 * 86_400_000).toISOString();
    const r = await predict({ features: { recent_txns: events }, asOf: early });
    expect(r.status).toBe(400);
    expect(r.body.message).toContain('recent_txns.0.ts');
  });

  it('scores a joint model by id with its scalar features read from the online store in the same lookup', async () => {
    const live = loadLiveVersion(project, 'credit@3');
    expect(live.kind === 'sequence' && live.model.bundle.tabular.length).toBeGreaterThan(10);
    expect(validateLive(live, { definitions: served }).featuresChecked).toBe(live.info.signature.features.length);
    const joint = await testServer({ routes: [route(live)], online, project });
    try {
      const inputs = live.info.signature.features.map((f) => f.name);
      const r = await predict({ rows: ids.slice(0, 4).map((id) => ({ entityId: id, asOf: ASOF })) }, joint.app);
      expect(r.status).toBe(200);
      // the features these inputs come from (a bucketed feature's columns are <feature>__<bucket>)
      const found = await online.lookup(ids.slice(0, 4), [...new Set(inputs.map((n) => n.split('__')[0]!))], { asOf: ASOF });
      const model = new SequenceModel(parseSequenceBundle(readFileSync(live.info.artifactPath!, 'utf8')));
      for (const [i, res] of r.body.results.entries()) {
        const row = found[i]!.row as Json;
        expect(res.score.probability).toBe(model.score(row.recent_txns, ASOF, Object.fromEntries(inputs.map((n) => [n, row[n]]))).pd);
      }
      // the scalar features change the score: the same events with every scalar missing score otherwise
      const events = (found[0]!.row as Json).recent_txns;
      const bare = await predict({ features: Object.fromEntries(inputs.map((n) => [n, n === 'recent_txns' ? events : null])), asOf: ASOF }, joint.app);
      expect(bare.status).toBe(200);
      expect(bare.body.results[0].score.raw).not.toBe(r.body.results[0].score.raw);
    } finally {
      await joint.close();
    }
  });

  it('explain refuses a sequence version with a 400 that says why', async () => {
    const r = await call('POST', '/v1/models/credit/explain', { entityId: ids[0] });
    expect(r.status).toBe(400);
    expect(r.body.message).toContain('sequence model');
  });
});

describe('hot swap through the registry', () => {
  it('swaps GBDT -> sequence -> GBDT, and a damaged sequence bundle fails validation while the old version serves', async () => {
    const set = await openModelSet(project, ['credit@champion'], { pollMs: 0, definitions: served, log: () => {} });
    const events: ModelEvent[] = [];
    set.onEvent((e) => events.push(e));
    const decisions = await CountingLog.open();
    const app = createServer({ models: set, decisions, online, settings: settings() });
    try {
      const one = async (): Promise<Json> => (await predict({ entityId: ids[0], asOf: ASOF }, app)).body.results[0];
      expect((await one()).version).toBe(1);
      expect((await one()).tasks).toBeUndefined();
      project.registry.setAlias('credit', 'champion', 2, { reason: 'the sequence model' });
      await set.refresh();
      const seq = await one();
      expect(seq.version).toBe(2);
      expect(seq.reasonsUnavailable).toBe(REASONS_UNAVAILABLE);
      project.registry.setAlias('credit', 'champion', 1, { reason: 'back' });
      await set.refresh();
      expect((await one()).version).toBe(1);
      project.registry.setAlias('credit', 'champion', 2, { reason: 'again' });
      await set.refresh();

      // version 3: version 2's bundle with its last parameter (a head's) set to NaN (a valid file, checksum recomputed)
      const damaged = JSON.parse(JSON.stringify(bundle)) as SequenceBundleJson;
      const p = damaged.params.at(-1)!;
      const bytes = Buffer.from(p.data, 'base64');
      const values = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
      values.fill(NaN);
      p.data = Buffer.from(values.buffer).toString('base64');
      const { checksum: _c, ...body } = damaged;
      const file = join(dir, 'damaged.kiln.json');
      writeFileSync(file, sequenceBundleText(body));
      const v2 = project.registry.getVersion('credit', 2);
      const v3 = project.registry.registerVersion('credit', { signature: v2.signature, runId: v2.runId, artifactPath: file, reason: 'damaged copy' });
      project.registry.setAlias('credit', 'champion', v3.version, { reason: 'a damaged bundle' });
      await set.refresh();
      expect((await one()).version).toBe(2);
      const status = set.status()[0]!;
      expect(status.version).toBe(2);
      expect(status.lastError?.message).toMatch(/failed validation.*synthetic smoke row/);
      expect(events.at(-1)).toMatchObject({ kind: 'swap_failed', version: v3.version });
    } finally {
      await app.close();
      await set.close();
      await decisions.dispose();
    }
  });
});
