/**
 * `kiln loop backtest` on a real project: each policy is replayed in a sandbox (the project's registry,
 * aliases and decision log are untouched), all from the same first champion; 'never' keeps it, the
 * quarterly schedule runs at the quarter boundaries, and every month's spine rows are decided.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decisionLogDir } from '../../src/serve/index.js';
import { Project } from '../../src/store/index.js';
import { kiln, tempDir } from '../helpers.js';
import { buildRetrainWorld, MODEL, PASSABLE_GATES, writeConfig } from './retrain-world.js';

let dir: string;
let cleanup: () => void;

beforeAll(async () => {
  ({ dir, cleanup } = tempDir('kiln-backtest-'));
  await buildRetrainWorld(dir);
  // windows that mature within the world, and a policy of its own
  writeConfig(dir, PASSABLE_GATES, { windows: { validMonths: 3, testMonths: 3, maturityMonths: 12 }, triggers: { schedule: '0 0 1 * *', cooldown: '50d' } });
}, 120_000);

afterAll(() => cleanup?.());

interface Policy { name: string; runs: number; promotions: string[]; timeline: { month: string; decisions: number; champion: number; run: unknown }[]; pooledAuc: number | null; labelled: number }

describe('kiln loop backtest', () => {
  it('replays the policy against never and a quarterly schedule, touching nothing of the project', async () => {
    const before = await Project.open({ project: dir });
    const versions = before.registry.listVersions(MODEL).length;
    const champion = before.registry.resolve(`${MODEL}@champion`).version;
    before.close();
    const r = await kiln(['loop', 'backtest', MODEL, '--from', '2025-06-01', '--to', '2025-10-01', '--json', '--quiet', '--project', dir], dir);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { firstChampion: number; policies: Policy[]; report: string };
    expect(out.policies.map((p) => p.name)).toEqual(['policy', 'quarterly', 'never']);
    const [policy, quarterly, never] = out.policies as [Policy, Policy, Policy];
    expect(never.runs).toBe(0);
    expect(never.timeline.every((m) => m.champion === out.firstChampion)).toBe(true);
    // quarterly: runs at the ends of June and September (schedules of Jul 1 and Oct 1)
    expect(quarterly.timeline.filter((m) => m.run).map((m) => m.month)).toEqual(['2025-06', '2025-09']);
    // monthly with a 50-day cooldown: every other month at most
    const months = policy.timeline.filter((m) => m.run).map((m) => m.month);
    expect(months.length).toBeGreaterThanOrEqual(2);
    for (let i = 1; i < months.length; i++) expect(Number(months[i]!.slice(5)) - Number(months[i - 1]!.slice(5))).toBeGreaterThanOrEqual(2);
    // every month's spine rows are decided, the same rows for every policy
    const project = await Project.open({ project: dir });
    try {
      const counts = await project.offline.all<{ m: string; n: number }>(
        `SELECT strftime(funded_at, '%Y-%m') AS m, count(*)::INT AS n FROM loan_labels WHERE funded_at >= TIMESTAMP '2025-06-01' AND funded_at < TIMESTAMP '2025-10-01' GROUP BY 1 ORDER BY 1`);
      for (const p of out.policies) expect(p.timeline.map((m) => m.decisions)).toEqual(counts.map((c) => c.n));
      expect(new Set(out.policies.map((p) => p.labelled)).size).toBe(1);
      // the project is as it was: no new version, the same champion, no decision log
      expect(project.registry.listVersions(MODEL).length).toBe(versions);
      expect(project.registry.resolve(`${MODEL}@champion`).version).toBe(champion);
      expect(existsSync(decisionLogDir(project.paths.dataDir))).toBe(false);
    } finally {
      project.close();
    }
    expect(existsSync(out.report)).toBe(true);
    const bad = await kiln(['loop', 'backtest', MODEL, '--from', '2025-09-01', '--to', '2025-06-01', '--project', dir], dir);
    expect(bad.code).toBe(64);
    expect(bad.stderr).toContain('--to 2025-06-01');
    const unknown = await kiln(['loop', 'backtest', MODEL, '--from', '2025-06-01', '--to', '2025-07-01', '--policy', 'nope', '--project', dir], dir);
    expect(unknown.stderr).toContain('--policy nope');
  }, 180_000);
});
