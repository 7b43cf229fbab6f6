/**
 * Idempotent pushes. A source whose table declares a key (`tables.<t>.key` in the config, or the
 * `eventKeys` option) has its events deduplicated by it: a re-pushed event whose key the series has stored
 * is skipped and counted as a duplicate when its content (event time, availability, the values the served
 * features read: `eventDigest`) is the same, and refused, naming the key and line, when it differs. Keys
 * are stored with the series and never pruned, so this holds across push calls, processes and restarts.
 * `pushAll` pushes batches with progress, and stops between batches on an AbortSignal, saying what it wrote.
 */
import { KilnError, isKilnError } from '../core/errors.js';
import { eventDigest, eventKeyOf, isKeyed } from './events.js';
import type { OnlinePlan } from './engine/plan.js';
import type { EventKeys, OnlineStore, RawEvent } from './types.js';

/** A re-pushed event key whose content differs from the stored event's. */
export interface KeyConflict {
  readonly source: string;
  readonly entity: string;
  readonly key: string;
}

export interface Deduped {
  /** The events to write, by entity (entities left with none are dropped). */
  readonly fresh: Map<string, RawEvent[]>;
  /** The fresh events' digests, by entity, in order (written with their keys). */
  readonly digests: Map<string, number[]>;
  readonly duplicates: number;
  readonly conflicts: KeyConflict[];
}

const idOf = (ev: RawEvent): string => ev.id;

/** Splits one keyed source's events into new ones, duplicates (stored before, or earlier in this push) and conflicts. */
export async function dedupeEvents(backend: OnlineStore, source: string, byEntity: ReadonlyMap<string, RawEvent[]>): Promise<Deduped> {
  const entities = [...byEntity.keys()];
  const stored = await backend.eventKeys(entities.map((entity) => ({ key: { source, entity }, keys: byEntity.get(entity)!.map(idOf) })));
  const fresh = new Map<string, RawEvent[]>();
  const digests = new Map<string, number[]>();
  const conflicts: KeyConflict[] = [];
  let duplicates = 0;
  entities.forEach((entity, j) => {
    const seen = stored[j]!;
    const events = byEntity.get(entity)!;
    // Keys repeated within this push: a scan of the few events before for a short list, a map for a long one.
    const all = new Array<number>(events.length);
    const here = events.length > 16 ? new Map<string, number>() : null;
    let kept: RawEvent[] | null = null;
    const ds: number[] = [];
    for (let i = 0; i < events.length; i++) {
      const ev = events[i]!;
      const k = ev.id; // keys are kept as event ids (`eventUid`)
      const d = eventDigest(ev);
      all[i] = d;
      let prior = seen.size ? seen.get(k) : undefined;
      if (prior === undefined && i > 0) {
        if (here) prior = here.get(k);
        else for (let j = 0; j < i; j++) if (events[j]!.id === k) { prior = all[j]; break; }
      }
      if (prior === undefined) {
        here?.set(k, d);
        if (kept) kept.push(ev);
        ds.push(d);
        continue;
      }
      kept ??= events.slice(0, i);
      if (prior === d) duplicates++;
      else conflicts.push({ source, entity, key: eventKeyOf(k) });
    }
    const out = kept ?? events;
    if (out.length) { fresh.set(entity, out); digests.set(entity, ds); }
  });
  return { fresh, digests, duplicates, conflicts };
}

/**
 * Drops from `bySource` (in place) the events of keyed sources already stored or repeated in this push;
 * returns how many, and the digests of the events kept. Throws, before anything is written, when a key comes back with different content.
 */
export async function dedupeSources(
  backend: OnlineStore, plan: OnlinePlan, keyed: ReadonlyMap<string, string>, bySource: Map<string, Map<string, RawEvent[]>>, rows: readonly unknown[], label?: (i: number) => string,
): Promise<{ duplicates: number; digests: Map<string, Map<string, number[]>> }> {
  let duplicates = 0;
  const conflicts: KeyConflict[] = [];
  const digests = new Map<string, Map<string, number[]>>();
  for (const [name, byEntity] of bySource) {
    if (!keyed.has(name)) continue;
    const d = await dedupeEvents(backend, name, byEntity);
    duplicates += d.duplicates;
    conflicts.push(...d.conflicts);
    bySource.set(name, d.fresh);
    digests.set(name, d.digests);
  }
  if (conflicts.length) throw conflictError(plan, conflicts, (src) => keyed.get(src)!, rows, label ?? ((i) => `event ${i}`));
  return { duplicates, digests };
}

/** The event keys (ids) of a series' keyed events with their digests (given, or computed). */
export function keysOf(events: readonly RawEvent[], digests: readonly number[] | undefined): EventKeys {
  if (digests?.length === events.length) return { keys: events.map(idOf), digests };
  const keys: string[] = [];
  const ds: number[] = [];
  for (let i = 0; i < events.length; i++) { const ev = events[i]!; if (isKeyed(ev.id)) { keys.push(ev.id); ds.push(eventDigest(ev)); } }
  return { keys, digests: ds };
}

