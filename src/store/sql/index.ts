export type { SqlDb, SqlDialect, SqlParams, SqlRunResult, SqlStatement } from './types.js';
export { SqliteDb } from './sqlite.js';
export { PgError, PgSyncDb, redactUrl } from './pg-sync.js';
export { openPg, pgLocation, pgOpenError, type PgLocation } from './open.js';
export { toPostgres } from './dialect.js';
export { PG_MIGRATIONS } from './pg-migrations.js';
export { listenRegistry } from './notify.js';
