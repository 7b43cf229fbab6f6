/**
 * A feature's value for one entity as of one time, from both stores: point in time from the offline store
 * (the training-set builder over a one-row spine, written to a temporary Parquet file, so a read-only
 * offline store will do) and, when there is an online store that serves it, the online value at the same
 * time (events strictly before it in both).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KilnError } from '../../../../core/errors.js';
import { resolveSelection, type FeatureRegistry } from '../../../../features/index.js';
import { quoteIdent, quoteLiteral, type Project } from '../../../../store/index.js';
import { openOnline } from './online.js';

export interface PointValues {
  readonly key: string;
  /** ISO UTC, ms. */
  readonly asOf: string;
  readonly keyColumn: string;
  /** Output columns, in order. */
  readonly columns: string[];
  readonly offline: Record<string, unknown>;
  /** The online row, or why there is none. */
  readonly online: { readonly row: Record<string, unknown>; readonly known: boolean; readonly backend: string } | { readonly note: string };
}

/** Parses the as-of text of the form: ISO 8601 in UTC (a date alone is midnight UTC). */
export async function parseAsOf(text: string): Promise<string> {
  const { parseUtcTime } = await import('../../../../features/training/index.js');
  return parseUtcTime(text.trim(), 'as-of time');
}

/** The values of feature (or feature set) `name` for entity `key` as of `asOf` (ISO UTC). Throws on an unknown entity. */
export async function pointValues(project: Project, registry: FeatureRegistry, name: string, key: string, asOf: string): Promise<PointValues> {
  const { features, selected } = resolveSelection(registry, name);
  const entity = features[0]!.entity;
  const sources = [...new Map(features.filter((f) => f.source).map((f) => [f.source!.name, f.source!])).values()];
  if (!sources.length) throw new KilnError('USAGE', `'${name}' reads no source; nothing to compute`);
  const store = project.offline;
  // The key is typed as the sources' key column, and must be an entity some source has rows of.
  const first = sources[0]!;
  const [col] = await store.all<{ column_type: string }>(`SELECT column_type FROM (DESCRIBE ${quoteIdent(first.table)}) WHERE column_name = ${quoteLiteral(first.key)}`);
  const type = col?.column_type ?? 'VARCHAR';
  const [cast] = await store.all<{ ok: boolean }>(`SELECT TRY_CAST(${quoteLiteral(key)} AS ${type}) IS NOT NULL AS ok`);
  if (!cast?.ok) throw new KilnError('SPINE_INVALID', `'${key}' is not a ${entity.key}: the ${entity.name} key is ${type}`);
  const tables = [...new Map(sources.map((s) => [`${s.table}\u0000${s.key}`, s])).values()];
  const seen = await store.all<{ n: number }>(`SELECT (${tables.map((s) => `(SELECT count(*) FROM (SELECT 1 FROM ${quoteIdent(s.table)} WHERE ${quoteIdent(s.key)} = TRY_CAST(${quoteLiteral(key)} AS ${type}) LIMIT 1))`).join(' + ')})::INTEGER AS n`);
  if (!seen[0]?.n) {
    throw new KilnError('SPINE_INVALID', `no ${entity.name} ${entity.key} = ${key} in ${tables.map((s) => s.table).join(', ')}: check the key (an unknown ${entity.name} would only show empty values)`);
  }
  const work = mkdtempSync(join(tmpdir(), 'kiln-ui-value-'));
  let offline: Record<string, unknown>;
  let columns: string[];
  try {
    const spine = join(work, 'spine.parquet');
    const out = join(work, 'values.parquet');
    await store.run(`COPY (SELECT CAST(${quoteLiteral(key)} AS ${type}) AS ${quoteIdent(entity.key)}, CAST(${quoteLiteral(asOf)} AS TIMESTAMPTZ)::TIMESTAMP AS as_of) TO ${quoteLiteral(spine)} (FORMAT parquet)`);
    const { buildTrainingSet } = await import('../../../../features/training/index.js');
    await buildTrainingSet(project, { spine: { file: spine, key: entity.key, timestamp: 'as_of' }, features: name, out });
    const rows = await store.all<Record<string, unknown>>(`SELECT * FROM read_parquet(${quoteLiteral(out)})`);
    offline = rows[0] ?? {};
    columns = features.filter((f) => selected.has(f.name)).flatMap((f) => f.outputs.map((o) => o.column));
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  let online: PointValues['online'];
  const access = await openOnline(project);
  if (access.state !== 'open') online = { note: access.note };
  else {
    try {
      const [hit] = await access.store.lookup([key], name, { asOf });
      online = { row: hit!.row, known: hit!.known, backend: access.backend };
    } catch (e) {
      online = { note: `The online store does not give it: ${(e as Error).message}` };
    } finally {
      await access.store.close();
    }
  }
  return { key, asOf, keyColumn: entity.key, columns, offline, online };
}

/** Whether two values of a column agree (numbers to 1e-9 relative: the stores sum in different orders). */
export function sameValue(a: unknown, b: unknown): boolean {
  if (a === null || a === undefined) return b === null || b === undefined;
  if (typeof a === 'number' && typeof b === 'number') return a === b || Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(a), Math.abs(b));
  if (typeof a === 'bigint' || typeof b === 'bigint') return String(a) === String(b);
  return String(a) === String(b);
}
