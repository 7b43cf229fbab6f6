/**
 * Shared by the retrain-loop tests (retrain*.test.ts): a small simulated lending world over 36 months
 * (shock in the middle, so the first champion decays), a credit model on `credit_v1` with small GBDT
 * params and a `loop` section, v1 trained on 2023 and aliased champion. `loopConfigText` rewrites the
 * config with other gates (the CLI reads it at each call).
 */
import { cpSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { trainModel } from '../../src/pipelines/index.js';
import { simulate } from '../../src/sim/index.js';
import { initProject, Project } from '../../src/store/index.js';
import { DEMO_FEATURES_FILE } from '../helpers.js';

export const MODEL = 'credit';
/** The run time of the end-to-end runs: the challenger's test window is 2024-09-01 .. 2024-12-01. */
export const AS_OF = '2025-12-01T00:00:00.000Z';
export const WINDOWS = { validMonths: 3, testMonths: 3, maturityMonths: 12 };
/** Gates a champion trained before the shock fails against a fresh challenger. */
export const PASSABLE_GATES = { metrics: [{ metric: 'auc', maxDrop: 0.02 }, { metric: 'air', min: 0.8 }] };
/** Gates no model of this world passes. */
export const IMPOSSIBLE_GATES = { metrics: [{ metric: 'auc', min: 0.99 }] };

const SPEC = {
  spine: { table: 'loan_labels', timestamp: 'funded_at', key: 'borrower_id' },
  label: { column: 'default_12m', availableAt: 'label_available_at' },
  features: 'credit_v1',
  split: { validFrom: '2023-10-01', testFrom: '2024-01-01', testTo: '2024-04-01' },
  slices: ['region'],
  fairness: { feature: 'protected_group' },
  minPositives: 3,
  defaultReason: 'Other credit history factors',
  params: { max_depth: 3, learning_rate: 0.1, n_estimators: 30 },
};

/** The config of the world, with these loop gates (and optionally more of the loop section). */
export function loopConfigText(gates: unknown, loopExtra: Record<string, unknown> = {}): string {
  const loop = { [MODEL]: { windows: WINDOWS, gates, ...loopExtra } };
  return `import { defineConfig } from 'kiln';\nimport { DEMO_FEATURES, DEMO_REASONS, DEMO_REASON_GROUPS } from ${JSON.stringify(DEMO_FEATURES_FILE)};\n`
    + `export default defineConfig({ name: 'retrain-test', features: [...DEMO_FEATURES], loop: ${JSON.stringify(loop)}, `
    + `models: { ${MODEL}: { ...${JSON.stringify(SPEC)}, reasons: DEMO_REASONS, reasonGroups: DEMO_REASON_GROUPS } } });\n`;
}

export function writeConfig(dir: string, gates: unknown, loopExtra: Record<string, unknown> = {}): void {
  writeFileSync(join(dir, 'kiln.config.ts'), loopConfigText(gates, loopExtra));
}

/**
 * Simulates the world in `dir` (a new project), trains v1 and aliases it champion: built once per test
 * process (the files of a vitest fork share their modules), then copied, with the config's gates written.
 * The template lives until the run ends: the copies' registry names v1's artifact by its path there.
 */
export async function buildRetrainWorld(dir: string, gates: unknown = PASSABLE_GATES): Promise<void> {
  copyWorld(await template(), dir);
  writeConfig(dir, gates);
}

let built: Promise<string> | undefined;
function template(): Promise<string> {
  built ??= (async () => {
    // In the run's shared folder (test/global-setup.ts), removed when the run ends; imported here, not at the
    // top, since the loop's child processes import this module outside vitest.
    const { inject } = await import('vitest');
    const dir = mkdtempSync(join(inject('sharedFixtures'), 'retrain-world-'));
    await simulateRetrainWorld(dir);
    return dir;
  })();
  return built;
}

async function simulateRetrainWorld(dir: string): Promise<void> {
  mkdirSync(dir, { recursive: true });
  writeConfig(dir, PASSABLE_GATES);
  await initProject(dir);
  const project = await Project.open({ project: dir });
  try {
    const s = await simulate(project.offline, { borrowers: 4000, seed: 4, months: 36, start: '2023-01-01' });
    for (const t of s.tables) project.meta.upsertTable({ name: t.name, timestampColumn: t.timestampColumn ?? null, keyColumn: t.keyColumn ?? null, source: 'sim', description: t.description });
    await trainModel(project, MODEL, { quiet: true, force: true });
    project.registry.setAlias(MODEL, 'champion', 1, { reason: 'init', actor: 'test' });
  } finally {
    project.close();
  }
}

/** A copy of a built world (closed projects only). */
export function copyWorld(from: string, to: string): void {
  cpSync(from, to, { recursive: true });
}

/** Versions of `model` registered by loop run `runId` (their tracking run has tag loop_run = runId). */
export function versionsOfRun(project: Project, runId: string): number[] {
  return (project.meta.db.prepare("SELECT v.version FROM model_versions v JOIN run_tags t ON t.run_id = v.run_id WHERE v.model_name = ? AND t.key = 'loop_run' AND t.value = ? ORDER BY v.version")
    .all(MODEL, runId) as { version: number }[]).map((r) => r.version);
}

/** set_alias audit entries whose reason names loop run `runId`. */
export function aliasMovesOfRun(project: Project, runId: string): { alias: string | null; version: number | null; reason: string | null }[] {
  return project.registry.auditLog(MODEL).filter((e) => e.action === 'set_alias' && (e.reason ?? '').includes(runId)).map((e) => ({ alias: e.alias, version: e.version, reason: e.reason }));
}
