/**
 * `kiln loop simulate` on a small world: every month's funded applications (at their loans' funding) are decided by that month's
 * champion into the decision log, the loop's runs are the ones recorded, each promotion moved the alias,
 * and the report and the JSON outcome are written.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LoopStore, retrainLoopName } from '../../src/loop/index.js';
import { modelDecisions } from '../../src/monitor/index.js';
import { aliasHistory } from '../../src/registry/index.js';
import { Project } from '../../src/store/index.js';
import { kiln, tempDir } from '../helpers.js';
import { creditConfigText } from '../serve/http-helpers.js';

let dir: string;
let cleanup: () => void;
let out: { result: { comparison?: { policy: string; label: string; result: { timeline: { month: string }[] } }; timeline: { month: string; decisions: number; champion: number; run: { id: string; outcome: string | null; challenger: number | null } | null }[]; shock: string | null; initialVersion: number }; outcome: { cohorts: { month: string }[] }; report: string };

beforeAll(async () => {
  ({ dir, cleanup } = tempDir('kiln-loop-sim-'));
  const loop = `loop: { credit: { windows: { validMonths: 3, testMonths: 3, maturityMonths: 4 }, label: { table: 'early_labels', key: 'borrower_id', timestamp: 'funded_at', column: 'dpd30_3m', availableAt: 'dpd30_3m_available_at' }, triggers: { schedule: '0 0 1 */2 *', cooldown: '20d' }, gates: { metrics: [{ metric: 'auc', maxDrop: 0.05 }] }, policies: { p60: { label: { table: 'early_labels', key: 'borrower_id', timestamp: 'funded_at', column: 'dpd60_3m', availableAt: 'dpd60_3m_available_at' } } } } }, `;
  writeFileSync(join(dir, 'kiln.config.ts'), creditConfigText('loop-sim-test', { max_depth: 3, learning_rate: 0.1, n_estimators: 25 }, loop));
  const init = await kiln(['init', dir], dir);
  expect(init.code, init.stderr).toBe(0);
  const r = await kiln(['loop', 'simulate', 'credit', '--months', '5', '--history', '20', '--borrowers', '6000', '--seed', '9', '--start', '2023-01-01', '--compare', 'p60', '--json', '--quiet', '--project', dir], dir);
  expect(r.code, r.stderr).toBe(0);
  out = JSON.parse(r.stdout);
}, 180_000);

afterAll(() => cleanup?.());

describe('kiln loop simulate', () => {
  it('walks the months, deciding each month with that month\'s champion', async () => {
    const t = out.result.timeline;
    expect(t.map((m) => m.month)).toEqual(['2024-09', '2024-10', '2024-11', '2024-12', '2025-01']);
    expect(out.result.shock).toBe('2024-12');
    const project = await Project.open({ project: dir });
    try {
      const funded = await project.offline.all<{ m: string; n: number }>(
        `SELECT strftime(funded_at, '%Y-%m') AS m, count(*)::INT AS n FROM loans WHERE funded_at >= TIMESTAMP '2024-09-01' AND funded_at < TIMESTAMP '2025-02-01' GROUP BY 1 ORDER BY 1`);
      expect(t.map((m) => m.decisions)).toEqual(funded.map((f) => f.n));
      const recs = await modelDecisions(project, 'credit');
      expect(recs.length).toBe(funded.reduce((a, f) => a + f.n, 0));
      for (const m of t) {
        const mine = recs.filter((r) => r.time.startsWith(m.month));
        expect(new Set(mine.map((r) => r.version))).toEqual(new Set([m.champion]));
      }
      // the runs are the loop's, and a promotion moved the alias to the challenger for the next month
      const runs = new LoopStore(project.meta.db).listRuns({ loop: retrainLoopName('credit') });
      expect(runs.map((r) => r.id).sort()).toEqual(t.filter((m) => m.run).map((m) => m.run!.id).sort());
      expect(runs.length).toBeGreaterThan(0);
      t.forEach((m, i) => {
        if (m.run?.outcome === 'promoted' && i + 1 < t.length) expect(t[i + 1]!.champion).toBe(m.run.challenger);
        if (m.run && m.run.outcome !== 'promoted' && m.run.outcome !== 'shadowed' && i + 1 < t.length) expect(t[i + 1]!.champion).toBe(m.champion);
      });
      const moves = aliasHistory(project.registry, 'credit').filter((a) => a.alias === 'champion');
      expect(moves.length).toBe(1 + t.filter((m) => m.run?.outcome === 'promoted').length);
    } finally {
      project.close();
    }
  });

  it('walks the same world with the compared policy, in a sandbox', () => {
    const c = out.result.comparison!;
    expect(c.policy).toBe('p60');
    expect(c.label).toBe('dpd60_3m');
    expect(c.result.timeline.map((m) => m.month)).toEqual(out.result.timeline.map((m) => m.month));
    expect(readFileSync(out.report, 'utf8')).toContain('Label choices');
  });

  it('writes the report with the timeline and the outcome by cohort', () => {
    expect(out.outcome.cohorts.map((c) => c.month)).toEqual(out.result.timeline.map((m) => m.month));
    expect(existsSync(out.report)).toBe(true);
    const html = readFileSync(out.report, 'utf8');
    expect(html).toContain('Timeline');
    expect(html).toContain('2024-12 (shock)');
    expect(html).toContain('<svg');
  });
});
