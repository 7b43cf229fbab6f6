/**
 * Loops for the `kiln worker` tests (runner-worker.test.ts), loaded with --loops-module: a function of
 * the worker's open project, so that steps record which process ran them in its meta.sqlite.
 */
import type { LoopDef, StepContext } from '../../src/loop/index.js';
import type { Project } from '../../src/store/index.js';

const nap = (ms: number, signal?: AbortSignal): Promise<void> => new Promise((resolve) => {
  const t = setTimeout(resolve, ms);
  signal?.addEventListener('abort', () => { clearTimeout(t); resolve(); });
});

export function loops({ project }: { project: Project }): LoopDef[] {
  const db = project.meta.db;
  db.exec('CREATE TABLE IF NOT EXISTS worker_test_calls (id INTEGER PRIMARY KEY AUTOINCREMENT, run_id TEXT, step TEXT, attempt INTEGER, pid INTEGER, finished INTEGER NOT NULL DEFAULT 0)');
  const record = (c: StepContext, step: string): number => Number(db.prepare('INSERT INTO worker_test_calls (run_id, step, attempt, pid) VALUES (?, ?, ?, ?)').run(c.runId, step, c.attempt, process.pid).lastInsertRowid);
  const finished = (id: number): void => { db.prepare('UPDATE worker_test_calls SET finished = 1 WHERE id = ?').run(id); };
  return [
    {
      name: 'ship',
      steps: [
        { name: 'prepare', run: async (c) => { finished(record(c, 'prepare')); return { ready: true }; } },
        // The first attempt hangs (its worker is SIGKILLed meanwhile); the re-run by the next worker is quick.
        { name: 'slow', run: async (c) => { const id = record(c, 'slow'); await nap(c.attempt === 1 ? 120_000 : 10); finished(id); return { by: process.pid }; } },
        { name: 'after', run: async (c) => { finished(record(c, 'after')); return { slowBy: (c.outputs.slow as { by: number }).by }; } },
      ],
    },
    {
      name: 'drain',
      steps: [
        { name: 'nap', run: async (c) => { const id = record(c, 'nap'); await nap(1500); finished(id); return 'rested'; } },
        { name: 'later', run: async (c) => { finished(record(c, 'later')); return null; } },
      ],
    },
  ];
}
