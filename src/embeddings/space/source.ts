import { KilnError, didYouMean } from '../../core/errors.js';
import type { EmbeddingSource, EmbeddingSpaceSpec } from '../../config/index.js';
import type { OfflineStore } from '../../store/index.js';
import { quoteIdent as q, quoteLiteral } from '../../store/index.js';

/** Dense ids for string values, in first-seen order of a sorted scan (so the same data gives the same ids). */
export class Vocab {
  readonly ids: string[] = [];
  private readonly index = new Map<string, number>();
  id(v: string): number {
    let i = this.index.get(v);
    if (i === undefined) { i = this.ids.length; this.ids.push(v); this.index.set(v, i); }
    return i;
  }
  get size(): number { return this.ids.length; }
}

export interface SourceRange { rows: number; dataFrom: string | null; dataTo: string | null }

export interface SequenceCorpus extends SourceRange {
  kind: 'sequences';
  /** Item ids (dense, 0..items-1) of every sequence, back to back; sequence s is tokens[offsets[s]..offsets[s+1]). */
  tokens: Int32Array;
  offsets: Int32Array;
  items: Vocab;
}

export interface InteractionData extends SourceRange {
  kind: 'interactions';
  users: Vocab;
  items: Vocab;
  user: Int32Array;
  item: Int32Array;
  weight: Float32Array;
}

export interface TextData extends SourceRange {
  kind: 'text';
  ids: string[];
  texts: string[];
}

const iso = (v: unknown): string | null => (v === null || v === undefined ? null : new Date(String(v).replace(' ', 'T') + (String(v).endsWith('Z') ? '' : 'Z')).toISOString());

/** The WHERE clause that keeps rows strictly before `until` (ISO) on `time`. */
function cut(time: string | undefined, until: string | null): string {
  if (!until || !time) return 'true';
  return `${q(time)} < TIMESTAMP ${quoteLiteral(until.replace('T', ' ').replace(/Z$/, ''))}`;
}

/** Checks the source table and its columns exist, naming what is missing and what is there. */
export async function checkSourceColumns(store: OfflineStore, space: string, table: string, columns: (string | undefined)[]): Promise<void> {
  const tables = (await store.all<{ name: string }>(`SELECT table_name AS name FROM information_schema.tables WHERE table_schema = 'main'`)).map((t) => t.name);
  if (!tables.includes(table)) {
    const hint = didYouMean(table, tables);
    throw new KilnError('TABLE_NOT_FOUND', `embedding space '${space}': source table '${table}' is not in the offline store${hint ? `; did you mean '${hint}'?` : ''} (ingest it with 'kiln ingest ${table} FILE')`, { path: ['embeddings', space, 'source', 'table'] });
  }
  const have = (await store.all<{ column_name: string }>(`DESCRIBE ${q(table)}`)).map((c) => c.column_name);
  for (const c of columns) {
    if (c === undefined || have.includes(c)) continue;
    const hint = didYouMean(c, have);
    throw new KilnError('CONFIG_INVALID', `embedding space '${space}': table '${table}' has no column '${c}'${hint ? `; did you mean '${hint}'?` : ''} (columns: ${have.join(', ')})`, { path: ['embeddings', space, 'source'] });
  }
}

/** Events grouped by `by`, ordered by time; items seen fewer than minCount times are dropped. */
export async function readSequences(store: OfflineStore, space: string, src: Extract<EmbeddingSource, { kind: 'sequences' }>, minCount: number, until: string | null): Promise<SequenceCorpus> {
  await checkSourceColumns(store, space, src.table, [src.by, src.item, src.time]);
  const where = `${q(src.by)} IS NOT NULL AND ${q(src.item)} IS NOT NULL AND ${q(src.time)} IS NOT NULL AND ${cut(src.time, until)}`;
  const sql = `WITH e AS (SELECT ${q(src.by)}::VARCHAR AS b, ${q(src.item)}::VARCHAR AS i, ${q(src.time)} AS t, rowid AS r FROM ${q(src.table)} WHERE ${where}),
    kept AS (SELECT i FROM e GROUP BY i HAVING count(*) >= ${minCount})
    SELECT b, i FROM e WHERE i IN (SELECT i FROM kept) ORDER BY b, t, r`;
  const reader = await store.con.runAndReadAll(sql);
  const [bs, is] = reader.getColumnsJS() as [string[], string[]];
  const n = reader.currentRowCount;
  const items = new Vocab();
  const tokens = new Int32Array(n);
  const offsets: number[] = [0];
  for (let k = 0; k < n; k++) {
    if (k > 0 && bs[k] !== bs[k - 1]) offsets.push(k);
    tokens[k] = items.id(is[k]!);
  }
  if (n > 0) offsets.push(n);
  const [range] = await store.all<{ lo: unknown; hi: unknown; n: number }>(`SELECT min(${q(src.time)})::VARCHAR AS lo, max(${q(src.time)})::VARCHAR AS hi, count(*)::BIGINT AS n FROM ${q(src.table)} WHERE ${where}`);
  return { kind: 'sequences', tokens, offsets: Int32Array.from(offsets), items, rows: Number(range!.n), dataFrom: iso(range!.lo), dataTo: iso(range!.hi) };
}

