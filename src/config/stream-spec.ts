import { z } from 'zod';
import { isRedisUrl } from './redis-url.js';

const whole = (min: number) => z.number().refine((n) => Number.isInteger(n) && n >= min, `expected a whole number >= ${min}`);

/** Where a stream's events come from: a Redis stream read by a consumer group (XREADGROUP). */
export const RedisStreamSourceSchema = z.strictObject({
  /** A redis:// or rediss:// URL. Default $KILN_REDIS_URL, else the config's `online.redisUrl`, else redis://127.0.0.1:6379. */
  url: z.string().refine(isRedisUrl, 'expected a redis:// or rediss:// URL, e.g. redis://127.0.0.1:6379').optional(),
  /** The Redis stream's key. */
  stream: z.string().min(1, 'expected the Redis stream key, e.g. txns'),
  /** The consumer group (created at the stream's first entry when missing). Default 'kiln'. */
  group: z.string().min(1, 'expected a consumer group name').optional(),
  /** The entry field that holds the event as a JSON object. Default 'data'. */
  field: z.string().min(1, 'expected a field name').optional(),
  /** Where a new group starts: '0' (every entry in the stream; the default) or '$' (only entries added from now). */
  start: z.enum(['0', '$']).optional(),
});

/** Whether a text is a nats:// or tls:// URL (a NATS server). */
export function isNatsUrl(s: string): boolean {
  if (!/^(nats|tls):\/\//.test(s)) return false;
  try {
    new URL(s);
    return true;
  } catch {
    return false;
  }
}

/** Where a stream's events come from: a NATS JetStream stream read by a durable pull consumer (explicit ack). */
export const NatsStreamSourceSchema = z.strictObject({
  /** A nats:// or tls:// URL. Default $KILN_NATS_URL, else nats://127.0.0.1:4222. */
  url: z.string().refine(isNatsUrl, 'expected a nats:// or tls:// URL, e.g. nats://127.0.0.1:4222').optional(),
  /** The JetStream stream's name (it must exist: kiln does not choose its subjects or retention). */
  stream: z.string().regex(/^[^\s.*>/\\]+$/, 'expected the JetStream stream name, e.g. TXNS (no spaces, ".", "*", ">", "/" or "\\")'),
  /** Only messages on this subject (wildcards allowed). Default: every subject of the stream. */
  subject: z.string().regex(/^[^\s]+$/, 'expected a subject, e.g. txns.> (no spaces)').optional(),
  /** The durable consumer's name (created when missing). Default 'kiln'. */
  durable: z.string().regex(/^[^\s.*>/\\]+$/, 'expected a durable consumer name (no spaces, ".", "*", ">", "/" or "\\")').optional(),
  /** The message data is one JSON object; by default that object is the event, with `field` it is the object's property `field`. */
  field: z.string().min(1, 'expected a property name').optional(),
  /** Where a new consumer starts: 'all' (every message in the stream; the default) or 'new' (only messages published from now). */
  start: z.enum(['all', 'new']).optional(),
  /** A message delivered and not acked within this long is delivered again (a consumer killed mid-batch). Default 30,000 ms. */
  ackWaitMs: whole(1000).optional(),
});

/**
 * A stream of events consumed into the online store (pushes, deduplicated by the table's key) and the
 * offline store (appended in batches to `table`), acked only once both hold them (see docs/stream.md).
 */
export const StreamSpecSchema = z.strictObject({
  description: z.string().optional(),
  /** Exactly one of `redis` and `nats` says where the events come from. */
  redis: RedisStreamSourceSchema.optional(),
  nats: NatsStreamSourceSchema.optional(),
  /** The offline-store table the events are rows of; it must declare its key (`tables.<table>.key`). */
  table: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'a table name: letters, digits and _, not starting with a digit'),
  /** A batch ends at `maxEvents` events (default 500) or `maxMs` after its first event (default 1000). */
  batch: z.strictObject({ maxEvents: whole(1).optional(), maxMs: whole(1).optional() }).optional(),
  /** Pending entries of another consumer idle this long are claimed (XAUTOCLAIM). Default 30,000 ms. Redis only (NATS: `nats.ackWaitMs`). */
  claimIdleMs: whole(1).optional(),
  /** Whether events are pushed to the online store (default true; false when no served feature reads the table). */
  online: z.boolean().optional(),
});
export type StreamSpecInput = z.input<typeof StreamSpecSchema>;
export type StreamSpec = z.output<typeof StreamSpecSchema>;
