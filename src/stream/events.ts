/**
 * From stream entries to rows: each entry's JSON (Redis: an entry field; NATS: the message data) is parsed and checked against the table's declaration
 * (its key, its event time, declared column types) before either store sees it; an entry that fails is a
 * dead letter with the reason. Rows repeated in one batch (the same key) are kept once.
 */
import { columnDecls, type ColumnDecl, type TableSpec } from '../config/index.js';
import { isoMicros, parseTime } from '../core/time.js';
import type { StreamEntry } from './source.js';
import type { StreamSettings } from './settings.js';

export type Row = Record<string, unknown>;

/** An event kept for the stores. */
export interface StreamEvent {
  readonly id: string;
  readonly key: string;
  readonly row: Row;
  /** Event time in epoch µs, when the table declares a timestamp column. */
  readonly timeUs: number | null;
}

/** An entry that cannot be stored, and why. */
export interface DeadLetter {
  readonly id: string;
  readonly reason: string;
  readonly payload: string;
}

export interface ParsedBatch {
  readonly events: StreamEvent[];
  readonly dead: DeadLetter[];
  /** Entries whose key came earlier in the batch with the same content. */
  readonly repeats: string[];
}

const typeOk: Record<ColumnDecl['type'], (v: unknown) => string | null> = {
  boolean: (v) => (typeof v === 'boolean' ? null : `${JSON.stringify(v)} is not true or false`),
  integer: (v) => (typeof v === 'number' && Number.isInteger(v) ? null : `${JSON.stringify(v)} is not a whole number`),
  bigint: (v) => (typeof v === 'number' && Number.isInteger(v) ? null : `${JSON.stringify(v)} is not a whole number`),
  double: (v) => (typeof v === 'number' && Number.isFinite(v) ? null : `${JSON.stringify(v)} is not a number`),
  varchar: (v) => (typeof v === 'string' ? null : `${JSON.stringify(v)} is not text`),
  timestamp: (v) => timeProblem(v),
  date: (v) => timeProblem(v),
};

function timeProblem(v: unknown): string | null {
  const t = parseTime(v);
  return 'problem' in t ? `${t.problem}${t.offset ? '; kiln reads every time as UTC' : ''}` : null;
}

/** The payload kept with a dead letter: the entry's fields as JSON. */
const payloadOf = (e: StreamEntry): string => JSON.stringify(e.fields);

/** Checks one row against the table's key, timestamp and declared columns; null when it is fine. */
export function rowProblem(row: Row, s: StreamSettings, table: TableSpec | undefined): string | null {
  const k = row[s.key];
  if (k === undefined || k === null) return `${k === null ? 'NULL' : 'missing'} event key '${s.key}' (tables.${s.table}.key): every event needs its key`;
  if (typeof k !== 'string' && !(typeof k === 'number' && Number.isFinite(k))) return `event key '${s.key}' = ${JSON.stringify(k)} must be text or a number`;
  if (s.timestamp !== undefined) {
    const t = row[s.timestamp];
    if (t === undefined || t === null) return `${t === null ? 'NULL' : 'missing'} event time '${s.timestamp}' (tables.${s.table}.timestamp)`;
    const p = timeProblem(t);
    if (p) return `column '${s.timestamp}': ${p}`;
  }
  const decls = table ? columnDecls(table) : undefined;
  if (decls) {
    const known = new Set(decls.map((d) => d.name));
    for (const d of decls) {
      const v = row[d.name];
      if (v === undefined && d.required) return `missing column '${d.name}' (declared in tables.${s.table}.columns)`;
      if (v === undefined || v === null) {
        if (v === null && !d.nullable) return `column '${d.name}' is NULL but declared nullable: false`;
        continue;
      }
      const p = typeOk[d.type](v);
      if (p) return `column '${d.name}' (${d.type}): ${p}`;
    }
    if (!(table?.allowExtraColumns ?? false)) {
      for (const c of Object.keys(row)) if (!known.has(c)) return `unknown column '${c}': tables.${s.table} declares ${[...known].join(', ')} (set allowExtraColumns: true to keep others)`;
    }
  }
  return null;
}

/** The event of an entry as a JSON object of column values, or why there is none. */
function eventOf(e: StreamEntry, s: StreamSettings): { row: Row } | { reason: string } {
  const isRow = (v: unknown): v is Row => v !== null && typeof v === 'object' && !Array.isArray(v);
  if (s.source === 'nats') {
    // a NATS entry carries the message's subject and data (see nats.ts)
    let data: unknown;
    try {
      data = JSON.parse(e.fields.data ?? '');
    } catch (x) {
      return { reason: `the message data is not JSON: ${(x as Error).message}` };
    }
    if (s.field === null) return isRow(data) ? { row: data } : { reason: 'the message data is not a JSON object of column values' };
    if (!isRow(data) || !Object.hasOwn(data, s.field)) {
      return { reason: `the message data has no field '${s.field}' (${isRow(data) ? `fields: ${Object.keys(data).join(', ') || 'none'}` : 'it is not a JSON object'}); kiln reads each event as the JSON object in that field (streams.${s.name}.nats.field)` };
    }
    let v = data[s.field];
    if (typeof v === 'string') {
      try { v = JSON.parse(v); } catch (x) { return { reason: `field '${s.field}' is not JSON: ${(x as Error).message}` }; }
    }
    return isRow(v) ? { row: v } : { reason: `field '${s.field}' is not a JSON object of column values` };
  }
  const text = e.fields[s.field];
  if (text === undefined) {
    return { reason: `the entry has no field '${s.field}' (fields: ${Object.keys(e.fields).join(', ') || 'none'}); kiln reads each event as a JSON object in that field (streams.${s.name}.redis.field)` };
  }
  let row: unknown;
  try {
    row = JSON.parse(text);
  } catch (x) {
    return { reason: `field '${s.field}' is not JSON: ${(x as Error).message}` };
  }
  return isRow(row) ? { row } : { reason: `field '${s.field}' is not a JSON object of column values` };
}

/** Parses and checks a batch of entries; the rows' event times are written as ISO text in UTC (µs). */
export function parseEntries(entries: readonly StreamEntry[], s: StreamSettings, table: TableSpec | undefined): ParsedBatch {
  const events: StreamEvent[] = [];
  const dead: DeadLetter[] = [];
  const repeats: string[] = [];
  const byKey = new Map<string, string>();
  for (const e of entries) {
    const got = eventOf(e, s);
    if ('reason' in got) { dead.push({ id: e.id, reason: got.reason, payload: payloadOf(e) }); continue; }
    const r = got.row;
    const problem = rowProblem(r, s, table);
    if (problem) { dead.push({ id: e.id, reason: problem, payload: payloadOf(e) }); continue; }
    let timeUs: number | null = null;
    if (s.timestamp !== undefined) {
      const t = parseTime(r[s.timestamp]) as { us: number };
      timeUs = t.us;
      r[s.timestamp] = isoMicros(t.us);
    }
    const key = String(r[s.key]);
    const canonical = JSON.stringify(r);
    const prior = byKey.get(key);
    if (prior !== undefined) {
      if (prior === canonical) repeats.push(e.id);
      else dead.push({ id: e.id, reason: `event key ${s.key} = ${JSON.stringify(key)} came earlier in the stream with different content; an event key names one event: give a corrected event a new key`, payload: payloadOf(e) });
      continue;
    }
    byKey.set(key, canonical);
    events.push({ id: e.id, key, row: r, timeUs });
  }
  return { events, dead, repeats };
}