/** (user, item) pairs with summed weights; the embedded side's values seen fewer than minCount times are dropped. */
export async function readInteractions(store: OfflineStore, space: string, src: Extract<EmbeddingSource, { kind: 'interactions' }>, minCount: number, until: string | null): Promise<InteractionData> {
  await checkSourceColumns(store, space, src.table, [src.user, src.item, src.weight, src.time]);
  const side = src.side === 'user' ? 'u' : 'i';
  const where = `${q(src.user)} IS NOT NULL AND ${q(src.item)} IS NOT NULL${src.weight ? ` AND ${q(src.weight)} IS NOT NULL` : ''}${src.time ? ` AND ${q(src.time)} IS NOT NULL` : ''} AND ${cut(src.time, until)}`;
  const sql = `WITH e AS (SELECT ${q(src.user)}::VARCHAR AS u, ${q(src.item)}::VARCHAR AS i, ${src.weight ? `${q(src.weight)}::DOUBLE` : '1.0'} AS w FROM ${q(src.table)} WHERE ${where}),
    kept AS (SELECT ${side} AS k FROM e GROUP BY ${side} HAVING count(*) >= ${minCount})
    SELECT u, i, sum(w)::DOUBLE AS w FROM e WHERE ${side} IN (SELECT k FROM kept) GROUP BY u, i ORDER BY u, i`;
  const reader = await store.con.runAndReadAll(sql);
  const [us, is, ws] = reader.getColumnsJS() as [string[], string[], number[]];
  const n = reader.currentRowCount;
  const users = new Vocab(), items = new Vocab();
  const user = new Int32Array(n), item = new Int32Array(n), weight = new Float32Array(n);
  for (let k = 0; k < n; k++) { user[k] = users.id(us[k]!); item[k] = items.id(is[k]!); weight[k] = Number(ws[k]); }
  const range = src.time
    ? (await store.all<{ lo: unknown; hi: unknown; n: number }>(`SELECT min(${q(src.time)})::VARCHAR AS lo, max(${q(src.time)})::VARCHAR AS hi, count(*)::BIGINT AS n FROM ${q(src.table)} WHERE ${where}`))[0]!
    : { lo: null, hi: null, n: (await store.all<{ n: number }>(`SELECT count(*)::BIGINT AS n FROM ${q(src.table)} WHERE ${where}`))[0]!.n };
  return { kind: 'interactions', users, items, user, item, weight, rows: Number(range.n), dataFrom: iso(range.lo), dataTo: iso(range.hi) };
}

/** One text per id (its text columns joined by a space; with a time column, the id's latest row before the cut). */
export async function readTexts(store: OfflineStore, space: string, src: Extract<EmbeddingSource, { kind: 'text' }>, until: string | null): Promise<TextData> {
  const cols = Array.isArray(src.text) ? src.text : [src.text];
  await checkSourceColumns(store, space, src.table, [src.id, src.time, ...cols]);
  const where = `${q(src.id)} IS NOT NULL AND ${cut(src.time, until)}`;
  const text = `concat_ws(' ', ${cols.map((c) => `${q(c)}::VARCHAR`).join(', ')})`;
  const order = src.time ? `${q(src.time)} DESC, rowid DESC` : 'rowid';
  const sql = `SELECT id, txt FROM (SELECT ${q(src.id)}::VARCHAR AS id, ${text} AS txt, row_number() OVER (PARTITION BY ${q(src.id)}::VARCHAR ORDER BY ${order}) AS k FROM ${q(src.table)} WHERE ${where}) WHERE k = 1 ORDER BY id`;
  const reader = await store.con.runAndReadAll(sql);
  const [ids, texts] = reader.getColumnsJS() as [string[], (string | null)[]];
  const range = src.time
    ? (await store.all<{ lo: unknown; hi: unknown; n: number }>(`SELECT min(${q(src.time)})::VARCHAR AS lo, max(${q(src.time)})::VARCHAR AS hi, count(*)::BIGINT AS n FROM ${q(src.table)} WHERE ${where}`))[0]!
    : { lo: null, hi: null, n: reader.currentRowCount };
  return { kind: 'text', ids: ids ?? [], texts: (texts ?? []).map((t) => t ?? ''), rows: Number(range.n), dataFrom: iso(range.lo), dataTo: iso(range.hi) };
}

/** Attribute columns of the embedded entities, in the order of `ids` (null where an id has no row). */
export async function readAttributes(store: OfflineStore, space: string, spec: EmbeddingSpaceSpec, ids: readonly string[]): Promise<Record<string, (string | number | boolean | null)[]> | undefined> {
  const a = spec.attributes;
  if (!a) return undefined;
  const src = spec.source;
  const table = a.table ?? ('table' in src && src.table ? src.table : undefined);
  const key = a.key ?? (src.kind === 'sequences' ? src.item : src.kind === 'interactions' ? (src.side === 'user' ? src.user : src.item) : src.kind === 'text' ? src.id : src.key);
  if (!table || !key) throw new KilnError('CONFIG_INVALID', `embedding space '${space}': attributes need a table and key column (attributes: { table, key, columns })`, { path: ['embeddings', space, 'attributes'] });
  await checkSourceColumns(store, space, table, [key, ...a.columns]);
  const rows = await store.all<Record<string, unknown>>(`SELECT ${q(key)}::VARCHAR AS __k, ${a.columns.map((c) => q(c)).join(', ')} FROM ${q(table)} WHERE ${q(key)} IS NOT NULL QUALIFY row_number() OVER (PARTITION BY ${q(key)}::VARCHAR ORDER BY rowid DESC) = 1`);
  const byKey = new Map(rows.map((r) => [String(r.__k), r]));
  const out: Record<string, (string | number | boolean | null)[]> = {};
  for (const c of a.columns) {
    out[c] = ids.map((id) => {
      const v = byKey.get(id)?.[c];
      if (v === null || v === undefined) return null;
      if (typeof v === 'bigint') return Number(v);
      if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'string') return v;
      return String(v);
    });
  }
  return out;
}
