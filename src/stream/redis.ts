/**
 * The Redis side of a stream: a consumer group read with XREADGROUP, this consumer's own pending entries
 * first (after a restart), entries of dead consumers claimed with XAUTOCLAIM once idle, XACK after both
 * stores hold a batch, the group's position (XINFO) for lag, and the consumer's progress in a hash.
 */
import type { Redis } from 'ioredis';
import { KilnError } from '../core/errors.js';
import { startsAtFirst, type RedisStreamSettings, type StreamSettings } from './settings.js';
import type { BatchProgress, GroupPosition, Progress, SourceClient, SourceReader, StreamEntry } from './source.js';

/** Connects to the stream's Redis, failing with STREAM_UNAVAILABLE (and the URL) when it cannot. */
export async function connectRedis(url: string, what: string): Promise<Redis> {
  const { Redis } = await import('ioredis');
  const client = new Redis(url, { lazyConnect: true, connectTimeout: 2000, maxRetriesPerRequest: 1, enableOfflineQueue: false, retryStrategy: () => null });
  client.on('error', () => undefined);
  try {
    await client.connect();
  } catch (e) {
    client.disconnect();
    throw new KilnError('STREAM_UNAVAILABLE', `cannot reach Redis at ${url} for ${what} (${(e as Error).message}); start Redis there, or fix the stream's redis.url (or KILN_REDIS_URL)`, { cause: e });
  }
  return client;
}

type RawEntries = [string, string[] | null][];

function toEntries(raw: RawEntries | null | undefined): StreamEntry[] {
  const out: StreamEntry[] = [];
  for (const [id, flat] of raw ?? []) {
    if (!flat) continue; // an entry deleted (XDEL) while pending: nothing to read, acked with the batch
    const fields: Record<string, string> = {};
    for (let i = 0; i + 1 < flat.length; i += 2) fields[flat[i]!] = flat[i + 1]!;
    out.push({ id, fields });
  }
  return out;
}

export class StreamReader implements SourceReader {
  /** Whether this consumer's own pending entries (a previous life's) have been read again. */
  private ownDone = false;
  private ownCursor = '0';
  private claimCursor = '0-0';
  private lastClaim = 0;
  /** Ids of entries deleted while pending: acked with the next batch. */
  readonly gone: string[] = [];

  constructor(private readonly client: Redis, readonly s: RedisStreamSettings, readonly consumer: string) {}

  /** Creates the group (at the configured start) and the stream if missing. */
  async prepare(): Promise<void> {
    try {
      await this.client.xgroup('CREATE', this.s.stream, this.s.group, this.s.start, 'MKSTREAM');
    } catch (e) {
      if (!/BUSYGROUP/.test((e as Error).message)) throw e;
    }
  }

  /**
   * Up to `count` entries: this consumer's pending entries first (delivered before a crash, never acked),
   * then entries idle longer than `claimIdleMs` in other consumers' pending lists, then new ones (waiting
   * up to `blockMs`).
   */
  async read(count: number, blockMs: number): Promise<StreamEntry[]> {
    const got = await this.readSome(count, blockMs);
    if (got.length === 0 && this.gone.length) await this.ackIds(this.gone.splice(0));
    return got;
  }

  private async readSome(count: number, blockMs: number): Promise<StreamEntry[]> {
    if (!this.ownDone) {
      const res = await this.client.xreadgroup('GROUP', this.s.group, this.consumer, 'COUNT', count, 'STREAMS', this.s.stream, this.ownCursor) as [string, RawEntries][] | null;
      const raw = res?.[0]?.[1] ?? [];
      if (raw.length) {
        this.ownCursor = raw[raw.length - 1]![0];
        for (const [id, f] of raw) if (!f) this.gone.push(id);
        return toEntries(raw);
      }
      this.ownDone = true;
    }
    if (Date.now() - this.lastClaim >= Math.min(this.s.claimIdleMs, 5000)) {
      const res = await this.client.xautoclaim(this.s.stream, this.s.group, this.consumer, this.s.claimIdleMs, this.claimCursor, 'COUNT', count) as [string, RawEntries, string[]?];
      this.claimCursor = res[0];
      for (const id of res[2] ?? []) this.gone.push(id);
      if (this.claimCursor === '0-0') this.lastClaim = Date.now();
      const claimed = toEntries(res[1]);
      if (claimed.length) return claimed;
    }
    const args: (string | number)[] = ['GROUP', this.s.group, this.consumer, 'COUNT', count];
    if (blockMs > 0) args.push('BLOCK', blockMs);
    args.push('STREAMS', this.s.stream, '>');
    const res = await (this.client.xreadgroup as (...a: (string | number)[]) => Promise<unknown>)(...args) as [string, RawEntries][] | null;
    return toEntries(res?.[0]?.[1]);
  }

