import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initProject, Project } from '../src/store/index.js';

const execFileAsync = promisify(execFile);

/** A fresh temporary directory, removed by the returned cleanup. */
export function tempDir(prefix = 'kiln-test-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Creates a project (optionally with a config body) and opens it. */
export async function tempProject(configBody?: string): Promise<{ dir: string; project: Project; cleanup: () => void; reopen: () => Promise<Project> }> {
  const { dir, cleanup } = tempDir();
  if (configBody !== undefined) writeFileSync(join(dir, 'kiln.config.ts'), configBody);
  await initProject(dir);
  const state = { project: await Project.open({ project: dir }) };
  return {
    dir,
    get project() { return state.project; },
    cleanup: () => { try { state.project.close(); } catch { /* already closed */ } cleanup(); },
    reopen: async () => { try { state.project.close(); } catch { /* already closed */ } state.project = await Project.open({ project: dir }); return state.project; },
  };
}

export function write(dir: string, name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

/** The demo's feature definitions (examples/demo/features.ts): a test config imports them by this path. */
export const DEMO_FEATURES_FILE = join(import.meta.dirname, '..', 'examples', 'demo', 'features.ts');

const BIN = join(import.meta.dirname, '..', 'bin', 'kiln.js');

/** A sequence model over the demo world's loans (out-of-time split of the simulator's 2024), without its `sequence` block. */
export const SEQUENCE_MODEL_BASE = {
  spine: { table: 'loan_labels', timestamp: 'funded_at', key: 'borrower_id' },
  label: { column: 'default_12m', availableAt: 'label_available_at' },
  features: 'credit_v1', algorithm: 'sequence',
  split: { validFrom: '2024-07-01', testFrom: '2024-10-01', testTo: '2025-01-01' },
  minPositives: 5,
};

/**
 * A project over the demo's features with `models`, and a simulated world in its offline store (the
 * sequence-model tests: small worlds, order episodes on).
 */
export async function simulatedProject(prefix: string, models: Record<string, unknown>, world: { borrowers: number; seed: number; orderEpisodes?: number }, embeddings: Record<string, unknown> = {}): Promise<{ dir: string; project: Project; cleanup: () => void }> {
  const { dir, cleanup } = tempDir(prefix);
  writeFileSync(join(dir, 'kiln.config.ts'), `import { defineConfig } from 'kiln';\nimport { DEMO_FEATURES } from ${JSON.stringify(DEMO_FEATURES_FILE)};\nexport default defineConfig({ name: '${prefix.replace(/[^a-z0-9]/gi, '')}', features: [...DEMO_FEATURES], models: ${JSON.stringify(models)}, embeddings: ${JSON.stringify(embeddings)} });\n`);
  await initProject(dir);
  const project = await Project.open({ project: dir });
  const { simulate } = await import('../src/sim/index.js');
  await simulate(project.offline, world);
  return { dir, project, cleanup };
}

/** Runs the kiln binary in `cwd` as a user would; never throws on a non-zero exit. */
export async function kiln(args: string[], cwd: string, env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await execFileAsync(process.execPath, [BIN, ...args], { cwd, env: { ...process.env, NO_COLOR: '1', ...env } });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}
