/**
 * The consumer: batches of stream entries (from whichever broker: source.ts) into both stores, acked only
 * once both hold them. Delivery is at least once (a consumer killed mid-batch leaves its entries pending;
 * Redis: they are read again on restart, or claimed by another consumer once idle; NATS: they are delivered
 * again after the ack wait), and both writes skip events whose key is stored, so every event counts once. An abort (SIGTERM) finishes and acks the batch in hand, then returns.
 */
import { hostname } from 'node:os';
import { openOnlineStore, type OnlineFeatureStore } from '../online/index.js';
import type { Project } from '../store/index.js';
import { parseEntries } from './events.js';
import { streamSettings, type StreamSettings } from './settings.js';
import { openReader, type SourceReader, type StreamEntry } from './source.js';
import { appendOffline, pushOnline, recordDeadLetters } from './stores.js';

export interface ConsumeOptions {
  /** The consumer's name in the Redis group. Default the host name: a restarted consumer reads its own pending entries first. (NATS: unused; consumers share the durable.) */
  readonly consumer?: string;
  /** Stops (after finishing and acking the batch in hand) once aborted. */
  readonly signal?: AbortSignal;
  /** Stops after this many batches. */
  readonly maxBatches?: number;
  /** Stops once no entry has arrived for this long (ms): consume what is there, then return. */
  readonly idleExitMs?: number;
  /** An open online store to push to (else the project's, opened and closed here). */
  readonly online?: OnlineFeatureStore;
  /** After each batch, with its figures and the running totals. */
  readonly onBatch?: (batch: BatchReport, totals: ConsumeTotals) => void;
}

export interface BatchReport {
  readonly entries: number;
  readonly onlineWritten: number;
  readonly onlineDuplicates: number;
  readonly appended: number;
  readonly offlineDuplicates: number;
  readonly deadLetters: number;
  /** Entries acked (every entry of the batch). */
  readonly acked: number;
  /** The newest event time of the batch (epoch ms), when the table has a timestamp. */
  readonly lastEventMs: number | null;
  readonly seconds: number;
}

export interface ConsumeTotals {
  readonly batches: number;
  readonly entries: number;
  readonly onlineWritten: number;
  readonly appended: number;
  readonly duplicates: number;
  readonly deadLetters: number;
  readonly seconds: number;
  /** Why the consumer returned: 'signal', 'max-batches' or 'idle'. */
  readonly stopped: 'signal' | 'max-batches' | 'idle' | null;
}

/**
 * Consumes stream `name` (declared in the config's `streams`) until aborted, `maxBatches`, or `idleExitMs`.
 * @example await consumeStream(project, 'txns', { signal: interrupt.signal });
 */
export async function consumeStream(project: Project, name: string, opts: ConsumeOptions = {}): Promise<ConsumeTotals> {
  const s = streamSettings(project, name);
  const started = performance.now();
  const reader = await openReader(s, opts.consumer ?? hostname());
  let online: OnlineFeatureStore | null = null;
  let t: ConsumeTotals = { batches: 0, entries: 0, onlineWritten: 0, appended: 0, duplicates: 0, deadLetters: 0, seconds: 0, stopped: null };
  try {
    await reader.prepare();
    if (s.online) online = opts.online ?? (await openOnlineStore(project));
    let lastEntry = Date.now();
    for (;;) {
      if (opts.signal?.aborted) { t = { ...t, stopped: 'signal' }; break; }
      if (opts.maxBatches !== undefined && t.batches >= opts.maxBatches) { t = { ...t, stopped: 'max-batches' }; break; }
      const entries = await collect(reader, s, opts.signal);
      if (entries.length === 0) {
        if (opts.idleExitMs !== undefined && Date.now() - lastEntry >= opts.idleExitMs) { t = { ...t, stopped: 'idle' }; break; }
        continue;
      }
      lastEntry = Date.now();
      const b = await processBatch(project, reader, s, online, entries);
      t = {
        ...t, batches: t.batches + 1, entries: t.entries + b.entries, onlineWritten: t.onlineWritten + b.onlineWritten, appended: t.appended + b.appended,
        duplicates: t.duplicates + Math.max(b.onlineDuplicates, b.offlineDuplicates), deadLetters: t.deadLetters + b.deadLetters, seconds: (performance.now() - started) / 1000,
      };
      opts.onBatch?.(b, t);
    }
  } finally {
    if (online && !opts.online) await online.close();
    project.releaseOffline();
    await reader.close();
  }
  return { ...t, seconds: (performance.now() - started) / 1000 };
}

/** How long a batch in hand waits for more entries before it is written (ms): a lone event is not held for `maxMs`. */
const FOLLOW_UP_MS = 20;

/**
 * Up to `maxEvents` entries: waits (up to a second, so an abort is seen) for the first, then takes what keeps
 * arriving until the stream is drained for `FOLLOW_UP_MS`, `maxEvents`, or `maxMs` after the first.
 */
async function collect(reader: SourceReader, s: StreamSettings, signal: AbortSignal | undefined): Promise<StreamEntry[]> {
  const out: StreamEntry[] = [];
  let first = 0;
  while (out.length < s.maxEvents && !signal?.aborted) {
    const left = out.length ? s.maxMs - (Date.now() - first) : Math.min(s.maxMs, 1000);
    if (out.length && left <= 0) break;
    const got = await reader.read(s.maxEvents - out.length, Math.max(1, Math.min(left, out.length ? FOLLOW_UP_MS : 1000)));
    if (got.length === 0) break;
    if (out.length === 0) first = Date.now();
    out.push(...got);
  }
  return out;
}

async function processBatch(project: Project, reader: SourceReader, s: StreamSettings, online: OnlineFeatureStore | null, entries: readonly StreamEntry[]): Promise<BatchReport> {
  const t0 = performance.now();
  const parsed = parseEntries(entries, s, project.config.tables[s.table]);
  const on = online ? await pushOnline(online, s, parsed.events) : { written: 0, duplicates: 0, refused: [], kept: parsed.events };
  const dead = [...parsed.dead, ...on.refused];
  let off;
  try {
    off = await appendOffline(project, s, on.kept);
    await recordDeadLetters(project, s, dead);
  } finally {
    project.releaseOffline();
  }
  const acked = await reader.ack(entries.map((e) => e.id), new Set(dead.map((d) => d.id)));
  let lastUs: number | null = null;
  for (const e of on.kept) if (e.timeUs !== null && (lastUs === null || e.timeUs > lastUs)) lastUs = e.timeUs;
  const lastEventMs = lastUs === null ? null : Math.floor(lastUs / 1000);
  await reader.recordProgress({ entries: entries.length, events: on.kept.length, deadLetters: dead.length, lastEventMs, lastEntryId: entries[entries.length - 1]!.id });
  return {
    entries: entries.length, onlineWritten: on.written, onlineDuplicates: on.duplicates + parsed.repeats.length, appended: off.appended,
    offlineDuplicates: off.duplicates + parsed.repeats.length, deadLetters: dead.length, acked, lastEventMs, seconds: (performance.now() - t0) / 1000,
  };
}
