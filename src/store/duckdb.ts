/**
 * DuckDB's Node packages, loaded with require(). They are CommonJS: imported from an ES module, Node
 * first scans every one of their files for named exports (cjs-module-lexer), ~100 ms of a short
 * command's start-up; require() skips that. Loaded on first call, so a module that imports this one
 * loads DuckDB only when it uses it.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import type * as DuckDBApi from '@duckdb/node-api';
import type * as DuckDBBindings from '@duckdb/node-bindings';

const require = createRequire(import.meta.url);

let api: typeof DuckDBApi | undefined;

/**
 * @duckdb/node-api (DuckDBInstance, DuckDBDataChunk, the type constants...). From dist/, the package's code
 * bundled into one file by scripts/build.mjs (one file to load, not ~120: ~40 ms less), while that bundle
 * was made from the very package installed now (same folder, same version); otherwise the package.
 */
export function duckdbApi(): typeof DuckDBApi {
  return (api ??= vendoredDuckdbApi(fileURLToPath(new URL('../vendor/duckdb-node-api.cjs', import.meta.url))) ?? (require('@duckdb/node-api') as typeof DuckDBApi));
}

/** The bundle at `bundle` (see scripts/vendor-duckdb.mjs), or null when it is absent or not made from the installed package. */
export function vendoredDuckdbApi(bundle: string): typeof DuckDBApi | null {
  let made: { dir: string; version: string };
  try {
    made = JSON.parse(readFileSync(bundle.replace(/\.cjs$/, '.json'), 'utf8')) as { dir: string; version: string };
  } catch {
    return null; // running src/, or a build without the bundle
  }
  try {
    const main = require.resolve('@duckdb/node-api');
    if (relative(made.dir, main).startsWith('..')) return null; // another copy of the package is installed now
    const pkg = JSON.parse(readFileSync(join(made.dir, 'package.json'), 'utf8')) as { name?: string; version?: string };
    if (pkg.name !== '@duckdb/node-api' || pkg.version !== made.version) return null;
    const load = require(bundle) as (req: NodeJS.Require) => typeof DuckDBApi;
    return load(createRequire(main));
  } catch {
    return null;
  }
}

/** @duckdb/node-bindings: the C API, for the columnar appender's direct vector writes. */
export function duckdbBindings(): typeof DuckDBBindings {
  return require('@duckdb/node-bindings') as typeof DuckDBBindings;
}
