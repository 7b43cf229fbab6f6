import { defineConfig } from 'vitest/config';

const src = (f: string): string => new URL(`./src/${f}`, import.meta.url).pathname;

export default defineConfig({
  // What a kiln.config.ts (or examples/demo/features.ts) imports as 'kiln', when a test imports it directly.
  resolve: { alias: [{ find: /^kiln$/, replacement: src('index.ts') }] },
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
  },
});
