/**
 * DuckDB's Node packages, loaded with require(). They are CommonJS: imported from an ES module, Node
 * first scans every one of their files for named exports (cjs-module-lexer), ~100 ms of a short
 * command's start-up; require() skips that. Loaded on first call, so a module that imports this one
 * loads DuckDB only when it uses it.
 */
import { createRequire } from 'node:module';
import type * as DuckDBApi from '@duckdb/node-api';
import type * as DuckDBBindings from '@duckdb/node-bindings';

const require = createRequire(import.meta.url);

/** @duckdb/node-api (DuckDBInstance, DuckDBDataChunk, the type constants...). */
export function duckdbApi(): typeof DuckDBApi {
  return require('@duckdb/node-api') as typeof DuckDBApi;
}

/** @duckdb/node-bindings: the C API, for the columnar appender's direct vector writes. */
export function duckdbBindings(): typeof DuckDBBindings {
  return require('@duckdb/node-bindings') as typeof DuckDBBindings;
}
