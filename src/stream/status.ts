/**
 * Where each stream stands: the group's position in Redis (length, lag, pending, consumers), what the
 * consumer recorded (newest event time, last batch, dead letters), and Prometheus gauges of the same.
 */
import type { Redis } from 'ioredis';
import { Gauge, Registry } from 'prom-client';
import type { Project } from '../store/index.js';
import { connectRedis, groupPosition, type GroupPosition } from './redis.js';
import { streamNames, streamSettings, type StreamSettings } from './settings.js';
import { readDeadLetters, type DeadLetterRow } from './stores.js';

export interface StreamStatus extends GroupPosition {
  readonly name: string;
  readonly stream: string;
  readonly group: string;
  readonly table: string;
  /** The newest event time consumed (ISO, UTC), null before the first batch or without a timestamp column. */
  readonly lastEventTime: string | null;
  readonly lastBatchAt: string | null;
  /** Events stored by the consumer (a redelivered one counts each time it was processed). */
  readonly events: number;
  readonly deadLetters: number;
  /** The newest dead letters with their reasons (read from the offline store; omitted with `deadLetters: false`). */
  readonly recentDeadLetters: DeadLetterRow[];
}

interface Progress { lastEventMs: number | null; lastBatchMs: number | null; events: number; deadLetters: number }

async function progressOf(client: Redis, s: StreamSettings): Promise<Progress> {
  const h = await client.hgetall(s.stateKey);
  const num = (v: string | undefined): number | null => (v === undefined ? null : Number(v));
  return { lastEventMs: num(h.lastEventMs), lastBatchMs: num(h.lastBatchMs), events: num(h.events) ?? 0, deadLetters: num(h.deadLetters) ?? 0 };
}

const isoOrNull = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

/**
 * The status of stream `name`, or of every declared stream.
 * @example const [txns] = await streamStatus(project, 'txns'); txns.lag; txns.pending;
 */
export async function streamStatus(project: Project, name?: string, opts: { deadLetters?: boolean; limit?: number } = {}): Promise<StreamStatus[]> {
  const names = name === undefined ? streamNames(project) : [name];
  const settings = names.map((n) => streamSettings(project, n));
  const clients = new Map<string, Redis>();
  try {
    const out: StreamStatus[] = [];
    for (const s of settings) {
      let client = clients.get(s.url);
      if (!client) { client = await connectRedis(s.url, `stream '${s.name}'`); clients.set(s.url, client); }
      const pos = await groupPosition(client, s);
      const p = await progressOf(client, s);
      const dl = opts.deadLetters === false ? { count: p.deadLetters, rows: [] } : await readDeadLetters(project, s.name, opts.limit ?? 5);
      out.push({
        name: s.name, stream: s.stream, group: s.group, table: s.table, ...pos,
        lag: pos.exists ? pos.lag : s.start === '0' ? pos.length : 0,
        lastEventTime: isoOrNull(p.lastEventMs), lastBatchAt: isoOrNull(p.lastBatchMs), events: p.events, deadLetters: dl.count, recentDeadLetters: dl.rows,
      });
    }
    return out;
  } finally {
    project.releaseOffline();
    for (const c of clients.values()) await c.quit().catch(() => c.disconnect());
  }
}

export interface StreamMetrics {
  readonly registry: Registry;
  /** Closes the Redis connections the gauges read through. */
  close(): Promise<void>;
}

/**
 * Prometheus gauges of every declared stream, read from Redis when scraped: `kiln_stream_length`,
 * `kiln_stream_lag` (entries not yet delivered to the group), `kiln_stream_pending` (delivered, not acked),
 * `kiln_stream_consumers`, `kiln_stream_last_event_timestamp_seconds` and `kiln_stream_dead_letters`, each
 * labelled `stream`. Registered in `registry` (a server's own) or a new one.
 * @example const m = streamMetrics(project, { registry: server.metrics.registry }); ... await m.close();
 */
export function streamMetrics(project: Project, opts: { registry?: Registry } = {}): StreamMetrics {
  const registry = opts.registry ?? new Registry();
  const settings = streamNames(project).map((n) => streamSettings(project, n));
  const clients = new Map<string, Promise<Redis>>();
  const clientOf = (s: StreamSettings): Promise<Redis> => {
    let c = clients.get(s.url);
    if (!c) { c = connectRedis(s.url, `stream '${s.name}'`); c.catch(() => clients.delete(s.url)); clients.set(s.url, c); }
    return c;
  };
  type Snap = { s: StreamSettings; pos: GroupPosition; p: Progress };
  let snap: Promise<Snap[]> | null = null;
  // One read of Redis per scrape, shared by the gauges.
  const read = (): Promise<Snap[]> => {
    snap ??= (async () => {
      const out: Snap[] = [];
      for (const s of settings) {
        try {
          const c = await clientOf(s);
          out.push({ s, pos: await groupPosition(c, s), p: await progressOf(c, s) });
        } catch {
          // an unreachable Redis leaves that stream's gauges empty for this scrape
        }
      }
      return out;
    })().finally(() => { setTimeout(() => { snap = null; }, 0); });
    return snap;
  };
  const gauge = (name: string, help: string, value: (x: Snap) => number | null): void => {
    new Gauge({
      name, help, labelNames: ['stream'], registers: [registry],
      async collect() {
        this.reset();
        for (const x of await read()) { const v = value(x); if (v !== null) this.set({ stream: x.s.name }, v); }
      },
    });
  };
  gauge('kiln_stream_length', 'Entries in the stream (XLEN)', (x) => x.pos.length);
  gauge('kiln_stream_lag', 'Entries added to the stream and not yet delivered to the consumer group', (x) => (x.pos.exists ? x.pos.lag : x.s.start === '0' ? x.pos.length : 0));
  gauge('kiln_stream_pending', 'Entries delivered to a consumer and not yet acked', (x) => x.pos.pending);
  gauge('kiln_stream_consumers', 'Consumers in the group', (x) => x.pos.consumers);
  gauge('kiln_stream_last_event_timestamp_seconds', 'Event time of the newest event consumed', (x) => (x.p.lastEventMs === null ? null : x.p.lastEventMs / 1000));
  gauge('kiln_stream_dead_letters', 'Entries recorded as dead letters', (x) => x.p.deadLetters);
  return {
    registry,
    close: async () => {
      for (const c of clients.values()) { const r = await c.catch(() => null); if (r) await r.quit().catch(() => r.disconnect()); }
      clients.clear();
    },
  };
}
