/**
 * Validation of pushed events at the edge: the target (a source, or a table that sources read), the
 * columns and their declared types, and times in UTC. Every problem is collected and reported at once,
 * each naming the record; past this point the engine trusts the events.
 */
import { randomBytes } from 'node:crypto';
import { KilnError, didYouMean } from '../core/errors.js';
import type { Scalar, SourceColumnType } from '../features/index.js';
import type { OnlinePlan, SourcePlan } from './engine/plan.js';
import { parseTime, timeUs } from './engine/time.js';
import { isLate, rawEvent, type RawEvent } from './types.js';

/** Where pushed rows go: one source, or every served source that reads a table. */
export type PushTarget = { readonly source: string } | { readonly table: string };

export interface ValidateOptions {
  /** Columns no target source declares: an error (default) or ignored. */
  readonly extraColumns?: 'error' | 'ignore';
  /** How to name record i in messages (default `event i`); the CLI names file lines. */
  readonly label?: (i: number) => string;
}

/** Events per source, grouped by entity (as text), with counts. */
export interface ValidatedEvents {
  readonly bySource: Map<string, Map<string, RawEvent[]>>;
  /** Rows that count for no target source (NULL key or time, as offline). */
  readonly skipped: number;
}

const MAX_LISTED = 20;
const NO_KEYS: ReadonlyMap<string, string> = new Map();
const UID_PREFIX = `${randomBytes(4).toString('hex')}.`;
let uidCounter = 0;

/** A unique event id: events may repeat exactly, and every copy counts. */
export function newUid(): string {
  return `${UID_PREFIX}${(uidCounter++).toString(36)}`;
}

/**
 * An event from trusted input (the offline store): times in µs. `u`: its id (`RawEvent.id`), the event key's (`eventUid`)
 * when its source has one, else a new unique id.
 */
export function makeEvent(ts: number, availableAt: number | null, v: Readonly<Record<string, Scalar>>, u?: string): RawEvent {
  const e = availableAt === null || availableAt < ts ? ts : availableAt;
  return rawEvent(u ?? newUid(), ts, e, isLate(ts, e), v);
}

/**
 * The id of an event whose source has an event key: the key's value as text (42 and '42' are one key),
 * after a mark no generated id starts with. Unique within a series once pushes are deduplicated.
 */
export const eventUid = (key: string | number): string => `#${key}`;

/** Whether an event id is an event key's (`eventUid`). */
export const isKeyed = (u: string): boolean => u.charCodeAt(0) === 35; // '#'

/** The event key an id of `eventUid` stands for. */
export const eventKeyOf = (u: string): string => u.slice(1);

/**
 * What a re-pushed event must equal to be the same event: its event time, availability and the values of
 * the columns the served features read, as a 53-bit hash (a safe integer). A different digest under one key is a
 * conflict. Numbers are hashed by their bits and text by its characters (no JSON: this runs per pushed event).
 */
