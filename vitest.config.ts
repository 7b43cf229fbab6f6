import { defineConfig } from 'vitest/config';

const src = (f: string): string => new URL(`./src/${f}`, import.meta.url).pathname;

export default defineConfig({
  // What a kiln.config.ts (or examples/demo/features.ts) imports as 'kiln', when a test imports it directly.
  resolve: { alias: [{ find: /^kiln$/, replacement: src('index.ts') }] },
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Two forks that each run many files (CI has 2 cores; vitest's default is cores - 1, i.e. one). Files
    // share the loaded modules of their fork (isolate: false): a fresh process per file cost ~0.6 s and
    // re-imported src/ each time. Tests must therefore leave no global state behind (env stubs undone,
    // real timers restored, projects closed).
    pool: 'forks',
    maxWorkers: 2,
    isolate: false,
    globalSetup: ['test/global-setup.ts'],
  },
});
