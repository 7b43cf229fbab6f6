import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportModel, importModel, loadModelBundle } from '../../src/pipelines/index.js';
import { gbdtBundle, loadLiveVersion, openModelSet, validateLive, type ModelEvent, type ModelSet } from '../../src/serve/index.js';
import { fails } from '../fails.js';
import { kiln } from '../helpers.js';
import { modelFixture, moveAside, type Fixture } from './models-fixture.js';

let fx: Fixture;
/** Probability of each fixture row under versions 1 and 2. */
const expected = new Map<number, number[]>();
const sets: ModelSet[] = [];

beforeAll(async () => {
  fx = await modelFixture('models');
  for (const v of [1, 2]) expected.set(v, [...gbdtBundle(loadLiveVersion(fx.project, `risk@${v}`)).score(fx.rows).probability]);
}, 60_000);
afterAll(async () => { for (const s of sets) await s.close(); fx?.cleanup(); });

async function open(refs: string[], opts: Parameters<typeof openModelSet>[2] = {}): Promise<{ set: ModelSet; events: ModelEvent[]; log: string[] }> {
  const events: ModelEvent[] = [];
  const log: string[] = [];
  const set = await openModelSet(fx.project, refs, { pollMs: 0, log: (l) => log.push(l), ...opts });
  set.onEvent((e) => events.push(e));
  sets.push(set);
  return { set, events, log };
}

async function until(cond: () => boolean, ms = 3000): Promise<number> {
  const t0 = performance.now();
  while (!cond()) {
    if (performance.now() - t0 > ms) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 5));
  }
  return performance.now() - t0;
}

const trees = (b: { booster: unknown }): { left_children: number[]; split_conditions: number[] }[] => (b.booster as { trees: { left_children: number[]; split_conditions: number[] }[] }).trees;

