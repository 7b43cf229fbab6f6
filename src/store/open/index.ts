/**
 * Opening a project without loading DuckDB: the project, its paths and meta.sqlite, and the store's
 * error helpers. The offline store (DuckDB) loads when first used, so a command that reads only
 * meta.sqlite (`kiln runs list`, `kiln models list`) starts fast, and listing tables (`kiln tables`) loads
 * DuckDB but not ingest or the columnar writer. The whole store is `../index.ts`.
 */
export { Project, initProject, projectPaths, type OpenProjectOptions, type ProjectPaths } from '../project.js';
export { DEFAULT_WAIT_TIMEOUT_SECONDS, type OfflineAccess } from '../offline.js';
export { lastMetaPath } from '../meta.js';
export { fsError, sqliteError } from '../fs-errors.js';
export { listTables, showTable, type TableInfo, type TableRows } from '../tables.js';