export function eventDigest(ev: RawEvent): number {
  H1 = 0xdeadbeef;
  H2 = 0x41c6ce57;
  mixNumber(ev.time);
  mixNumber(ev.visibleAt);
  const v = ev.values;
  for (const k in v) {
    const x = v[k];
    if (typeof x === 'number') { mix(1); mixNumber(x); } else if (typeof x === 'string') {
      mix(2);
      mix(x.length);
      for (let i = 0; i < x.length; i++) mix(x.charCodeAt(i));
    } else mix(x === null ? 3 : x ? 4 : 5);
  }
  const h1 = Math.imul(H1 ^ (H1 >>> 16), 2246822507) ^ Math.imul(H2 ^ (H2 >>> 13), 3266489909);
  const h2 = Math.imul(H2 ^ (H2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return 4294967296 * (2097151 & h2) + (h1 >>> 0);
}
// Module state and functions rather than closures: this runs per pushed event.
let H1 = 0;
let H2 = 0;
function mix(c: number): void { H1 = Math.imul(H1 ^ c, 2654435761); H2 = Math.imul(H2 ^ c, 1597334677); }
function mixNumber(x: number): void { F64[0] = x; mix(U32[0]!); mix(U32[1]!); }
const F64 = new Float64Array(1);
const U32 = new Uint32Array(F64.buffer);

/** The served sources a push target names; a clear error for anything else. */
export function targetSources(plan: OnlinePlan, target: PushTarget): SourcePlan[] {
  const all = [...plan.sources.values()];
  if ('source' in target) {
    const sp = plan.sources.get(target.source);
    if (sp) return [sp];
    const declared = plan.registry.sources.has(target.source);
    const h = didYouMean(target.source, [...plan.sources.keys()]);
    throw new KilnError(declared ? 'FEATURE_NOT_SERVED' : 'INVALID_ARGUMENT', declared
      ? `source '${target.source}' feeds no feature this online store serves (it serves ${plan.selection.join(', ')}); pushing its events would change nothing`
      : `unknown source '${target.source}'${h ? `; did you mean '${h}'?` : ''} (served sources: ${[...plan.sources.keys()].join(', ') || 'none'})`);
  }
  const sps = all.filter((sp) => sp.source.table === target.table);
  if (sps.length) return sps;
  const tables = [...new Set(all.map((sp) => sp.source.table))];
  const h = didYouMean(target.table, tables);
  throw new KilnError('FEATURE_NOT_SERVED', `no served source reads table '${target.table}'${h ? `; did you mean '${h}'?` : ''} (tables: ${tables.join(', ') || 'none'})`);
}

/** A column check: the normalised value, or undefined when invalid (then `why` explains; it runs only on failure). */
interface Check {
  readonly value: (v: unknown) => Scalar | undefined;
  readonly why: (v: unknown) => { problem: string; offset?: string };
}

const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : typeof v === 'bigint' && Number.isSafeInteger(Number(v)) ? Number(v) : undefined);
const NUMERIC: Check = { value: num, why: (v) => ({ problem: `${JSON.stringify(String(v))} is not a number` }) };
const INTEGER: Check = {
  value: (v) => { const n = num(v); return n !== undefined && Number.isInteger(n) ? n : undefined; },
  why: (v) => ({ problem: num(v) === undefined ? `${JSON.stringify(String(v))} is not a number` : `${String(v)} is not an integer` }),
};
const TIME: Check = {
  value: (v) => timeUs(v) ?? undefined,
  why: (v) => { const t = parseTime(v); return 'problem' in t ? (t.offset ? { problem: t.problem, offset: t.offset } : { problem: t.problem }) : { problem: 'not a time' }; },
};
const KEY: Check = { value: (v) => keyValue(v), why: (v) => ({ problem: `${JSON.stringify(v)} must be text or a number` }) };
const CHECKS: Readonly<Record<SourceColumnType, Check>> = {
  double: NUMERIC,
  integer: INTEGER,
  bigint: INTEGER,
  varchar: { value: (v) => (typeof v === 'string' ? v : undefined), why: (v) => ({ problem: `${JSON.stringify(v)} is not text` }) },
  boolean: { value: (v) => (typeof v === 'boolean' ? v : undefined), why: (v) => ({ problem: `${JSON.stringify(v)} is not true or false` }) },
  timestamp: TIME,
  date: TIME,
};

/**
 * Checks pushed rows against the target sources and normalises them into raw events, per source and
 * entity. Throws one EVENTS_INVALID error listing the problems (up to 20, with the total).
 */
export function validateEvents(sources: readonly SourcePlan[], rows: readonly unknown[], opts: ValidateOptions = {}, eventKeys: ReadonlyMap<string, string> = NO_KEYS): ValidatedEvents {
  const label = opts.label ?? ((i: number) => `event ${i}`);
  const problems: string[] = [];
  let count = 0;
  const problem = (i: number, text: string): void => { count++; if (problems.length < MAX_LISTED) problems.push(`${label(i)}: ${text}`); };
  const known = new Set<string>();
  for (const sp of sources) for (const c of [sp.source.key, sp.source.timestamp, sp.source.availableAt, sp.source.tiebreak, eventKeys.get(sp.source.name), ...Object.keys(sp.source.columns)]) if (c) known.add(c);
  const timeColumns = new Set(sources.flatMap((sp) => [sp.source.timestamp, sp.source.availableAt].filter((c): c is string => c !== null)));
  // One checker per column, decided once: times, declared types, or keys and tie-breaks (text or numbers).
  const columns = [...known];
  const checks = columns.map((c): Check => {
    const type = sourceTypeOf(sources, c);
    return timeColumns.has(c) ? TIME : type ? CHECKS[type] : KEY;
  });
  // One target source (the usual push): its event values are collected straight into the event's record;
  // the key and times go to a small side record, and other declared columns are checked only.
  const single = sources.length === 1 ? sources[0]! : null;
  const singleKey = single === null ? undefined : eventKeys.get(single.source.name);
  const where = columns.map((c) => (single === null ? 0 : single.columns.includes(c) ? 1 : c === single.source.key || c === single.source.timestamp || c === single.source.availableAt || c === singleKey ? 0 : 2));
  const offsets = new Map<string, number>();
  let utcTexts = 0;
  const bySource = new Map(sources.map((sp) => [sp.source.name, new Map<string, RawEvent[]>()]));
  let skipped = 0;

  rows.forEach((row, i) => {
    if (row === null || typeof row !== 'object' || Array.isArray(row)) { problem(i, `expected an object of column values, got ${JSON.stringify(row)}`); return; }
    const r = row as Record<string, unknown>;
    if (opts.extraColumns !== 'ignore') {
      for (const c in r) {
        if (known.has(c)) continue;
        const h = didYouMean(c, known);
        problem(i, `unknown column '${c}'${h ? `; did you mean '${h}'?` : ''} (the target reads: ${[...known].join(', ')}); drop it, declare it in the source, or pass extraColumns: 'ignore' (--ignore-extra-columns)`);
      }
    }
    const values: Record<string, Scalar> = {};
    const own: Record<string, Scalar> | null = single === null ? null : {};
    let bad = false;
    for (let j = 0; j < columns.length; j++) {
      const c = columns[j]!;
      const v = r[c];
      const into = where[j] === 1 ? own! : where[j] === 0 ? values : null;
      if (v === undefined || v === null) { if (into) into[c] = null; continue; }
      const check = checks[j]!;
      const ok = check.value(v);
      if (ok !== undefined) {
        if (into) into[c] = ok;
        if (check === TIME && typeof v === 'string') utcTexts++;
        continue;
      }
      bad = true;
      const res = check.why(v);
      if (res.offset) offsets.set(res.offset, (offsets.get(res.offset) ?? 0) + 1);
      problem(i, check === KEY ? `column '${c}' = ${res.problem}` : `column '${c}': ${res.problem}${res.offset ? '; kiln reads every time as UTC: convert it to UTC (e.g. 2024-01-01T08:00:00Z)' : ''}`);
    }
    if (bad) return;
    let counted = false;
    for (const sp of sources) {
      const src = sp.source;
      if (!(src.key in r)) { bad = true; problem(i, `missing column '${src.key}' (source '${src.name}' needs its entity key)`); }
      if (!(src.timestamp in r)) { bad = true; problem(i, `missing column '${src.timestamp}' (source '${src.name}' needs its event time)`); }
      const ek = eventKeys.get(src.name);
      if (ek !== undefined && (values[ek] ?? own?.[ek] ?? null) === null) {
        bad = true;
        problem(i, `${ek in r ? 'NULL' : 'missing'} event key '${ek}' (table '${src.table}' declares it as its key, and source '${src.name}' deduplicates pushed events by it); give every event its key`);
      }
      if (bad) continue;
      const key = values[src.key] ?? own?.[src.key] ?? null;
      const ts = values[src.timestamp] ?? own?.[src.timestamp] ?? null;
      if (key === null || ts === null) continue; // as offline: a row without key or time never counts
      const av = src.availableAt === null ? null : (values[src.availableAt] ?? own?.[src.availableAt] ?? null) as number | null;
      let v = own;
      if (v === null) { v = {}; for (const c of sp.columns) v[c] = values[c] ?? null; }
      const ev = makeEvent(ts as number, av, v, ek === undefined ? undefined : eventUid((values[ek] ?? own?.[ek]) as string | number));
      const byEntity = bySource.get(src.name)!;
      const k = String(key);
      const list = byEntity.get(k);
      if (list) list.push(ev); else byEntity.set(k, [ev]);
      counted = true;
    }
    if (!counted && !bad) skipped++;
  });

  if (count) {
    const mixed = offsets.size > 1 || (offsets.size > 0 && utcTexts > 0)
      ? ` Mixed time zones: ${[...offsets].map(([o, n]) => `${n} time(s) at ${o}`).join(', ')}${utcTexts ? ` and ${utcTexts} in UTC` : ''}; kiln needs every time in UTC.` : '';
    throw new KilnError('EVENTS_INVALID', `${count} problem${count > 1 ? 's' : ''} in pushed events (nothing was written):${mixed}\n${problems.map((p) => `  - ${p}`).join('\n')}${count > problems.length ? `\n  ... and ${count - problems.length} more` : ''}`,
      { details: { problems, count, offsets: Object.fromEntries(offsets) } });
  }
  return { bySource, skipped };
}

function sourceTypeOf(sources: readonly SourcePlan[], column: string): SourceColumnType | null {
  for (const sp of sources) {
    const t = sp.source.columns[column];
    if (t) return t;
  }
  return null;
}

function keyValue(v: unknown): Scalar | undefined {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (typeof v === 'bigint') return v.toString();
  return undefined;
}

