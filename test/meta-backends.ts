/**
 * The metadata contract suite's backends: every test wrapped in `describe.each(META_BACKENDS)` runs against
 * the embedded SQLite and against the real PostgreSQL on 127.0.0.1:5432 (KILN_TEST_DATABASE_URL), each
 * project in a schema of its own, dropped afterwards. Without PostgreSQL the second skips with a message,
 * except under CI, where it fails.
 */
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { initProject, Project, PgSyncDb } from '../src/store/index.js';
import { tempDir } from './helpers.js';

export type MetaBackend = 'sqlite' | 'postgres';

export const TEST_DATABASE_URL = process.env.KILN_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

function postgresUnavailable(): string | null {
  try {
    new PgSyncDb(TEST_DATABASE_URL, 'public').close();
    return null;
  } catch (e) {
    return (e as Error).message;
  }
}

let checked: string | null | undefined;
/** Whether the PostgreSQL contract runs: 'run', or 'skip' (with a warning), or throws under CI. */
export function postgresMode(): 'run' | 'skip' {
  if (checked === undefined) checked = postgresUnavailable();
  if (checked === null) return 'run';
  if (process.env.CI) throw new Error(`PostgreSQL is required under CI and unreachable at ${TEST_DATABASE_URL}: ${checked}`);
  console.warn(`SKIPPING the PostgreSQL metadata contract: ${checked}. Start PostgreSQL on 127.0.0.1:5432 (or set KILN_TEST_DATABASE_URL) to run it; under CI it fails instead.`);
  return 'skip';
}

export const META_BACKENDS: MetaBackend[] = postgresMode() === 'run' ? ['sqlite', 'postgres'] : ['sqlite'];

/** A fresh schema name for one test project. */
export function testSchema(): string {
  return `kiln_t_${randomBytes(5).toString('hex')}`;
}

export function dropSchema(schema: string): void {
  const db = new PgSyncDb(TEST_DATABASE_URL, 'public');
  try { db.exec(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`); } finally { db.close(); }
}

/** The `metadata` block of a config for `backend` (empty for SQLite). */
export function metadataConfig(backend: MetaBackend, schema: string): string {
  return backend === 'postgres' ? `metadata: { url: ${JSON.stringify(TEST_DATABASE_URL)}, schema: ${JSON.stringify(schema)} },` : '';
}

/** tempProject on a backend: a project whose config keeps its metadata there. */
export async function backendProject(backend: MetaBackend, extra = ''): Promise<{ dir: string; schema: string; project: Project; cleanup: () => void; reopen: () => Promise<Project> }> {
  const { dir, cleanup } = tempDir();
  const schema = testSchema();
  writeFileSync(join(dir, 'kiln.config.ts'), `import { defineConfig } from 'kiln';\nexport default defineConfig({ name: 't', ${metadataConfig(backend, schema)} ${extra} });\n`);
  await initProject(dir);
  const state = { project: await Project.open({ project: dir }) };
  return {
    dir, schema,
    get project() { return state.project; },
    cleanup: () => {
      try { state.project.close(); } catch { /* already closed */ }
      cleanup();
      if (backend === 'postgres') dropSchema(schema);
    },
    reopen: async () => { try { state.project.close(); } catch { /* already closed */ } state.project = await Project.open({ project: dir }); return state.project; },
  };
}
