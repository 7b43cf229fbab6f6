/** A declared stream with every default filled in, checked against the project's tables. */
import { KilnError } from '../core/errors.js';
import { didYouMean } from '../core/errors.js';
import type { Project } from '../store/index.js';

export const DEFAULT_GROUP = 'kiln';
export const DEFAULT_FIELD = 'data';
export const DEFAULT_MAX_EVENTS = 500;
export const DEFAULT_MAX_MS = 1000;
export const DEFAULT_CLAIM_IDLE_MS = 30_000;

export const DEFAULT_NATS_URL = 'nats://127.0.0.1:4222';
export const DEFAULT_ACK_WAIT_MS = 30_000;

interface CommonSettings {
  readonly name: string;
  readonly url: string;
  /** The Redis stream's key, or the JetStream stream's name. */
  readonly stream: string;
  /** The consumer group (Redis), or the durable consumer (NATS). */
  readonly group: string;
  readonly table: string;
  /** The table's declared key: events are deduplicated by it in both stores. */
  readonly key: string;
  /** The table's declared event-time column, when it declares one. */
  readonly timestamp: string | undefined;
  readonly maxEvents: number;
  readonly maxMs: number;
  readonly online: boolean;
}

/** A stream read from Redis (a consumer group). */
export interface RedisStreamSettings extends CommonSettings {
  readonly source: 'redis';
  readonly field: string;
  readonly start: '0' | '$';
  readonly claimIdleMs: number;
  /** Where kiln keeps the stream's progress in Redis (last event time, counts). */
  readonly stateKey: string;
}

/** A stream read from NATS JetStream (a durable pull consumer). */
export interface NatsStreamSettings extends CommonSettings {
  readonly source: 'nats';
  /** Only messages on this subject; undefined: every subject of the stream. */
  readonly subject: string | undefined;
  /** The property of the message's JSON object that holds the event; null: the object is the event. */
  readonly field: string | null;
  readonly start: 'all' | 'new';
  readonly ackWaitMs: number;
  /** Where kiln keeps the stream's progress: a JetStream key-value bucket of the project, one key per stream. */
  readonly progressBucket: string;
  readonly progressKey: string;
}

export type StreamSettings = RedisStreamSettings | NatsStreamSettings;

/** Whether a consumer created now starts at the stream's first entry (so everything there is lag). */
export const startsAtFirst = (s: StreamSettings): boolean => (s.source === 'redis' ? s.start === '0' : s.start === 'all');

/** The project's key-value bucket of stream progress: a bucket name holds letters, digits, '_' and '-' only. */
export function progressBucketOf(project: string): string {
  const clean = project.replace(/[^A-Za-z0-9_-]/g, '_');
  if (clean === project) return `kiln_streams_${clean}`;
  let h = 0;
  for (const c of project) h = (h * 31 + c.charCodeAt(0)) >>> 0;
  return `kiln_streams_${clean}_${h.toString(36)}`;
}

/** The names of the declared streams. */
export function streamNames(project: Project): string[] {
  return Object.keys(project.config.streams ?? {}).sort();
}

/**
 * The settings of stream `name`: the config's `streams.<name>`, then (Redis) $KILN_REDIS_URL, the online
 * section's Redis URL, or (NATS) $KILN_NATS_URL, and the defaults. Its table must declare a key (`tables.<table>.key`): that is what makes
 * redelivered events count once.
 */
export function streamSettings(project: Project, name: string, env: NodeJS.ProcessEnv = process.env): StreamSettings {
  const streams = project.config.streams ?? {};
  const spec = Object.hasOwn(streams, name) ? streams[name] : undefined;
  if (!spec) {
    const names = Object.keys(streams);
    const hint = didYouMean(name, names);
    throw new KilnError('STREAM_NOT_FOUND', `no stream '${name}' in the config's streams${hint ? `; did you mean '${hint}'?` : ''} (declared: ${names.join(', ') || 'none'}; see docs/stream.md)`);
  }
  const table = project.config.tables[spec.table];
  if (!table?.key) {
    throw new KilnError('CONFIG_INVALID', `streams.${name}.table: table '${spec.table}' must declare its key (tables.${spec.table}.key) so that an event delivered twice is stored once; declare it in kiln.config.ts`, { path: ['streams', name, 'table'] });
  }
  const common = {
    name,
    table: spec.table,
    key: table.key,
    timestamp: table.timestamp,
    maxEvents: spec.batch?.maxEvents ?? DEFAULT_MAX_EVENTS,
    maxMs: spec.batch?.maxMs ?? DEFAULT_MAX_MS,
    online: spec.online ?? true,
  };
  if (spec.nats) {
    return {
      ...common,
      source: 'nats',
      url: spec.nats.url ?? (env.KILN_NATS_URL || undefined) ?? DEFAULT_NATS_URL,
      stream: spec.nats.stream,
      group: spec.nats.durable ?? DEFAULT_GROUP,
      subject: spec.nats.subject,
      field: spec.nats.field ?? null,
      start: spec.nats.start ?? 'all',
      ackWaitMs: spec.nats.ackWaitMs ?? DEFAULT_ACK_WAIT_MS,
      progressBucket: progressBucketOf(project.config.name),
      progressKey: name,
    };
  }
  if (!spec.redis) {
    throw new KilnError('CONFIG_INVALID', `streams.${name}: declares no source; add redis: { stream: '...' } or nats: { stream: '...' } (see docs/stream.md)`, { path: ['streams', name] });
  }
  return {
    ...common,
    source: 'redis',
    url: spec.redis.url ?? (env.KILN_REDIS_URL || undefined) ?? project.config.online?.redisUrl ?? 'redis://127.0.0.1:6379',
    stream: spec.redis.stream,
    group: spec.redis.group ?? DEFAULT_GROUP,
    field: spec.redis.field ?? DEFAULT_FIELD,
    start: spec.redis.start ?? '0',
    claimIdleMs: spec.claimIdleMs ?? DEFAULT_CLAIM_IDLE_MS,
    stateKey: `kiln:${project.config.name}:stream:${name}`,
  };
}