describe('the smoke sample', () => {
  it('is stored with a trained version: held-out rows as callers send them, and their probabilities', () => {
    const live = loadLiveVersion(fx.project, 'risk@1');
    const smoke = gbdtBundle(live).smoke!;
    expect(smoke.rows).toHaveLength(32);
    expect(smoke.probability).toHaveLength(32);
    for (const r of smoke.rows) {
      expect(Object.keys(r).sort()).toEqual(['age', 'late_count', 'region', 'utilisation']);
      expect(['north', 'south', 'east', 'west']).toContain(r.region);
    }
    expect([...gbdtBundle(live).score(smoke.rows).probability]).toEqual(smoke.probability);
    // the two versions' samples are the same rows (seeded pick), scored differently
    const other = gbdtBundle(loadLiveVersion(fx.project, 'risk@2')).smoke!;
    expect(other.rows).toEqual(smoke.rows);
    expect(other.probability).not.toEqual(smoke.probability);
    expect(validateLive(live)).toEqual({ warnings: [], smokeRows: 32, featuresChecked: 0 });
  });

  it('survives export and import, and is covered by the checksum', () => {
    const file = join(fx.dir, 'risk-1.kiln.json');
    exportModel(fx.project, 'risk@1', file);
    expect(loadModelBundle(file).smoke).toEqual(gbdtBundle(loadLiveVersion(fx.project, 'risk@1')).smoke);
    const v = importModel(fx.project, file, { name: 'risk_copy' }).version;
    const live = loadLiveVersion(fx.project, `risk_copy@${v.version}`);
    expect(validateLive(live).smokeRows).toBe(32);
    // editing the sample without the checksum is a corrupt file
    const text = readFileSync(file, 'utf8').replace(/"probability":\[0\.(\d)/, (_m, d: string) => `"probability":[0.${(Number(d) + 1) % 10}`);
    expect(() => loadModelBundle(Buffer.from(text))).toThrow(/checksum/);
  });

  it('catches an edited probability or edited trees (checksum recomputed): MODEL_VALIDATION_FAILED naming the row', async () => {
    const vp = fx.registerEdited(1, (b) => { b.smoke!.probability[3] = b.smoke!.probability[3]! * (1 + 1e-6); });
    const e1 = await fails((async () => validateLive(loadLiveVersion(fx.project, `risk@${vp}`)))(), 'MODEL_VALIDATION_FAILED');
    expect(e1.message).toContain(`risk version ${vp}`);
    expect(e1.message).toContain('smoke row 3 of 32');
    const vt = fx.registerEdited(1, (b) => { const t = trees(b)[0]!; t.left_children.forEach((l, i) => { if (l < 0) t.split_conditions[i]! += 0.25; }); });
    const e2 = await fails((async () => validateLive(loadLiveVersion(fx.project, `risk@${vt}`)))(), 'MODEL_VALIDATION_FAILED');
    expect(e2.message).toMatch(/smoke row 0 of 32 scores 0\.\d+, but the version gave it 0\.\d+ at training time/);
    // within tolerance (1e-9 relative) passes
    const ok = fx.registerEdited(1, (b) => { b.smoke!.probability[0] = b.smoke!.probability[0]! * (1 + 1e-12); });
    expect(validateLive(loadLiveVersion(fx.project, `risk@${ok}`)).smokeRows).toBe(32);
  });

  it('a version without a sample (older bundles) passes with a warning', () => {
    const v = fx.registerEdited(1, (b) => { delete b.smoke; });
    const r = validateLive(loadLiveVersion(fx.project, `risk@${v}`));
    expect(r.smokeRows).toBe(0);
    expect(r.warnings[0]).toContain('has no smoke sample');
  });
});

describe('the signature against the online definitions', () => {
  it('checks feature inputs (name, type, definition version) and skips plain table columns', async () => {
    const served = [
      { name: 'utilisation', type: 'DOUBLE', version: 'v-util' }, { name: 'late_count', type: 'BIGINT', version: 'v-late' },
      { name: 'age', type: 'BIGINT', version: 'v-age' }, { name: 'region', type: 'VARCHAR', version: 'v-region' },
    ];
    // version 1 is on plain table columns (versions 'column:TYPE'): nothing to check against
    expect(loadLiveVersion(fx.project, 'risk@1').info.signature.features[0]!.version).toMatch(/^column:/);
    expect(validateLive(loadLiveVersion(fx.project, 'risk@1'), { definitions: [] }).featuresChecked).toBe(0);
    const v = fx.registerEdited(1, (b) => { for (const f of b.signature.features) f.version = `v-${f.name.slice(0, f.name === 'utilisation' ? 4 : f.name === 'late_count' ? 4 : 6)}`; });
    const live = loadLiveVersion(fx.project, `risk@${v}`);
    expect(live.info.signature.features.map((f) => f.version)).toEqual(['v-util', 'v-late', 'v-age', 'v-region']);
    expect(validateLive(live, { definitions: served }).featuresChecked).toBe(4);
    const changed = served.map((f) => (f.name === 'late_count' ? { ...f, version: 'v-late-2' } : f.name === 'age' ? { ...f, type: 'DOUBLE' } : f)).filter((f) => f.name !== 'region');
    const e = await fails((async () => validateLive(live, { definitions: changed }))(), 'MODEL_VALIDATION_FAILED');
    expect(e.message).toContain('do not match the features the online store serves');
    expect(e.message).toContain("feature 'late_count' is at definition version v-late-2, the model was trained on v-late");
    expect(e.message).toContain("feature 'age' is DOUBLE, the model was trained on BIGINT");
    expect(e.message).toContain("feature 'region' is missing");
  });
});

describe('openModelSet', () => {
  it('serves the configured references, validated, and reports status', async () => {
    const { set, log } = await open(['risk@champion', 'risk_copy']);
    expect(set.ready()).toBe(true);
    expect(set.names()).toEqual(['risk', 'risk_copy']);
    expect(set.route('risk')!.primary.version).toBe(1);
    expect(set.route('nope')).toBeUndefined();
    const [s] = set.status();
    expect(s).toMatchObject({ name: 'risk', ref: 'risk@champion', state: 'ready', version: 1, aliases: ['champion'], challenger: null, lastError: null, lastSwapAt: null, warnings: [] });
    expect(log[0]).toMatch(/^risk: risk@champion is version 1 \(loaded and validated in \d+ ms\)$/);
    // TreeSHAP on a thread of the version's own, unless the server keeps it on the event loop (serve.shapThread).
    const primary = set.route('risk')!.primary as { shap?: unknown };
    expect(primary.shap).toBeDefined();
    const inline = await open(['risk@champion'], { shapThreads: false });
    expect((inline.set.route('risk')!.primary as { shap?: unknown }).shap).toBeUndefined();
    await fails(openModelSet(fx.project, ['risk@champion', 'risk@2']), 'USAGE');
    await fails(openModelSet(fx.project, ['risk@@x']), 'USAGE');
    await fails(openModelSet(fx.project, ['risk'], { traffic: { other: { challenger: 'other@2', mode: 'shadow' } } }), 'CONFIG_INVALID');
  });

  it('picks up an alias moved through another connection within pollMs, and swaps only a version that validates', async () => {
    const { set, events, log } = await open(['risk@champion'], { pollMs: 50 });
    const first = set.route('risk')!;
    fx.other.registry.setAlias('risk', 'champion', 2, { reason: 'test: promote 2' });
    const waited = await until(() => set.route('risk')!.primary.version === 2);
    expect(waited).toBeLessThan(1000);
    expect(events.at(-1)).toMatchObject({ kind: 'swap', name: 'risk', ref: 'risk@champion', from: 1, to: 2 });
    expect(first.primary.version).toBe(1); // a route held by a request is never changed
    expect(set.status()[0]!.lastSwapAt).not.toBeNull();

    const bad = fx.registerEdited(2, (b) => { b.smoke!.probability[5] = 0.5; });
    fx.other.registry.setAlias('risk', 'champion', bad, { reason: 'test: a bad version' });
    await until(() => events.some((e) => e.kind === 'swap_failed'));
    expect(set.route('risk')!.primary.version).toBe(2);
    expect(events.at(-1)).toMatchObject({ kind: 'swap_failed', name: 'risk', ref: 'risk@champion', version: bad, error: expect.stringContaining('smoke row 5 of 32') });
    const st = set.status()[0]!;
    expect(st).toMatchObject({ state: 'ready', version: 2 });
    expect(st.lastError).toMatchObject({ version: bad, message: expect.stringContaining('failed validation and was not put live') });
    expect(log.at(-1)).toContain(`risk@champion version ${bad} not swapped in`);
    expect(log.at(-1)).toContain('version 2 keeps serving');
    // not tried again while the registry stays as it is
    const n = events.length;
    await new Promise((r) => setTimeout(r, 200));
    expect(events.length).toBe(n);
    // through the real CLI (another process): back to version 1
    const r = await kiln(['models', 'alias', 'set', 'risk@1', 'champion', '--reason', 'test: roll back'], fx.dir);
    expect(r.code, r.stderr).toBe(0);
    await until(() => set.route('risk')!.primary.version === 1);
    await set.close();
  }, 30_000);

  it('moving the alias back and forth 20 times under continuous scoring: every score from a complete route, none throws', async () => {
    fx.project.registry.setAlias('risk', 'champion', 1, { reason: 'test: start' });
    const { set, events } = await open(['risk@champion'], { pollMs: 5 });
    let stop = false;
    let calls = 0;
    const seen = new Set<number>();
    const problems: string[] = [];
    const loop = (async () => {
      while (!stop) {
        for (let k = 0; k < 20; k++) {
          calls++;
          try {
            const route = set.route('risk')!;
            const v = route.primary.version;
            seen.add(v);
            const p = [...gbdtBundle(route.primary).score(fx.rows).probability];
            if (gbdtBundle(route.primary).provenance.version !== v || JSON.stringify(p) !== JSON.stringify(expected.get(v))) problems.push(`call ${calls}: version ${v} scored as another`);
          } catch (e) { problems.push(`call ${calls}: ${(e as Error).message}`); }
        }
        await new Promise((r) => setImmediate(r));
      }
    })();
    for (let i = 0; i < 20; i++) {
      const to = i % 2 === 0 ? 2 : 1;
      fx.other.registry.setAlias('risk', 'champion', to, { reason: `test: flip ${i}` });
      await until(() => set.route('risk')!.primary.version === to);
    }
    stop = true;
    await loop;
    expect(problems).toEqual([]);
    expect(seen).toEqual(new Set([1, 2]));
    expect(calls).toBeGreaterThan(100);
    expect(events.filter((e) => e.kind === 'swap')).toHaveLength(20);
    expect(events.filter((e) => e.kind === 'swap_failed')).toHaveLength(0);
  }, 30_000);

  it('a model that fails at open is not ready, retried at every poll, and recovers once fixed', async () => {
    // an alias that does not exist yet
    const { set, events } = await open(['risk@staging'], { pollMs: 20 });
    expect(set.ready()).toBe(false);
    expect(set.route('risk')).toBeUndefined();
    expect(set.status()[0]).toMatchObject({ state: 'failed', version: null, lastError: { version: null, message: expect.stringContaining("no alias 'staging'") } });
    expect(events).toEqual([]); // reported before the listener: the status has it
    fx.other.registry.setAlias('risk', 'staging', 2, { reason: 'test: staging' });
    await until(() => set.ready());
    expect(set.status()[0]).toMatchObject({ state: 'ready', version: 2 });
    expect(events.at(-1)).toMatchObject({ kind: 'load', version: 2 });

    // a bundle file missing from the artifact store: fixed by restoring it, with no registry change
    const path = fx.project.registry.getVersion('risk', 1).artifactPath!;
    const restore = moveAside(path);
    rmSync(path);
    const b = await open(['risk@1'], { pollMs: 20 });
    expect(b.set.ready()).toBe(false);
    expect(b.set.status()[0]!.lastError!.message).toContain('is missing from the artifact store');
    restore();
    expect(existsSync(path)).toBe(true);
    await until(() => b.set.ready());
    expect(b.events.filter((e) => e.kind === 'load_failed')).toEqual([]); // the same failure is reported once (at open)
    expect(b.set.route('risk')!.primary.version).toBe(1);
  }, 30_000);
});
