import { KilnError } from '../../core/errors.js';
import type { OfflineStore } from '../offline.js';
import { quoteIdent } from '../sql.js';
import type { FileStage } from './load.js';
import { badRowsError, type BadRow, type IngestSpec } from './plan.js';

const MAX_SHOWN = 5;

/** NULLs where they are not allowed: the timestamp, the key, and columns declared `nullable: false`. */
export async function checkNulls(store: OfflineStore, s: FileStage, spec: IngestSpec): Promise<void> {
  const cols = new Set<string>();
  if (spec.timestamp) cols.add(spec.timestamp);
  if (spec.key) cols.add(spec.key);
  for (const d of spec.decls ?? []) if (!d.nullable) cols.add(d.name);
  const bad: BadRow[] = [];
  let total = 0;
  for (const c of cols) {
    const rows = await store.all<{ r: number; n: number }>(
      `SELECT rowid + ${s.lineOffset} AS r, count(*) OVER ()::BIGINT AS n FROM ${quoteIdent(s.table)} WHERE ${quoteIdent(c)} IS NULL ORDER BY rowid LIMIT ${MAX_SHOWN}`,
    );
    if (!rows.length) continue;
    total += rows[0]!.n;
    const why = c === spec.timestamp ? 'the timestamp column' : c === spec.key ? 'the key column' : 'declared nullable: false';
    for (const r of rows) if (bad.length < MAX_SHOWN) bad.push({ where: `${s.lineWord} ${r.r}`, column: c, problem: `missing value (${why} cannot be empty)` });
  }
  if (total) throw badRowsError(s.file, spec.table, total, bad);
}

/** Duplicate keys inside one file, shown with where each copy is. */
export async function checkKeyUniqueInFile(store: OfflineStore, s: FileStage, spec: IngestSpec): Promise<void> {
  if (!spec.key) return;
  const k = quoteIdent(spec.key);
  // Cheap test first; the per-key detail (an ordered aggregate) only runs when there are duplicates.
  const any = await store.all<{ n: number }>(`SELECT count(*)::BIGINT AS n FROM (SELECT ${k} FROM ${quoteIdent(s.table)} GROUP BY ${k} HAVING count(*) > 1)`);
  if (any[0]!.n === 0) return;
  const dups = await store.all<{ v: string; c: number; at: number[]; n: number }>(
    `WITH d AS (SELECT ${k} AS key FROM ${quoteIdent(s.table)} GROUP BY ${k} HAVING count(*) > 1)
     SELECT s.${k}::VARCHAR AS v, count(*)::BIGINT AS c, list(s.rowid + ${s.lineOffset} ORDER BY s.rowid)[1:3] AS at, ${any[0]!.n}::BIGINT AS n
       FROM ${quoteIdent(s.table)} s SEMI JOIN d ON s.${k} = d.key GROUP BY s.${k} ORDER BY min(s.rowid) LIMIT ${MAX_SHOWN}`,
  );
  if (!dups.length) return;
  throw new KilnError(
    'INGEST_DUPLICATE_KEYS',
    `${s.file}: key '${spec.key}' must be unique but ${dups[0]!.n} value${dups[0]!.n === 1 ? ' repeats' : 's repeat'}; nothing was loaded (table '${spec.table}' is unchanged):\n` +
      dups.map((d) => `  ${spec.key} = ${d.v}: ${d.c} times (${s.lineWord}s ${d.at.map(Number).join(', ')}${d.c > 3 ? ', ...' : ''})`).join('\n'),
    { path: [s.file, spec.key], details: dups },
  );
}

/** Duplicate keys across the files of one ingest, and against rows already in the table. */
export async function checkKeyUniqueAcross(store: OfflineStore, stages: FileStage[], spec: IngestSpec, existing: string | undefined): Promise<void> {
  if (!spec.key) return;
  const k = quoteIdent(spec.key);
  if (stages.length > 1) {
    const union = stages.map((s, i) => `SELECT ${k} AS key, ${i} AS f, rowid + ${s.lineOffset} AS r FROM ${quoteIdent(s.table)}`).join(' UNION ALL ');
    const dups = await store.all<{ v: string; fs: number[]; rs: number[] }>(
      `SELECT key::VARCHAR AS v, list(f ORDER BY f, r)[1:2] AS fs, list(r ORDER BY f, r)[1:2] AS rs FROM (${union}) GROUP BY key HAVING count(DISTINCT f) > 1 LIMIT ${MAX_SHOWN}`,
    );
    if (dups.length) {
      throw new KilnError(
        'INGEST_DUPLICATE_KEYS',
        `key '${spec.key}' must be unique but values repeat across files; nothing was loaded (table '${spec.table}' is unchanged):\n` +
          dups.map((d) => `  ${spec.key} = ${d.v}: ${d.fs.map((f, i) => `${stages[Number(f)]!.file} ${stages[Number(f)]!.lineWord} ${d.rs[i]}`).join(' and ')}`).join('\n'),
        { path: [spec.key] },
      );
    }
  }
  if (!existing) return;
  for (const s of stages) {
    const dups = await store.all<{ v: string; r: number; n: number }>(
      `SELECT s.${k}::VARCHAR AS v, s.rowid + ${s.lineOffset} AS r, count(*) OVER ()::BIGINT AS n
         FROM ${quoteIdent(s.table)} s SEMI JOIN ${quoteIdent(existing)} t ON s.${k} = t.${k} ORDER BY s.rowid LIMIT ${MAX_SHOWN}`,
    );
    if (dups.length) {
      throw new KilnError(
        'INGEST_DUPLICATE_KEYS',
        `${s.file}: ${dups[0]!.n} key value${dups[0]!.n === 1 ? ' is' : 's are'} already in table '${spec.table}' (key '${spec.key}' is unique); nothing was loaded:\n` +
          dups.map((d) => `  ${spec.key} = ${d.v} (${s.lineWord} ${d.r})`).join('\n') +
          `\n  Use --mode replace to reload the table, or remove these rows from the file.`,
        { path: [s.file, spec.key] },
      );
    }
  }
}

const WIDENS: Record<string, string[]> = {
  INTEGER: ['BIGINT', 'DOUBLE'],
  BIGINT: ['DOUBLE'],
  DATE: ['TIMESTAMP'],
};

/** Appending needs the table's columns: same names, and types equal or safely widened. */
export async function checkAppendSchema(store: OfflineStore, s: FileStage, spec: IngestSpec): Promise<void> {
  const target = await store.all<{ column_name: string; column_type: string }>(`DESCRIBE ${quoteIdent(spec.table)}`);
  const tcols = new Map(target.map((c) => [c.column_name, c.column_type]));
  const problems: string[] = [];
  for (const c of s.columns) {
    const t = tcols.get(c.name);
    if (t === undefined) problems.push(`column '${c.name}' is new (the table has: ${[...tcols.keys()].join(', ')})`);
    else if (t !== c.targetType && !(WIDENS[c.targetType] ?? []).includes(t)) problems.push(`column '${c.name}' is ${c.targetType} in the file but ${t} in the table`);
  }
  for (const name of tcols.keys()) if (!s.columns.some((c) => c.name === name)) problems.push(`column '${name}' of the table is missing from the file`);
  if (problems.length) {
    throw new KilnError(
      'INGEST_SCHEMA_MISMATCH',
      `${s.file} does not fit table '${spec.table}'; nothing was loaded:\n${problems.map((p) => `  - ${p}`).join('\n')}\n  Use --mode replace to load it as the table's new content and schema.`,
      { path: [s.file], details: problems },
    );
  }
}
