/**
 * The package's entries besides `kiln` (src/index.ts): one file per engine that users call from code,
 * each listed in package.json `exports` as `kiln/<name>` and snapshotted by test/repo/exports.test.ts.
 * They import their stage's index.ts and re-export by name only what a caller needs.
 */
export const PACKAGE_ENTRIES = ['embeddings', 'eval', 'features', 'gbdt', 'nn', 'online', 'pipelines', 'recs', 'registry', 'search', 'serve', 'sim', 'store'] as const;