/** The error for conflicting keys: each names the key, entity, source and (when found) the record; nothing was written. */
export function conflictError(plan: OnlinePlan, conflicts: readonly KeyConflict[], keyColumn: (source: string) => string, rows: readonly unknown[], label: (i: number) => string): KilnError {
  const listed = conflicts.slice(0, 20).map((c) => {
    const col = keyColumn(c.source);
    const entityCol = plan.sources.get(c.source)!.source.key;
    // the last record with the key: a key repeated within the push conflicts at its later record
    let at = -1;
    for (let i = rows.length - 1; i >= 0 && at < 0; i--) {
      const r = rows[i] as Record<string, unknown> | null;
      if (r !== null && typeof r === 'object' && String(r[col]) === c.key && String(r[entityCol]) === c.entity) at = i;
    }
    return `${at >= 0 ? `${label(at)}: ` : ''}${col} = ${JSON.stringify(c.key)} (entity ${c.entity}, source '${c.source}')`;
  });
  const more = conflicts.length > listed.length ? `\n  ... and ${conflicts.length - listed.length} more` : '';
  return new KilnError('EVENT_KEY_CONFLICT',
    `${conflicts.length} pushed event${conflicts.length > 1 ? 's reuse event keys' : ' reuses an event key'} of stored events with different content (event time, availability or values); nothing of this push was written:\n${listed.map((l) => `  - ${l}`).join('\n')}${more}\n`
    + 'An event key names one event: give a corrected event a new key, or, to replace stored events, correct them in the offline store and run kiln online materialize.',
    { details: { conflicts } });
}

/** One batch of `pushAll`: rows, and how to name record i in messages (e.g. its file line). */
export interface PushBatch {
  readonly rows: readonly unknown[];
  readonly label?: (i: number) => string;
}

export interface PushAllOptions {
  readonly extraColumns?: 'error' | 'ignore';
  /** Checked between batches: once aborted, the push flushes what it wrote and throws INTERRUPTED. */
  readonly signal?: AbortSignal;
  /** After each batch, with the running totals. */
  readonly onBatch?: (totals: PushTotals) => void;
}

export interface PushTotals {
  readonly batches: number;
  readonly rows: number;
  /** Events written (an event feeding two sources of one table counts twice). */
  readonly events: number;
  /** Events skipped as already stored (same event key, same content). */
  readonly duplicates: number;
  /** Rows that count for no target source (NULL key or time). */
  readonly skipped: number;
  /** Whether every target source has an event key (then re-running a push is safe). */
  readonly keyed: boolean;
  readonly seconds: number;
}

/** What `pushAll` needs of the engine (the engine's own `push` and `flush`). */
export interface Pushable {
  push(target: unknown, rows: readonly unknown[], opts: { extraColumns?: 'error' | 'ignore'; label?: (i: number) => string }): Promise<{ events: number; duplicates: number; skipped: number }>;
  flush(): Promise<void>;
}

/** Pushes batches in order; between batches it honours the signal. Failures and interruptions say what was written. */
export async function pushAll(online: Pushable, target: unknown, keyed: boolean, batches: AsyncIterable<PushBatch> | Iterable<PushBatch>, opts: PushAllOptions = {}): Promise<PushTotals> {
  const started = performance.now();
  let t = { batches: 0, rows: 0, events: 0, duplicates: 0, skipped: 0, keyed, seconds: 0 };
  let last: string | null = null;
  const stopped = (): KilnError => new KilnError('INTERRUPTED', `push interrupted after ${t.batches} batch${t.batches === 1 ? '' : 'es'}: ${written(t, last)}`, { details: { ...t } });
  try {
    for await (const b of batches) {
      if (opts.signal?.aborted) throw stopped();
      const s = await online.push(target, b.rows, { ...(opts.extraColumns ? { extraColumns: opts.extraColumns } : {}), ...(b.label ? { label: b.label } : {}) });
      t = { ...t, batches: t.batches + 1, rows: t.rows + b.rows.length, events: t.events + s.events, duplicates: t.duplicates + s.duplicates, skipped: t.skipped + s.skipped, seconds: (performance.now() - started) / 1000 };
      if (b.rows.length) last = (b.label ?? ((i: number) => `event ${t.rows - b.rows.length + i}`))(b.rows.length - 1);
      opts.onBatch?.(t);
      if (opts.signal?.aborted) throw stopped();
    }
    await online.flush();
  } catch (e) {
    await online.flush().catch(() => undefined);
    if (isKilnError(e, 'INTERRUPTED') || t.batches === 0) throw e;
    const base = isKilnError(e) ? e : null;
    throw new KilnError(base?.code ?? 'INTERNAL', `${(e as Error).message}\n(before this, ${written(t, last)})`, { cause: e, details: { ...(typeof base?.details === 'object' ? base.details : {}), written: { ...t } } });
  }
  return { ...t, seconds: (performance.now() - started) / 1000 };
}

function written(t: PushTotals, last: string | null): string {
  const what = `${t.events} events were written${t.duplicates ? ` and ${t.duplicates} duplicates skipped` : ''}, from ${t.rows} records${last ? ` (through ${last})` : ''}`;
  return t.keyed
    ? `${what}. Re-running the same push is safe: events whose key is stored are skipped as duplicates.`
    : `${what}. The target has no event key, so re-running the same push would count those events twice: push only the records after them (or declare the table's key in the config, tables.<table>.key, to make pushes idempotent).`;
}