  /** XACK of the batch (dead letters included) and of the entries found deleted while pending. */
  async ack(ids: readonly string[], _dead?: ReadonlySet<string>): Promise<number> {
    return this.ackIds([...ids, ...this.gone.splice(0)]);
  }

  private async ackIds(ids: readonly string[]): Promise<number> {
    if (ids.length === 0) return 0;
    return this.client.xack(this.s.stream, this.s.group, ...ids);
  }

  recordProgress(p: BatchProgress): Promise<void> {
    return recordProgress(this.client, this.s, p);
  }

  async close(): Promise<void> {
    await this.client.quit().catch(() => this.client.disconnect());
  }
}

/** A consumer of the Redis stream `s` named `consumer` in its group. */
export async function openRedisReader(s: RedisStreamSettings, consumer: string): Promise<StreamReader> {
  return new StreamReader(await connectRedis(s.url, `stream '${s.name}'`), s, consumer);
}

/** The stream's progress in Redis (read by `kiln stream status` and the metrics): counts, the newest event time, the last batch. */
async function recordProgress(client: Redis, s: RedisStreamSettings, p: BatchProgress): Promise<void> {
  const tx = client.multi()
    .hincrby(s.stateKey, 'entries', p.entries)
    .hincrby(s.stateKey, 'events', p.events)
    .hincrby(s.stateKey, 'deadLetters', p.deadLetters)
    .hset(s.stateKey, 'lastBatchMs', String(Date.now()), 'lastEntryId', p.lastEntryId);
  await tx.exec();
  if (p.lastEventMs !== null) {
    const prior = Number(await client.hget(s.stateKey, 'lastEventMs') ?? -Infinity);
    if (!(prior >= p.lastEventMs)) await client.hset(s.stateKey, 'lastEventMs', String(p.lastEventMs));
  }
}

async function progressOf(client: Redis, s: RedisStreamSettings): Promise<Progress> {
  const h = await client.hgetall(s.stateKey);
  const num = (v: string | undefined): number | null => (v === undefined ? null : Number(v));
  return { lastEventMs: num(h.lastEventMs), lastBatchMs: num(h.lastBatchMs), events: num(h.events) ?? 0, deadLetters: num(h.deadLetters) ?? 0 };
}

const redisOnly = (s: StreamSettings): RedisStreamSettings => {
  if (s.source !== 'redis') throw new Error(`stream '${s.name}' is not a Redis stream`);
  return s;
};

/** A Redis connection for the status of the streams at `s.url`. */
export async function connectRedisSource(s: RedisStreamSettings): Promise<SourceClient> {
  const client = await connectRedis(s.url, `stream '${s.name}'`);
  return {
    position: (x) => groupPosition(client, redisOnly(x)),
    progress: (x) => progressOf(client, redisOnly(x)),
    close: async () => { await client.quit().catch(() => client.disconnect()); },
  };
}

/** XINFO GROUPS and XLEN: where the group is (before the group exists, the lag is what it would read). */
export async function groupPosition(client: Redis, s: RedisStreamSettings): Promise<GroupPosition> {
  const length = await client.xlen(s.stream);
  let groups: unknown[] = [];
  try {
    groups = await client.xinfo('GROUPS', s.stream) as unknown[];
  } catch (e) {
    if (!/no such key/i.test((e as Error).message)) throw e;
  }
  for (const g of groups) {
    const flat = g as unknown[];
    const m = new Map<string, unknown>();
    for (let i = 0; i + 1 < flat.length; i += 2) m.set(String(flat[i]), flat[i + 1]);
    if (m.get('name') !== s.group) continue;
    const lag = m.get('lag');
    return {
      length, exists: true,
      lag: lag === null || lag === undefined ? null : Number(lag),
      pending: Number(m.get('pending') ?? 0),
      lastDeliveredId: (m.get('last-delivered-id') as string | undefined) ?? null,
      consumers: Number(m.get('consumers') ?? 0),
    };
  }
  return { length, exists: false, lag: startsAtFirst(s) ? length : 0, pending: 0, lastDeliveredId: null, consumers: 0 };
}
