import { KilnError } from '../core/errors.js';
import { schemaVersion } from './meta-migrate.js';
import type { SqlDb } from './sql/index.js';

/**
 * The metadata tables that move between engines (`kiln db migrate --from sqlite`, a backtest's sandbox of
 * a PostgreSQL project), parents before children so foreign keys hold. `tables` and `ingests` describe
 * one machine's offline store and stay in its meta.sqlite.
 */
export const SHARED_TABLES = [
  'experiments', 'runs', 'run_params', 'run_tags', 'run_metrics', 'run_lineage', 'run_artifacts',
  'models', 'model_versions', 'model_aliases', 'audit_log',
  'loop_runs', 'loop_steps', 'monitor_alerts',
  'embedding_versions', 'embedding_aliases', 'embedding_audit',
] as const;

/** Tables whose ids are generated: the target's sequence is moved past the copied ids. */
const IDENTITY = new Set(['experiments', 'audit_log', 'monitor_alerts', 'embedding_audit']);

export interface CopyReport {
  tables: { name: string; rows: number }[];
  rows: number;
}

/**
 * Copies every shared table from `from` into the empty `to` (same schema version) in one transaction of
 * `to`: all of it lands, or none. Refuses a target that already holds metadata, so nothing is merged by
 * accident.
 */
export function copyMetadata(from: SqlDb, to: SqlDb, opts: { onTable?: (name: string, rows: number) => void; batch?: number } = {}): CopyReport {
  const vFrom = schemaVersion(from);
  const vTo = schemaVersion(to);
  if (vFrom !== vTo) throw new KilnError('INVALID_ARGUMENT', `cannot copy metadata between schema versions ${vFrom} (${from.location}) and ${vTo} (${to.location}); open both with this kiln first`);
  const report: CopyReport = { tables: [], rows: 0 };
  const batch = opts.batch ?? 500;
  to.transaction(() => {
    for (const t of SHARED_TABLES) {
      const n = (to.prepare(`SELECT count(*) AS n FROM ${t}`).get() as { n: number }).n;
      if (n > 0) throw new KilnError('INVALID_ARGUMENT', `${to.location} already holds metadata (${n} rows in ${t}); copy into an empty one`);
    }
    for (const t of SHARED_TABLES) {
      const rows = from.prepare(`SELECT * FROM ${t}`).all() as Record<string, unknown>[];
      if (rows.length > 0) {
        const cols = Object.keys(rows[0]!);
        const quoted = cols.map((c) => (c === 'window' ? '"window"' : c)).join(', ');
        for (let at = 0; at < rows.length; at += batch) {
          const chunk = rows.slice(at, at + batch);
          const marks = chunk.map(() => `(${cols.map(() => '?').join(', ')})`).join(', ');
          const values = chunk.flatMap((r) => cols.map((c) => r[c]));
          // toPostgres quotes the bare word window itself; SQLite accepts it quoted or not.
          to.prepare(`INSERT INTO ${t} (${quoted.replace('"window"', 'window')}) VALUES ${marks}`).run(...values);
        }
        if (IDENTITY.has(t) && to.dialect === 'postgres') {
          to.prepare(`SELECT setval(pg_get_serial_sequence('${t}', 'id'), (SELECT max(id) FROM ${t}))`).get();
        }
      }
      report.tables.push({ name: t, rows: rows.length });
      report.rows += rows.length;
      opts.onTable?.(t, rows.length);
    }
  })();
  return report;
}
