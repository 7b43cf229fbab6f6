import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KilnError } from '../../src/core/errors.js';
import { Rng } from '../../src/core/rng.js';
import { BUNDLE_FILE, exportModel, importModel, loadModelBundle, loadModelForScoring, trainModel, type ScoreRow } from '../../src/pipelines/index.js';
import { randomAssign } from '../../src/pipelines/dataset.js';
import type { Evaluation } from '../../src/pipelines/index.js';
import { initProject, Project } from '../../src/store/index.js';
import { ShapThread } from '../../src/serve/shap-thread.js';
import { kiln, tempDir } from '../helpers.js';

/** One row per borrower with a categorical region; reasons with a group and a default text. */
const MODEL = {
  description: 'bundle test model',
  spine: { table: 'borrowers', key: 'id' },
  label: { column: 'bad' },
  columns: ['utilisation', 'late_count', 'age', 'region'],
  split: { random: { valid: 0.2, test: 0.2, seed: 7 } },
  params: { max_depth: 3, learning_rate: 0.1, n_estimators: 80, early_stopping_rounds: 20 },
  reasons: { utilisation: 'Revolving utilisation is high', profile: 'Age and region' },
  reasonGroups: { profile: ['age', 'region'] },
  defaultReason: 'Other factors in the credit record',
  maxReasons: 2,
  scaling: { basePoints: 650, baseOdds: 30, pdo: 25 },
};

function configText(name: string): string {
  return `import { defineConfig } from 'kiln';\nexport default defineConfig({ name: '${name}', models: ${JSON.stringify({ risk: MODEL })} });\n`;
}

let a: { dir: string; cleanup: () => void; project: Project };
let b: { dir: string; cleanup: () => void; project: Project };
let rows: ScoreRow[];

async function project(name: string): Promise<{ dir: string; cleanup: () => void; project: Project }> {
  const { dir, cleanup } = tempDir(`kiln-bundle-${name}-`);
  writeFileSync(join(dir, 'kiln.config.ts'), configText(name));
  await initProject(dir);
  return { dir, cleanup, project: await Project.open({ project: dir }) };
}

async function throwsCode(fn: () => unknown, code: string): Promise<KilnError> {
  try { await fn(); } catch (e) {
    if (!(e instanceof KilnError)) throw e;
    expect(e.code).toBe(code);
    return e;
  }
  throw new Error(`expected ${code}`);
}

beforeAll(async () => {
  a = await project('a');
  b = await project('b');
  const rng = new Rng(11);
  const lines = ['id,utilisation,late_count,age,region,bad'];
  for (let i = 1; i <= 3000; i++) {
    const u = rng.uniform() * 1.2;
    const late = Math.floor(rng.uniform() * rng.uniform() * 6);
    const age = 21 + Math.floor(rng.uniform() * 50);
    const region = ['north', 'south', 'east', 'west'][i % 4]!;
    const z = -3 + 2.5 * u + 0.6 * late - 0.02 * (age - 45) + (region === 'west' ? 0.5 : 0);
    lines.push(`${i},${u.toFixed(4)},${late},${age},${region},${rng.uniform() < 1 / (1 + Math.exp(-z)) ? 1 : 0}`);
  }
  const csv = join(a.dir, 'borrowers.csv');
  writeFileSync(csv, `${lines.join('\n')}\n`);
  await a.project.offline.run(`CREATE TABLE borrowers AS SELECT * FROM read_csv('${csv}')`);
  rows = await a.project.offline.all<ScoreRow>('SELECT utilisation, late_count, age, region FROM borrowers ORDER BY id LIMIT 400');
  rows.push({ utilisation: null, late_count: 2, age: 30, region: 'a region never seen' });
  await trainModel(a.project, 'risk', { quiet: true });
  a.project.releaseOffline();
});
afterAll(() => { a?.project.close(); b?.project.close(); a?.cleanup(); b?.cleanup(); });

