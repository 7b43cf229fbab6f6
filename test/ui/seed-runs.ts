/**
 * Seeds a project's meta.sqlite with many runs in one transaction (the runs table at scale): run i is in
 * experiment `exp-(i % experiments)`, named `run-i`, finished (every 97th failed), started i seconds after
 * 2026-01-01, with params `depth` = 2 + i % 6 and `lr`, tag `team` = a|b|c and metrics auc (two steps:
 * 0.5 then its final value 0.6 + (i % 1000) / 10,000) and loss.
 */
import type { Project } from '../../src/store/index.js';

export function finalAuc(i: number): number {
  return 0.6 + (i % 1000) / 10_000;
}

export function seedRuns(project: Project, n: number, experiments = 5): void {
  const db = project.meta.db;
  const t0 = Date.parse('2026-01-01T00:00:00Z');
  db.transaction(() => {
    const exp = db.prepare('INSERT OR IGNORE INTO experiments (name, created_at) VALUES (?, ?)');
    for (let e = 0; e < experiments; e++) exp.run(`exp-${e}`, new Date(t0).toISOString());
    const ids = new Map((db.prepare('SELECT id, name FROM experiments').all() as { id: number; name: string }[]).map((r) => [r.name, r.id]));
    const run = db.prepare(`INSERT INTO runs (id, experiment_id, name, status, started_at, ended_at, git_commit, config_hash, host, pid, error) VALUES (?, ?, ?, ?, ?, ?, NULL, NULL, 'seed', 0, ?)`);
    const param = db.prepare('INSERT INTO run_params (run_id, key, value) VALUES (?, ?, ?)');
    const tag = db.prepare('INSERT INTO run_tags (run_id, key, value) VALUES (?, ?, ?)');
    const metric = db.prepare('INSERT INTO run_metrics (run_id, key, step, value, logged_at) VALUES (?, ?, ?, ?, ?)');
    for (let i = 0; i < n; i++) {
      const id = `seed${String(i).padStart(8, '0')}`;
      const started = new Date(t0 + i * 1000).toISOString();
      const failed = i % 97 === 0;
      run.run(id, ids.get(`exp-${i % experiments}`)!, `run-${i}`, failed ? 'failed' : 'finished', started, new Date(t0 + i * 1000 + 30_000).toISOString(), failed ? 'boom' : null);
      param.run(id, 'depth', String(2 + (i % 6)));
      param.run(id, 'lr', i % 2 ? '0.1' : '0.05');
      tag.run(id, 'team', ['a', 'b', 'c'][i % 3]!);
      metric.run(id, 'auc', 0, 0.5, started);
      metric.run(id, 'auc', 1, finalAuc(i), started);
      metric.run(id, 'loss', 0, 1 - finalAuc(i), started);
    }
  })();
}
