import { KilnError } from '../../core/errors.js';
import { PgError, PgSyncDb, redactUrl } from './pg-sync.js';

/** Where the shared metadata lives when it is not the embedded meta.sqlite. */
export interface PgLocation {
  url: string;
  schema: string;
}

const SCHEMA = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

/**
 * A PostgreSQL location from a URL (`postgres://user@host:5432/db`, optionally `?schema=name`) and a
 * schema given beside it; the schema defaults to `kiln`. Several projects share one database by schema.
 */
export function pgLocation(url: string, schema?: string, field = 'metadata.url'): PgLocation {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new KilnError('CONFIG_INVALID', `${field}: '${redactUrl(url)}' is not a URL; expected postgres://user@host:5432/database`);
  }
  if (parsed.protocol !== 'postgres:' && parsed.protocol !== 'postgresql:') {
    throw new KilnError('CONFIG_INVALID', `${field}: '${redactUrl(url)}' is not a PostgreSQL URL; expected postgres://user@host:5432/database`);
  }
  const fromUrl = parsed.searchParams.get('schema');
  parsed.searchParams.delete('schema');
  const chosen = schema ?? fromUrl ?? 'kiln';
  if (!SCHEMA.test(chosen)) throw new KilnError('CONFIG_INVALID', `${field}: schema '${chosen}' is not allowed: letters, digits and '_', starting with a letter or '_' (at most 63)`);
  return { url: parsed.toString(), schema: chosen };
}

/** Connects (synchronously), naming the address and PostgreSQL's reason when it cannot. */
export function openPg(loc: PgLocation): PgSyncDb {
  try {
    return new PgSyncDb(loc.url, loc.schema);
  } catch (e) {
    throw pgOpenError(e, loc);
  }
}

export function pgOpenError(e: unknown, loc: PgLocation): unknown {
  if (e instanceof KilnError) return e;
  const msg = (e as Error)?.message ?? String(e);
  const state = e instanceof PgError ? e.sqlState : undefined;
  // Connection refused, unknown host, authentication, no such database, too many connections.
  if (!state || /^(08|28|3D|53|57P03)/.test(state)) {
    return new KilnError('DATABASE_UNAVAILABLE', `cannot use the PostgreSQL metadata database ${redactUrl(loc.url)} (schema ${loc.schema}): ${msg}. Start PostgreSQL or fix metadata.url / KILN_DATABASE_URL`, { cause: e });
  }
  return e;
}