describe('the model bundle (kiln.model@1)', () => {
  it('is what training writes and the registry points to, with everything scoring needs', () => {
    const mv = a.project.registry.resolve('risk@1');
    expect(mv.artifactPath).toBe(join(a.project.paths.artifactsDir, mv.runId!, BUNDLE_FILE));
    const run = a.project.tracker.getRun(mv.runId!);
    expect(run.artifacts.map((x) => x.path)).toContain(BUNDLE_FILE);
    expect(run.artifacts.map((x) => x.path)).not.toContain('model.json');
    const m = loadModelBundle(mv.artifactPath!);
    expect(m.provenance).toMatchObject({ model: 'risk', version: 1, runId: mv.runId, description: 'bundle test model', configHash: expect.stringMatching(/^[0-9a-f]{16}$/) });
    expect(m.provenance.kilnVersion).toMatch(/^\d+\.\d+\.\d+/);
    expect(m.signature).toEqual(mv.signature);
    expect(m.categories).toEqual({ region: ['east', 'north', 'south', 'west'] });
    expect(m.calibrator?.kind).toBe('platt');
    expect(m.json.scaling).toEqual({ basePoints: 650, baseOdds: 30, pdo: 25 });
    expect(m.json.reasons).toEqual({
      texts: { utilisation: 'Revolving utilisation is high', profile: 'Age and region', late_count: 'Other factors in the credit record' },
      groups: { profile: ['age', 'region'] }, maxReasons: 2, defaultReason: 'Other factors in the credit record',
    });
    expect(m.checksum).toMatch(/^sha256:[0-9a-f]{64}$/);
  });

  it('has exactly the fields docs/models.md lists', () => {
    const doc = readFileSync(join(import.meta.dirname, '..', '..', 'docs', 'models.md'), 'utf8');
    const section = doc.slice(doc.indexOf('\n## The model bundle\n'));
    const documented = [...section.slice(0, section.indexOf('\n\n', section.indexOf('| --- |'))).matchAll(/^\| `(\w+)` \|/gm)].map((m) => m[1]);
    const written = Object.keys(JSON.parse(readFileSync(a.project.registry.resolve('risk@1').artifactPath!, 'utf8')) as object);
    expect(documented).toEqual(written);
  });

  it('scores rows: probabilities as the booster gives them, calibration, points, declines and reasons', () => {
    const { bundle } = loadModelForScoring(a.project, 'risk', a.project.registry.resolve('risk').signature.features);
    const s = bundle.score(rows, { reasons: true });
    const codes = new Map(bundle.categories.region!.map((c, k) => [c, k]));
    const cols = ['utilisation', 'late_count', 'age'].map((n) => Float64Array.from(rows, (r) => (r[n] === null ? NaN : Number(r[n]))));
    cols.push(Float64Array.from(rows, (r) => codes.get(String(r.region)) ?? NaN));
    expect(s.probability).toEqual(bundle.booster.predict(cols));
    expect(s.calibrated).toEqual(bundle.calibrator!.apply(s.probability));
    const cutoff = bundle.json.cutoff;
    const declined = [...s.declined.keys()].filter((i) => s.declined[i] === 1);
    expect(declined.length).toBeGreaterThan(20);
    expect(declined.length).toBeLessThan(rows.length);
    for (let i = 0; i < rows.length; i++) {
      expect(s.declined[i]).toBe(s.probability[i]! >= cutoff ? 1 : 0);
      expect(s.points[i]).toBeCloseTo(bundle.scaling.toPoints(s.probability[i]!), 9);
      if (s.declined[i]) {
        const r = s.reasons![i]!;
        expect(r.length).toBeGreaterThan(0);
        expect(r.length).toBeLessThanOrEqual(2);
        for (const x of r) expect(['utilisation', 'late_count', 'profile']).toContain(x.reason);
      } else expect(s.reasons![i]).toBeNull();
    }
    // Points fall as risk rises.
    const order = [...s.probability.keys()].sort((x, y) => s.probability[x]! - s.probability[y]!);
    expect(s.points[order[0]!]!).toBeGreaterThan(s.points[order[order.length - 1]!]!);
    const missing = (() => { try { bundle.score([{ utilisation: 0.5, late_count: 1, age: 40 }]); } catch (e) { return e as KilnError; } return null; })();
    expect(missing?.message).toContain("row 0 has no value for input 'region'");
  });

  it('scores a request of a few rows row by row with the numbers of the column path, bit for bit', () => {
    const { bundle } = loadModelForScoring(a.project, 'risk', a.project.registry.resolve('risk').signature.features);
    for (const reasons of [true, 'all'] as const) {
      const whole = bundle.score(rows, { reasons });
      for (let at = 0; at < rows.length; at += 3) {
        const few = rows.slice(at, at + 3);
        const s = bundle.score(few, { reasons });
        for (let i = 0; i < few.length; i++) {
          const w = at + i;
          expect([s.probability[i], s.calibrated![i], s.points[i], s.declined[i]]).toEqual([whole.probability[w], whole.calibrated![w], whole.points[w], whole.declined[w]]);
          expect(s.reasons![i]).toEqual(whole.reasons![w]);
        }
      }
    }
    // The same checks on the row path: a missing input, a text where a number goes.
    const e1 = (() => { try { bundle.score([rows[0]!, { utilisation: 0.5, late_count: 1, age: 40 }]); } catch (e) { return e as KilnError; } return null; })();
    expect([e1?.code, e1?.message, e1?.path]).toEqual(['SIGNATURE_MISMATCH', expect.stringContaining("row 1 has no value for input 'region'"), ['rows', 1, 'region']]);
    const e2 = (() => { try { bundle.score([{ ...rows[0]!, age: 'forty' }]); } catch (e) { return e as KilnError; } return null; })();
    expect([e2?.code, e2?.path]).toEqual(['SIGNATURE_MISMATCH', ['rows', 0, 'age']]);
  });

  it('scoreAsync with a TreeSHAP thread (concurrent requests) gives the scores and reasons of score', async () => {
    const { bundle } = loadModelForScoring(a.project, 'risk', a.project.registry.resolve('risk').signature.features);
    const t = await ShapThread.start(bundle.booster);
    expect(t).not.toBeNull();
    try {
      for (const reasons of [true, 'all'] as const) {
        const chunks = Array.from({ length: Math.ceil(rows.length / 3) }, (_, c) => rows.slice(3 * c, 3 * c + 3));
        const got = await Promise.all(chunks.map((few) => bundle.scoreAsync(few, { reasons }, (x, n) => t!.explain(x, n))));
        chunks.forEach((few, c) => expect(got[c]).toEqual(bundle.score(few, { reasons })));
      }
    } finally {
      t!.close();
    }
  });

  it('gives the reasons the evaluation gave for the same test rows', async () => {
    const all = await a.project.offline.all<ScoreRow>('SELECT utilisation, late_count, age, region FROM borrowers ORDER BY id');
    a.project.releaseOffline();
    const which = new Int8Array(all.length);
    randomAssign(which, 0.2, 0.2, 7);
    const test = all.filter((_, i) => which[i] === 2);
    const mv = a.project.registry.resolve('risk@1');
    const ev = JSON.parse(readFileSync(join(a.project.paths.artifactsDir, mv.runId!, 'evaluation.json'), 'utf8')) as Evaluation;
    const s = loadModelBundle(mv.artifactPath!).score(test, { reasons: true });
    const round = (x: number): number => Math.round(x * 1e6) / 1e6;
    expect(ev.reasonCodes!.examples.length).toBe(10);
    for (const ex of ev.reasonCodes!.examples) {
      expect(round(s.probability[ex.row]!)).toBe(ex.score);
      expect(s.reasons![ex.row]!.map((r) => ({ reason: r.reason, text: r.missingText ? null : r.text, contribution: round(r.contribution) }))).toEqual(ex.reasons);
    }
  });

  it('round trip: export from one project, import into another, the same scores bit for bit', async () => {
    const file = join(a.dir, 'risk.kiln.json');
    const out = exportModel(a.project, 'risk@1', file);
    expect(out.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(readFileSync(file)).toEqual(readFileSync(a.project.registry.resolve('risk@1').artifactPath!));
    const r = importModel(b.project, file, { name: 'risk_imported', alias: 'champion', reason: 'validated in project a' });
    expect(r.version).toMatchObject({ model: 'risk_imported', version: 1, runId: null, aliases: ['champion'], description: 'bundle test model' });
    expect(r.version.signature).toEqual(a.project.registry.resolve('risk@1').signature);
    const audit = b.project.registry.auditLog('risk_imported');
    expect(audit.map((e) => e.action)).toEqual(['register_version', 'set_alias']);
    expect(audit[0]!.reason).toContain(`imported from ${file} (sha256 ${out.sha256}): risk version 1, run ${out.version.runId}`);
    const sa = loadModelForScoring(a.project, 'risk@1', out.version.signature.features).bundle.score(rows, { reasons: true });
    const sb = loadModelForScoring(b.project, 'risk_imported@champion', out.version.signature.features).bundle.score(rows, { reasons: true });
    expect(Buffer.from(sb.probability.buffer)).toEqual(Buffer.from(sa.probability.buffer));
    expect(Buffer.from(sb.calibrated!.buffer)).toEqual(Buffer.from(sa.calibrated!.buffer));
    expect(sb.reasons).toEqual(sa.reasons);
  });

  it('refuses a corrupt bundle, one from a newer kiln, and an alias without a reason, registering nothing', async () => {
    const good = readFileSync(a.project.registry.resolve('risk@1').artifactPath!, 'utf8');
    const before = b.project.registry.listModels();
    const edited = join(b.dir, 'edited.kiln.json');
    writeFileSync(edited, good.replace('"basePoints":650', '"basePoints":700'));
    expect((await throwsCode(() => importModel(b.project, edited), 'BUNDLE_INVALID')).message).toMatch(/checksum .* does not match its content/);
    const broken = join(b.dir, 'broken.kiln.json');
    const obj = JSON.parse(good) as Record<string, unknown>;
    writeFileSync(broken, JSON.stringify({ ...obj, cutoff: 'high' }));
    const e = await throwsCode(() => importModel(b.project, broken), 'BUNDLE_INVALID');
    expect(e.message).toContain("field 'cutoff'");
    expect(e.path).toEqual(['cutoff']);
    const newer = join(b.dir, 'newer.kiln.json');
    writeFileSync(newer, JSON.stringify({ ...obj, format: 'kiln.model@2' }));
    const t = await throwsCode(() => importModel(b.project, newer), 'BUNDLE_TOO_NEW');
    expect(t.message).toContain('kiln.model@2');
    expect(t.message).toContain('Upgrade kiln');
    writeFileSync(join(b.dir, 'truncated.kiln.json'), good.slice(0, 500));
    await throwsCode(() => loadModelBundle(join(b.dir, 'truncated.kiln.json')), 'BUNDLE_INVALID');
    await throwsCode(() => importModel(b.project, join(a.dir, 'risk.kiln.json'), { alias: 'champion' }), 'USAGE');
    await throwsCode(() => importModel(b.project, join(a.dir, 'risk.kiln.json'), { name: 'x', alias: '9bad', reason: 'r' }), 'NAME_INVALID');
    expect(b.project.registry.listModels()).toEqual(before);
  });

  it('still loads a version registered before bundles (model.json, signature.json, evaluation.json)', () => {
    const m = loadModelBundle(a.project.registry.resolve('risk@1').artifactPath!);
    const dir = join(a.dir, 'old-run');
    mkdirSync(dir);
    writeFileSync(join(dir, 'model.json'), JSON.stringify(m.json.booster));
    writeFileSync(join(dir, 'signature.json'), JSON.stringify({ signature: m.signature, categories: m.categories }));
    writeFileSync(join(dir, 'evaluation.json'), JSON.stringify({ calibrator: m.json.calibrator, scaling: { ...m.json.scaling, pointsAtCutoff: 0 }, cutoff: m.json.cutoff }));
    a.project.registry.registerVersion('legacy', { signature: m.signature, artifactPath: join(dir, 'model.json') });
    const old = loadModelForScoring(a.project, 'legacy', m.signature.features).bundle;
    expect(old.json.reasons).toBeNull();
    expect(old.score(rows).probability).toEqual(m.score(rows).probability);
    expect(old.score(rows).calibrated).toEqual(m.score(rows).calibrated);
    const file = join(a.dir, 'legacy.kiln.json');
    exportModel(a.project, 'legacy', file);
    expect(loadModelBundle(file).provenance.kilnVersion).toContain('converted from model.json');
  });

  it('kiln models export and import on the command line', async () => {
    a.project.close();
    b.project.close();
    const file = join(b.dir, 'cli.kiln.json');
    const ex = await kiln(['models', 'export', 'risk@1', '-o', file], a.dir);
    expect(ex.stderr).toBe('');
    expect(ex.stdout).toMatch(/^wrote .*cli\.kiln\.json: risk version 1, \d+ bytes, sha256 [0-9a-f]{64}\n$/);
    const im = await kiln(['models', 'import', file, '--json'], b.dir);
    expect(im.code).toBe(0);
    expect(JSON.parse(im.stdout)).toMatchObject({ model: 'risk', version: 1, source: { model: 'risk', version: 1 } });
    writeFileSync(file, readFileSync(file, 'utf8').replace('"format":"kiln.model@1"', '"format":"kiln.model@7"'));
    const bad = await kiln(['models', 'import', file], b.dir);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain('kiln.model@7');
    a.project = await Project.open({ project: a.dir });
    b.project = await Project.open({ project: b.dir });
  });
});

describe('kiln init --repair with bundles', () => {
  it('rebuilds a trained version pointing at its bundle', async () => {
    a.project.close();
    const { renameSync } = await import('node:fs');
    const meta = join(a.dir, '.kiln', 'meta.sqlite');
    for (const suffix of ['', '-wal', '-shm']) try { renameSync(`${meta}${suffix}`, `${meta}${suffix}.moved`); } catch { /* not there */ }
    const r = await initProject(a.dir, { repair: true });
    expect(r.repair?.versions).toEqual([expect.objectContaining({ model: 'risk', version: 1 })]);
    a.project = await Project.open({ project: a.dir });
    const mv = a.project.registry.resolve('risk@1');
    expect(mv.artifactPath!.endsWith(BUNDLE_FILE)).toBe(true);
    expect(loadModelForScoring(a.project, 'risk@1', mv.signature.features).bundle.score(rows).probability.length).toBe(rows.length);
  });
});
