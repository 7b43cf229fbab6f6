/** A declared stream with every default filled in, checked against the project's tables. */
import { KilnError } from '../core/errors.js';
import { didYouMean } from '../core/errors.js';
import type { Project } from '../store/index.js';

export const DEFAULT_GROUP = 'kiln';
export const DEFAULT_FIELD = 'data';
export const DEFAULT_MAX_EVENTS = 500;
export const DEFAULT_MAX_MS = 1000;
export const DEFAULT_CLAIM_IDLE_MS = 30_000;

export interface StreamSettings {
  readonly name: string;
  readonly url: string;
  readonly stream: string;
  readonly group: string;
  readonly field: string;
  readonly start: '0' | '$';
  readonly table: string;
  /** The table's declared key: events are deduplicated by it in both stores. */
  readonly key: string;
  /** The table's declared event-time column, when it declares one. */
  readonly timestamp: string | undefined;
  readonly maxEvents: number;
  readonly maxMs: number;
  readonly claimIdleMs: number;
  readonly online: boolean;
  /** Where kiln keeps the stream's progress in Redis (last event time, counts). */
  readonly stateKey: string;
}

/** The names of the declared streams. */
export function streamNames(project: Project): string[] {
  return Object.keys(project.config.streams ?? {}).sort();
}

/**
 * The settings of stream `name`: the config's `streams.<name>`, then $KILN_REDIS_URL, the online section's
 * Redis URL and the defaults. Its table must declare a key (`tables.<table>.key`): that is what makes
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
  return {
    name,
    url: spec.redis.url ?? (env.KILN_REDIS_URL || undefined) ?? project.config.online?.redisUrl ?? 'redis://127.0.0.1:6379',
    stream: spec.redis.stream,
    group: spec.redis.group ?? DEFAULT_GROUP,
    field: spec.redis.field ?? DEFAULT_FIELD,
    start: spec.redis.start ?? '0',
    table: spec.table,
    key: table.key,
    timestamp: table.timestamp,
    maxEvents: spec.batch?.maxEvents ?? DEFAULT_MAX_EVENTS,
    maxMs: spec.batch?.maxMs ?? DEFAULT_MAX_MS,
    claimIdleMs: spec.claimIdleMs ?? DEFAULT_CLAIM_IDLE_MS,
    online: spec.online ?? true,
    stateKey: `kiln:${project.config.name}:stream:${name}`,
  };
}
