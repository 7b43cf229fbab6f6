import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KilnError } from '../../src/core/errors.js';
import { discoverFeatures, discoveredModule, discoverReport, planDefinitions, type DiscoverResult } from '../../src/discover/index.js';
import { loadFeatureRegistry } from '../../src/features/index.js';
import { buildTrainingSet } from '../../src/features/training/index.js';
import { Project } from '../../src/store/index.js';
import { kiln } from '../helpers.js';
import { WORLD_CONFIG, discoverWorld } from './world.js';

let world: Awaited<ReturnType<typeof discoverWorld>>;
let result: DiscoverResult;

beforeAll(async () => {
  world = await discoverWorld(8000, 11);
  result = await discoverFeatures(world.project, { source: 'transactions', model: 'thin', budget: 150, quiet: true });
}, 120_000);
afterAll(() => world?.cleanup());

const PLANTED = /cash_advance|gambling|amount_(stddev|mean|sum|max)|count_\d+d$/;

describe('kiln features discover on a simulated world', () => {
  it('ranks a planted signal (cash advances, gambling, spend, volatility, count) among the top candidates', () => {
    const ranked = result.candidates.filter((c) => c.status !== 'rejected');
    const top = ranked.slice(0, 8).map((c) => c.name);
    expect(top.some((n) => /cash_advance|gambling/.test(n)), top.join(', ')).toBe(true);
    expect(top.filter((n) => PLANTED.test(n)).length).toBeGreaterThanOrEqual(3);
    expect(result.candidates.some((c) => c.status === 'selected')).toBe(true);
    expect(result.selectedValidAuc!).toBeGreaterThan(result.current.validAuc);
  });

  it('skips candidates equal to a current feature, whatever their name', () => {
    expect(result.skipped).toEqual([{ name: 'transactions_count_30d', equals: 'txn_count_30d' }]);
    expect(result.candidates.map((c) => c.name)).not.toContain('transactions_count_30d');
  });

  it('fills every measure of an evaluated candidate, with monthly PSI and an online cost', () => {
    const c = result.candidates.find((x) => x.status === 'selected')!;
    expect(c.iv).toBeGreaterThan(0);
    expect(c.auc).toBeGreaterThan(0.5);
    expect(c.deltaAuc).toBeGreaterThan(0);
    expect(c.psi.length).toBeGreaterThan(3);
    expect(c.stateBytes).toBeGreaterThan(0);
    const distinct = result.candidates.find((x) => x.name === 'transactions_merchant_id_distinct_90d')!;
    const count = result.candidates.find((x) => x.name === 'transactions_count_90d')!;
    expect(distinct.stateBytes).toBeGreaterThan(count.stateBytes);
  });

  it('is deterministic for a seed', async () => {
    const again = await discoverFeatures(world.project, { source: 'transactions', model: 'thin', budget: 20, quiet: true });
    const once = await discoverFeatures(world.project, { source: 'transactions', model: 'thin', budget: 20, quiet: true });
    expect(again.candidates.map((c) => [c.name, c.status, c.deltaAuc])).toEqual(once.candidates.map((c) => [c.name, c.status, c.deltaAuc]));
  });

  it("rejects candidates built from the label's own table, with the reason, without computing them", async () => {
    const r = await discoverFeatures(world.project, { source: 'outcomes', model: 'thin', quiet: true });
    expect(r.candidates.length).toBeGreaterThan(0);
    for (const c of r.candidates) {
      expect(c.status).toBe('rejected');
      expect(c.reason).toMatch(/'loan_labels', the table the label comes from/);
    }
    expect(discoverReport(r, 'test')).toContain('the table the label comes from');
  });

  it('rejects a look-ahead leak that is far better than anything else', async () => {
    const r = await discoverFeatures(world.project, { source: 'peek', model: 'thin', quiet: true });
    const leak = r.candidates.find((c) => c.name === 'peek_bad_max_30d')!;
    expect(leak.status).toBe('rejected');
    expect(leak.reason).toMatch(/too good to be true: univariate AUC 1\.000/);
    expect(r.candidates.filter((c) => c.status === 'selected').every((c) => c.auc! < 0.85)).toBe(true);
  });

  it('writes a module that loads into the registry with the config, at the versions evaluated, and computes', async () => {
    const registry = loadFeatureRegistry(world.project.config.features);
    const source = registry.sources.get('transactions')!;
    const text = discoveredModule(result, source, registry.entities.get('borrower')!, 'kiln features discover --source transactions --label thin');
    expect(text).toContain("from 'kiln'");
    writeFileSync(join(world.dir, 'discovered.ts'), text);
    writeFileSync(join(world.dir, 'kiln.config.ts'), WORLD_CONFIG
      .replace("from 'kiln';", "from 'kiln';\nimport { DISCOVERED } from './discovered.js';")
      .replace('features: [...DEMO_FEATURES, outcomes, peek, merchant, merchantTxns]', 'features: [...DEMO_FEATURES, outcomes, peek, merchant, merchantTxns, ...DISCOVERED]'));
    world.project.releaseOffline();
    const project = await Project.open({ project: world.dir });
    try {
      const merged = loadFeatureRegistry(project.config.features);
      const selected = result.candidates.filter((c) => c.status === 'selected');
      const evaluated = loadFeatureRegistry([...world.project.config.features, ...planDefinitions(selected.map((c) => c.candidate.plan), source)]);
      for (const c of selected) expect(merged.features.get(c.name)?.version, c.name).toBe(evaluated.features.get(c.name)!.version);
      const s = await buildTrainingSet(project, { spine: { table: 'loan_labels', timestamp: 'funded_at', key: 'borrower_id' }, features: selected.map((c) => c.name), table: 'discovered_check' });
      expect(s.columns).toEqual(expect.arrayContaining(selected.map((c) => c.name)));
    } finally {
      project.close();
    }
  });

  it('names what is wrong: unknown model or source, a source of another entity', async () => {
    const code = async (p: Promise<unknown>): Promise<string> => p.then(() => 'ok', (e: KilnError) => `${e.code}: ${e.message}`);
    expect(await code(discoverFeatures(world.project, { source: 'transactions', model: 'thn', quiet: true }))).toMatch(/^MODEL_NOT_FOUND: no model 'thn'.*did you mean 'thin'/);
    expect(await code(discoverFeatures(world.project, { source: 'transaction', model: 'thin', quiet: true }))).toMatch(/^FEATURE_NOT_FOUND: no source 'transaction'.*did you mean 'transactions'/);
    expect(await code(discoverFeatures(world.project, { source: 'transactions', model: 'thin', budget: 0, quiet: true }))).toMatch(/^USAGE: --budget 0/);
    expect(await code(discoverFeatures(world.project, { source: 'merchant_txns', model: 'thin', quiet: true }))).toMatch(/^CONFIG_INVALID: source 'merchant_txns' describes entity 'merchant', but model 'thin' scores 'borrower'/);
  });

  it('runs from the command line: a ranking, the definitions file and the report', async () => {
    world.project.releaseOffline();
    const r = await kiln(['features', 'discover', '--source', 'transactions', '--label', 'thin', '--budget', '20', '--out', 'disc.ts', '--report', 'disc.html'], world.dir);
    expect(r.stderr).toContain('discover: computing 20 candidates');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/20 of \d+ candidates evaluated \(1 equal to current features\)/);
    expect(readFileSync(join(world.dir, 'disc.ts'), 'utf8')).toContain('export const DISCOVERED = [');
    expect(readFileSync(join(world.dir, 'disc.html'), 'utf8')).toContain('<polyline');
    const bad = await kiln(['features', 'discover', '--source', 'transactions', '--label', 'thin', '--top', 'x'], world.dir);
    expect(bad.code).toBe(64);
    expect(bad.stderr).toContain('--top x: expected a whole number >= 1');
  }, 60_000);
});
