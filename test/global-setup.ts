/**
 * vitest's globalSetup: a temporary folder for the fixtures that the files of one run share (a fork runs
 * many files, see vitest.config.ts; test/loop/retrain-world.ts builds its world there once per fork),
 * removed when the run ends.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';

declare module 'vitest' {
  export interface ProvidedContext {
    /** The run's folder for shared fixtures. */
    sharedFixtures: string;
  }
}

export default function setup(project: TestProject): () => void {
  const dir = mkdtempSync(join(tmpdir(), 'kiln-test-run-'));
  project.provide('sharedFixtures', dir);
  return () => rmSync(dir, { recursive: true, force: true });
}
