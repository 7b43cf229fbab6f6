/**
 * Writing a batch into both stores, idempotently by the table's key. Online: `OnlineFeatureStore.push`,
 * which skips events whose key it has stored (same content) and refuses a key reused with other content
 * (that event becomes a dead letter). Offline: kiln's ingest (the path of `kiln ingest`), after dropping
 * the events whose key the table already holds, so a redelivered batch appends nothing twice.
 * Dead letters go to the offline store's `__kiln_stream_dead_letters`, one row per entry id.
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isKilnError } from '../core/errors.js';
import type { OnlineFeatureStore } from '../online/index.js';
import { ingest, quoteIdent, quoteLiteral, type Project } from '../store/index.js';
import type { DeadLetter, StreamEvent } from './events.js';
import type { StreamSettings } from './settings.js';

export const DEAD_LETTERS_TABLE = '__kiln_stream_dead_letters';

export interface OnlineResult {
  readonly written: number;
  readonly duplicates: number;
  /** Events the online store refused (validation, a key stored with other content): dead letters. */
  readonly refused: DeadLetter[];
  readonly kept: StreamEvent[];
}

const deadOf = (e: StreamEvent, reason: string): DeadLetter => ({ id: e.id, reason, payload: JSON.stringify(e.row) });
const firstLine = (m: string): string => m.replace(/\s*\n\s*/g, ' ').trim();

/**
 * Pushes the events to the online store, then flushes it. A batch the store refuses is pushed event by
 * event, so that only the events at fault become dead letters.
 */
export async function pushOnline(online: OnlineFeatureStore, s: StreamSettings, events: readonly StreamEvent[]): Promise<OnlineResult> {
  if (events.length === 0) return { written: 0, duplicates: 0, refused: [], kept: [] };
  const target = { table: s.table };
  const label = (i: number): string => `entry ${events[i]?.id ?? i}`;
  try {
    const r = await online.push(target, events.map((e) => e.row), { extraColumns: 'ignore', label });
    await online.flush();
    return { written: r.events, duplicates: r.duplicates, refused: [], kept: [...events] };
  } catch (e) {
    if (!isKilnError(e, 'EVENTS_INVALID') && !isKilnError(e, 'EVENT_KEY_CONFLICT')) throw e;
  }
  let written = 0;
  let duplicates = 0;
  const refused: DeadLetter[] = [];
  const kept: StreamEvent[] = [];
  for (const ev of events) {
    try {
      const r = await online.push(target, [ev.row], { extraColumns: 'ignore', label: () => `entry ${ev.id}` });
      written += r.events;
      duplicates += r.duplicates;
      kept.push(ev);
    } catch (e) {
      if (!isKilnError(e, 'EVENTS_INVALID') && !isKilnError(e, 'EVENT_KEY_CONFLICT')) throw e;
      refused.push(deadOf(ev, `online store refused it: ${firstLine((e as Error).message)}`));
    }
  }
  await online.flush();
  return { written, duplicates, refused, kept };
}

export interface OfflineResult {
  readonly appended: number;
  /** Events whose key the table held already (a redelivery). */
  readonly duplicates: number;
}

/** Appends the events the table does not hold yet (by key) through kiln's ingest, all or nothing. */
export async function appendOffline(project: Project, s: StreamSettings, events: readonly StreamEvent[]): Promise<OfflineResult> {
  if (events.length === 0) return { appended: 0, duplicates: 0 };
  const store = project.offline;
  let fresh = events;
  if (await store.tableExists(s.table)) {
    const k = `CAST(${quoteIdent(s.key)} AS VARCHAR)`;
    const held = new Set<string>();
    for (let i = 0; i < events.length; i += 1000) {
      const keys = events.slice(i, i + 1000).map((e) => quoteLiteral(e.key)).join(', ');
      const rows = await store.all<{ k: string }>(`SELECT ${k} AS k FROM ${quoteIdent(s.table)} WHERE ${k} IN (${keys})`);
      for (const r of rows) held.add(r.k);
    }
    fresh = events.filter((e) => !held.has(e.key));
  }
  if (fresh.length === 0) return { appended: 0, duplicates: events.length };
  const dir = join(project.paths.dataDir, 'stream');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${s.name}-${process.pid}-${randomUUID()}.ndjson`);
  writeFileSync(file, `${fresh.map((e) => JSON.stringify(e.row)).join('\n')}\n`);
  try {
    const r = await ingest(project, { table: s.table, inputs: [file], format: 'ndjson', mode: 'append', force: true, progress: false });
    return { appended: r.rowsAdded, duplicates: events.length - fresh.length };
  } finally {
    rmSync(file, { force: true });
  }
}

/** Records dead letters (once per entry id: a redelivered dead letter is not recorded twice). */
export async function recordDeadLetters(project: Project, s: StreamSettings, dead: readonly DeadLetter[]): Promise<void> {
  if (dead.length === 0) return;
  const store = project.offline;
  await store.run(`CREATE TABLE IF NOT EXISTS ${DEAD_LETTERS_TABLE} (stream VARCHAR, entry_id VARCHAR, table_name VARCHAR, reason VARCHAR, payload VARCHAR, received_at TIMESTAMP, PRIMARY KEY (stream, entry_id))`);
  const values = dead.map((d) => `(${quoteLiteral(s.name)}, ${quoteLiteral(d.id)}, ${quoteLiteral(s.table)}, ${quoteLiteral(d.reason)}, ${quoteLiteral(d.payload)}, now()::TIMESTAMP)`);
  await store.run(`INSERT OR IGNORE INTO ${DEAD_LETTERS_TABLE} VALUES ${values.join(', ')}`);
}

export interface DeadLetterRow {
  readonly entryId: string;
  readonly reason: string;
  readonly payload: string;
  readonly receivedAt: string;
}

/** The stream's dead letters, newest first (up to `limit`), and how many there are. */
export async function readDeadLetters(project: Project, stream: string, limit = 20): Promise<{ count: number; rows: DeadLetterRow[] }> {
  const store = project.offline;
  if (!(await store.tableExists(DEAD_LETTERS_TABLE))) return { count: 0, rows: [] };
  const n = await store.all<{ n: number | bigint }>(`SELECT count(*)::BIGINT AS n FROM ${DEAD_LETTERS_TABLE} WHERE stream = ${quoteLiteral(stream)}`);
  const rows = await store.all<{ entry_id: string; reason: string; payload: string; received_at: unknown }>(
    `SELECT entry_id, reason, payload, strftime(received_at, '%Y-%m-%dT%H:%M:%S.%fZ') AS received_at FROM ${DEAD_LETTERS_TABLE} WHERE stream = ${quoteLiteral(stream)} ORDER BY received_at DESC, entry_id DESC LIMIT ${Math.max(0, Math.floor(limit))}`);
  return { count: Number(n[0]!.n), rows: rows.map((r) => ({ entryId: r.entry_id, reason: r.reason, payload: r.payload, receivedAt: String(r.received_at) })) };
}
