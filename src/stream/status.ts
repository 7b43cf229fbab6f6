/**
 * Where each stream stands: the group's position at the broker (length, lag, pending, consumers; Redis:
 * XINFO, NATS: the consumer info), what the consumer recorded (newest event time, last batch, dead letters),
 * and Prometheus gauges of the same.
 */
import { Gauge, Registry } from 'prom-client';
import type { Project } from '../store/index.js';
import { streamNames, streamSettings, type StreamSettings } from './settings.js';
import { connectSource, sourceKey, type GroupPosition, type Progress, type SourceClient } from './source.js';
import { readDeadLetters, type DeadLetterRow } from './stores.js';

export interface StreamStatus extends GroupPosition {
  readonly name: string;
  /** Where the events come from: 'redis' (a Redis stream) or 'nats' (a JetStream stream). */
  readonly source: 'redis' | 'nats';
  /** The Redis stream's key, or the JetStream stream's name. */
  readonly stream: string;
  /** The consumer group (Redis), or the durable consumer (NATS). */
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

const isoOrNull = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

/**
 * The status of stream `name`, or of every declared stream.
 * @example const [txns] = await streamStatus(project, 'txns'); txns.lag; txns.pending;
 */
export async function streamStatus(project: Project, name?: string, opts: { deadLetters?: boolean; limit?: number } = {}): Promise<StreamStatus[]> {
  const names = name === undefined ? streamNames(project) : [name];
  const settings = names.map((n) => streamSettings(project, n));
  const clients = new Map<string, SourceClient>();
  try {
    const out: StreamStatus[] = [];
    for (const s of settings) {
      let client = clients.get(sourceKey(s));
      if (!client) { client = await connectSource(s); clients.set(sourceKey(s), client); }
      const pos = await client.position(s);
      const p = await client.progress(s);
      const dl = opts.deadLetters === false ? { count: p.deadLetters, rows: [] } : await readDeadLetters(project, s.name, opts.limit ?? 5);
      out.push({
        name: s.name, source: s.source, stream: s.stream, group: s.group, table: s.table, ...pos,
        lastEventTime: isoOrNull(p.lastEventMs), lastBatchAt: isoOrNull(p.lastBatchMs), events: p.events, deadLetters: dl.count, recentDeadLetters: dl.rows,
      });
    }
    return out;
  } finally {
    project.releaseOffline();
    for (const c of clients.values()) await c.close();
  }
}

export interface StreamMetrics {
  readonly registry: Registry;
  /** Closes the broker connections the gauges read through. */
  close(): Promise<void>;
}

/**
 * Prometheus gauges of every declared stream, read from its broker (Redis, NATS) when scraped: `kiln_stream_length`,
 * `kiln_stream_lag` (entries not yet delivered to the group; NATS num_pending), `kiln_stream_pending` (delivered, not acked),
 * `kiln_stream_consumers`, `kiln_stream_last_event_timestamp_seconds` and `kiln_stream_dead_letters`, each
 * labelled `stream`. Registered in `registry` (a server's own) or a new one.
 * @example const m = streamMetrics(project, { registry: server.metrics.registry }); ... await m.close();
 */
export function streamMetrics(project: Project, opts: { registry?: Registry } = {}): StreamMetrics {
  const registry = opts.registry ?? new Registry();
  const settings = streamNames(project).map((n) => streamSettings(project, n));
  const clients = new Map<string, Promise<SourceClient>>();
  const clientOf = (s: StreamSettings): Promise<SourceClient> => {
    const key = sourceKey(s);
    let c = clients.get(key);
    if (!c) { c = connectSource(s); c.catch(() => clients.delete(key)); clients.set(key, c); }
    return c;
  };
  type Snap = { s: StreamSettings; pos: GroupPosition; p: Progress };
  let snap: Promise<Snap[]> | null = null;
  // One read of the brokers per scrape, shared by the gauges.
  const read = (): Promise<Snap[]> => {
    snap ??= (async () => {
      const out: Snap[] = [];
      for (const s of settings) {
        try {
          const c = await clientOf(s);
          out.push({ s, pos: await c.position(s), p: await c.progress(s) });
        } catch {
          // an unreachable broker leaves that stream's gauges empty for this scrape
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
  gauge('kiln_stream_length', 'Entries in the stream (Redis XLEN; NATS the stream\'s messages)', (x) => x.pos.length);
  gauge('kiln_stream_lag', 'Entries added to the stream and not yet delivered to the consumer group', (x) => x.pos.lag);
  gauge('kiln_stream_pending', 'Entries delivered to a consumer and not yet acked', (x) => x.pos.pending);
  gauge('kiln_stream_consumers', 'Consumers in the group', (x) => x.pos.consumers);
  gauge('kiln_stream_last_event_timestamp_seconds', 'Event time of the newest event consumed', (x) => (x.p.lastEventMs === null ? null : x.p.lastEventMs / 1000));
  gauge('kiln_stream_dead_letters', 'Entries recorded as dead letters', (x) => x.p.deadLetters);
  return {
    registry,
    close: async () => {
      for (const c of clients.values()) { const r = await c.catch(() => null); if (r) await r.close(); }
      clients.clear();
    },
  };
}
