/**
 * What the consumer, the status and the metrics need of a stream's broker, whichever it is (Redis Streams
 * in redis.ts, NATS JetStream in nats.ts): read entries, ack them once both stores hold them, record and
 * read the consumer's progress, and the group's position for lag.
 */
import { openNatsReader, connectNatsSource } from './nats.js';
import { openRedisReader, connectRedisSource } from './redis.js';
import type { StreamSettings } from './settings.js';

/** One stream entry: its id (Redis: the entry id; NATS: the stream sequence) and its fields (name to value). */
export interface StreamEntry {
  readonly id: string;
  readonly fields: Readonly<Record<string, string>>;
}

/** The group's (or durable consumer's) position in the stream. */
export interface GroupPosition {
  /** Entries in the stream now (Redis XLEN; NATS the stream's messages). */
  readonly length: number;
  /** Entries in the stream not yet delivered to the group (NATS num_pending); null when the broker cannot tell. */
  readonly lag: number | null;
  /** Delivered to a consumer, not yet acked (NATS num_ack_pending). */
  readonly pending: number;
  readonly lastDeliveredId: string | null;
  /** Consumers in the group (Redis); pull requests waiting on the durable consumer (NATS num_waiting). */
  readonly consumers: number;
  /** Whether the group (the durable consumer) exists (false before the first consume). */
  readonly exists: boolean;
}

/** What the consumer recorded of its work. */
export interface Progress {
  readonly lastEventMs: number | null;
  readonly lastBatchMs: number | null;
  readonly events: number;
  readonly deadLetters: number;
}

/** One acked batch, added to the progress. */
export interface BatchProgress {
  readonly entries: number;
  readonly events: number;
  readonly deadLetters: number;
  readonly lastEventMs: number | null;
  readonly lastEntryId: string;
}

/** A consumer's side of the broker. */
export interface SourceReader {
  /** Creates the group or the durable consumer when missing. */
  prepare(): Promise<void>;
  /** Up to `count` entries, waiting up to `blockMs` for the first. */
  read(count: number, blockMs: number): Promise<StreamEntry[]>;
  /**
   * Acks entries that both stores hold; those in `dead` are dead letters (recorded): acked too, so that they
   * are not delivered again (NATS: terminated). Returns how many were acked.
   */
  ack(ids: readonly string[], dead: ReadonlySet<string>): Promise<number>;
  recordProgress(p: BatchProgress): Promise<void>;
  close(): Promise<void>;
}

/** A connection for `kiln stream status` and the metrics: where the group is, what the consumer recorded. */
export interface SourceClient {
  position(s: StreamSettings): Promise<GroupPosition>;
  progress(s: StreamSettings): Promise<Progress>;
  close(): Promise<void>;
}

/** Connects to the stream's broker as consumer `consumer` (Redis: its name in the group; NATS: unused, the durable is shared). */
export function openReader(s: StreamSettings, consumer: string): Promise<SourceReader> {
  return s.source === 'nats' ? openNatsReader(s) : openRedisReader(s, consumer);
}

/** Connects to the stream's broker for its status; one client serves every stream of the same broker (`sourceKey`). */
export function connectSource(s: StreamSettings): Promise<SourceClient> {
  return s.source === 'nats' ? connectNatsSource(s) : connectRedisSource(s);
}

/** Streams with the same key share a `SourceClient`. */
export const sourceKey = (s: StreamSettings): string => `${s.source} ${s.url}`;
