/**
 * Reading the decision log, also while a server writes it (no lock is taken; a final line being written
 * is skipped like a torn one). `readDecisions` streams segment by segment in id order: a segment is read
 * and sorted (requests finish out of order, so a file is only nearly sorted), merged into a small buffer,
 * and the records below the next segment's name are yielded, since every record of a later segment is
 * at or above that segment's name. Time bounds select the segments by name; `getDecision` reads the one
 * segment the id's time points at and parses only the matching line.
 */
import { KilnError } from '../../core/errors.js';
import type { DecisionRecord } from '../types.js';
import { DECISION_ID_RE, decisionIdFloor } from './id.js';
import { findInSegment, listSegments, mayHoldWriterZeros, readSegment, segmentFor, type TornLine } from './segments.js';
import { decisionPool, getPgDecision, readPgDecisions } from './pg.js';
import { redactUrl, type PgLocation } from '../../store/index.js';

/** Where a decision log lives: a folder of segments (embedded), or the project's PostgreSQL schema. */
export type DecisionLogRef = string | PgLocation;

export type TimeBound = string | number | Date;

export interface ReadDecisionsOptions {
  /** Decisions made at or after this time (ISO text, ms since the epoch or a Date); by the time in the id. */
  readonly since?: TimeBound;
  /** Decisions made before this time (exclusive). */
  readonly until?: TimeBound;
  readonly model?: string;
  readonly version?: number;
  /** Only the decisions about this entity (compared as text: 42 and '42' are the same entity). */
  readonly entityId?: string | number;
  /** Only decisions whose id sorts before this one (exclusive): the next page of a newest-first listing. */
  readonly beforeId?: string;
  /** At most this many records. */
  readonly limit?: number;
  /** 'asc' (oldest first, the default) or 'desc' (newest first). */
  readonly order?: 'asc' | 'desc';
  /** Called for each torn final line skipped (a crash, or a write under way). */
  readonly onTorn?: (t: TornLine) => void;
}

function toMs(v: TimeBound, field: string): number {
  const ms = v instanceof Date ? v.getTime() : typeof v === 'number' ? v : Date.parse(v);
  if (!Number.isFinite(ms)) {
    throw new KilnError('INVALID_ARGUMENT', `${field} ${String(v)}: expected an ISO time (2024-06-01 or 2024-06-01T12:00:00Z), ms since the epoch or a Date`, { path: [field] });
  }
  return ms;
}

const byId = (a: DecisionRecord, b: DecisionRecord): number => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

function merge(a: DecisionRecord[], b: DecisionRecord[], sign: 1 | -1): DecisionRecord[] {
  if (!a.length) return b;
  const out: DecisionRecord[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) out.push(sign * byId(a[i]!, b[j]!) <= 0 ? a[i++]! : b[j++]!);
  return out.concat(a.slice(i), b.slice(j));
}

/** The decisions of the log in `dir`, streamed in id (= time) order; see ReadDecisionsOptions. */
export async function* readDecisions(dir: DecisionLogRef, opts: ReadDecisionsOptions = {}): AsyncGenerator<DecisionRecord> {
  const lo = opts.since === undefined ? '' : decisionIdFloor(toMs(opts.since, 'since'));
  let hi = opts.until === undefined ? '~' : decisionIdFloor(toMs(opts.until, 'until'));
  if (opts.beforeId !== undefined) {
    const before = opts.beforeId.toUpperCase();
    if (!DECISION_ID_RE.test(before)) throw new KilnError('INVALID_ARGUMENT', `beforeId ${JSON.stringify(opts.beforeId)} is not a decision id (26 characters of Crockford base32)`, { path: ['beforeId'] });
    if (before < hi) hi = before;
  }
  const entity = opts.entityId === undefined ? undefined : String(opts.entityId);
  const limit = opts.limit ?? Infinity;
  if (!(limit >= 0)) throw new KilnError('INVALID_ARGUMENT', `limit ${limit}: expected a number >= 0`, { path: ['limit'] });
  const desc = opts.order === 'desc';
  if (typeof dir !== 'string') {
    yield* readPgDecisions(dir, { lo, hi, limit, desc, ...(opts.model !== undefined ? { model: opts.model } : {}), ...(opts.version !== undefined ? { version: opts.version } : {}), ...(entity !== undefined ? { entity } : {}) });
    return;
  }
  const sign = desc ? -1 : 1;
  const names = await listSegments(dir);
  // Segment i may hold [names[i], names[i+1]): keep those that meet [lo, hi).
  const idx = names.map((_, i) => i).filter((i) => names[i]! < hi && (i + 1 >= names.length || names[i + 1]! > lo));
  if (desc) idx.reverse();
  const keep = (r: DecisionRecord): boolean =>
    r.id >= lo && r.id < hi && (opts.model === undefined || r.model === opts.model) && (opts.version === undefined || r.version === opts.version)
    && (entity === undefined || (r.entityId !== null && String(r.entityId) === entity));
  let buf: DecisionRecord[] = [];
  let sent = 0;
  for (const i of idx) {
    if (sent >= limit) return;
    const recs = (await readSegment(dir, names[i]!, opts.onTorn, mayHoldWriterZeros(names, i))).filter(keep).sort((a, b) => sign * byId(a, b));
    buf = merge(buf, recs, sign);
    // asc: what is left to read is at or above names[i+1]; desc: below names[i].
    const mark = desc ? names[i]! : names[i + 1];
    let n = 0;
    if (mark === undefined) n = buf.length;
    else while (n < buf.length && (desc ? buf[n]!.id >= mark : buf[n]!.id < mark)) n++;
    for (const r of buf.slice(0, n)) {
      if (sent++ >= limit) return;
      yield r;
    }
    buf = buf.slice(n);
  }
  for (const r of buf) {
    if (sent++ >= limit) return;
    yield r;
  }
}

/** The record with this id from the log in `dir`: DECISION_NOT_FOUND when there is none. */
export async function getDecision(dir: DecisionLogRef, id: string): Promise<DecisionRecord> {
  const wanted = id.toUpperCase();
  if (!DECISION_ID_RE.test(wanted)) {
    throw new KilnError('DECISION_NOT_FOUND', `${JSON.stringify(id)} is not a decision id: expected 26 characters of Crockford base32 (like 01J0Z3N4X5Q8R2T6V9W1Y3Z5A7). List recent ones with \`kiln decisions list\``, { path: ['id'] });
  }
  if (typeof dir !== 'string') {
    const pool = decisionPool(dir, 1);
    try { return await getPgDecision(pool, `${redactUrl(dir.url)} (schema ${dir.schema}, table decisions)`, wanted); } finally { await pool.end().catch(() => undefined); }
  }
  const names = await listSegments(dir);
  const i = segmentFor(names, wanted);
  const rec = i >= 0 ? await findInSegment(dir, names[i]!, wanted, mayHoldWriterZeros(names, i)) : null;
  if (!rec) {
    throw new KilnError('DECISION_NOT_FOUND', `no decision ${wanted} in the decision log ${dir}${names.length ? '' : ' (it has no records yet)'}. Check the id (\`kiln decisions list\`), and that this is the project that served it`, { path: ['id'] });
  }
  return rec;
}
