/**
 * The retrain loop of the durability test: six idempotent steps over a real project. Each step records
 * that it started (`loop_test_calls`, not idempotent: shows re-runs) and its effect (`loop_test_effects`,
 * idempotent); 'train' registers the challenger once per run, 'promote' moves the champion alias only if
 * the audit log has no promotion by this run yet. `kill(step, phase)` is where the child dies.
 */
import type { LoopDef, StepContext } from '../../src/loop/index.js';
import type { Project } from '../../src/store/index.js';

export const MODEL = 'credit';
export const STEPS = ['refresh', 'build', 'train', 'evaluate', 'gate', 'promote'] as const;
const SIGNATURE = { features: [{ name: 'income', type: 'double' }], output: 'probability_of_default' };

export function prepare(project: Project): void {
  const db = project.meta.db;
  db.exec(`CREATE TABLE IF NOT EXISTS loop_test_calls (id INTEGER PRIMARY KEY AUTOINCREMENT, run_id TEXT, step TEXT, attempt INTEGER, pid INTEGER);
           CREATE TABLE IF NOT EXISTS loop_test_effects (run_id TEXT, step TEXT, PRIMARY KEY (run_id, step));`);
  if (project.registry.listModels().length === 0) {
    project.registry.registerVersion(MODEL, { signature: SIGNATURE, reason: 'seed' });
    project.registry.setAlias(MODEL, 'champion', 1, { reason: 'seed champion' });
  }
}

export function retrainLoop(project: Project, kill: (step: string) => void): LoopDef {
  const db = project.meta.db;
  const started = (c: StepContext, step: string): void => {
    db.prepare('INSERT INTO loop_test_calls (run_id, step, attempt, pid) VALUES (?, ?, ?, ?)').run(c.runId, step, c.attempt, process.pid);
  };
  const effect = (c: StepContext, step: string): void => { db.prepare('INSERT OR IGNORE INTO loop_test_effects (run_id, step) VALUES (?, ?)').run(c.runId, step); };
  const simple = (name: string, out: (c: StepContext) => unknown) => ({
    name,
    run: async (c: StepContext) => { started(c, name); effect(c, name); kill(name); return out(c); },
  });
  return {
    name: 'retrain',
    steps: [
      simple('refresh', () => ({ rows: 1000 })),
      simple('build', (c) => ({ trainingRows: (c.outputs.refresh as { rows: number }).rows - 100 })),
      {
        name: 'train',
        run: async (c) => {
          started(c, 'train');
          const mine = project.registry.listVersions(MODEL).find((v) => v.description === c.runId);
          const v = mine ?? project.registry.registerVersion(MODEL, { signature: SIGNATURE, description: c.runId, reason: `loop run ${c.runId}: challenger` });
          effect(c, 'train');
          kill('train');
          return { version: v.version };
        },
      },
      simple('evaluate', () => ({ auc: { champion: 0.71, challenger: 0.74 } })),
      simple('gate', (c) => ((c.outputs.evaluate as { auc: { champion: number; challenger: number } }).auc.challenger > 0.72 ? { goto: 'promote' } : { end: 'rejected' })),
      {
        name: 'promote',
        run: async (c) => {
          started(c, 'promote');
          const version = (c.outputs.train as { version: number }).version;
          const reason = `loop run ${c.runId}: promote`;
          const already = project.registry.auditLog(MODEL).some((e) => e.action === 'set_alias' && e.reason === reason);
          if (!already) project.registry.setAlias(MODEL, 'champion', version, { reason });
          effect(c, 'promote');
          kill('promote');
          return { end: 'promoted', version };
        },
      },
    ],
  };
}
