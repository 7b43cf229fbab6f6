/**
 * The NATS side of a stream: a JetStream stream read by a durable pull consumer with explicit ack. A
 * message delivered and not acked within the consumer's ack wait (a consumer killed mid-batch) is delivered
 * again; a batch is acked (ack-ack, confirmed by the server) once both stores hold it, and a dead letter is
 * terminated so that it is not delivered again. The consumer's progress (counts, newest event time) lives in
 * a JetStream key-value bucket of the project, and its position (num_pending, num_ack_pending) in the
 * consumer info.
 */
import type { JetStreamClient, JetStreamManager, JsMsg, KV, NatsConnection } from 'nats';
import { KilnError } from '../core/errors.js';
import { startsAtFirst, type NatsStreamSettings, type StreamSettings } from './settings.js';
import type { BatchProgress, GroupPosition, Progress, SourceClient, SourceReader, StreamEntry } from './source.js';

/** Connects to the stream's NATS server, failing with STREAM_UNAVAILABLE (and the URL) when it cannot. */
export async function connectNats(url: string, what: string): Promise<NatsConnection> {
  const { connect } = await import('nats');
  try {
    return await connect({ servers: url, timeout: 2000, name: 'kiln', maxReconnectAttempts: 10, reconnectTimeWait: 1000 });
  } catch (e) {
    throw new KilnError('STREAM_UNAVAILABLE', `cannot reach NATS at ${url} for ${what} (${(e as Error).message}); start a NATS server with JetStream there (nats-server -js), or fix the stream's nats.url (or KILN_NATS_URL)`, { cause: e });
  }
}

/** The JetStream API's error code of a failed request (10059 stream not found, 10014 consumer not found), if any. */
const apiCode = (e: unknown): number | undefined => (e as { api_error?: { err_code?: number } } | null)?.api_error?.err_code;
const isNotFound = (e: unknown): boolean => [10059, 10014, 10037].includes(apiCode(e) ?? -1) || /not found/i.test((e as Error)?.message ?? '');

const noStream = (s: NatsStreamSettings): KilnError => new KilnError('STREAM_UNAVAILABLE',
  `JetStream stream '${s.stream}' does not exist at ${s.url} (streams.${s.name}.nats.stream); create it with its subjects (e.g. nats stream add ${s.stream} --subjects '${s.subject ?? `${s.stream.toLowerCase()}.>`}'), then consume`);

const nanos = (ms: number): number => ms * 1_000_000;

export class NatsReader implements SourceReader {
  /** Messages read and not yet acked, by stream sequence. */
  private readonly inHand = new Map<string, JsMsg>();
  private kv: KV | null = null;
  /** While messages are in hand, tells the server every third of the ack wait that they are being worked on (a slow batch is not delivered again; a dead consumer's is). */
  private keepAlive: NodeJS.Timeout | null = null;

  constructor(private readonly nc: NatsConnection, private readonly jsm: JetStreamManager, private readonly js: JetStreamClient, readonly s: NatsStreamSettings) {}

  /** Checks the stream, creates the durable consumer (or brings its ack wait and filter to the config), and the progress bucket. */
  async prepare(): Promise<void> {
    const s = this.s;
    try {
      await this.jsm.streams.info(s.stream);
    } catch (e) {
      if (isNotFound(e)) throw noStream(s);
      throw e;
    }
    const { AckPolicy, DeliverPolicy } = await import('nats');
    let info;
    try {
      info = await this.jsm.consumers.info(s.stream, s.group);
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
    if (!info) {
      await this.jsm.consumers.add(s.stream, {
        durable_name: s.group, ack_policy: AckPolicy.Explicit, deliver_policy: s.start === 'new' ? DeliverPolicy.New : DeliverPolicy.All,
        ack_wait: nanos(s.ackWaitMs), max_ack_pending: Math.max(1000, 2 * s.maxEvents), ...(s.subject ? { filter_subject: s.subject } : {}),
      });
    } else {
      const c = info.config;
      if (c.deliver_subject || c.ack_policy !== AckPolicy.Explicit) {
        throw new KilnError('CONFIG_INVALID', `streams.${s.name}.nats.durable: consumer '${s.group}' of JetStream stream '${s.stream}' is ${c.deliver_subject ? 'a push consumer' : `acked '${c.ack_policy}'`}; kiln needs a pull consumer with explicit ack: name another durable, or delete that one`, { path: ['streams', s.name, 'nats', 'durable'] });
      }
      if (c.ack_wait !== nanos(s.ackWaitMs) || (c.filter_subject ?? '') !== (s.subject ?? '')) {
        await this.jsm.consumers.update(s.stream, s.group, { ack_wait: nanos(s.ackWaitMs), filter_subject: s.subject ?? '' });
      }
    }
    this.kv = await this.js.views.kv(s.progressBucket, { history: 1 });
  }

  /** Up to `count` messages: those waiting now (no wait), else the first to arrive within `blockMs`. */
  async read(count: number, blockMs: number): Promise<StreamEntry[]> {
    let got = await this.fetch({ batch: count, no_wait: true });
    if (got.length === 0 && blockMs > 0) got = await this.fetch({ batch: 1, expires: Math.max(10, blockMs) });
    if (got.length && !this.keepAlive) {
      this.keepAlive = setInterval(() => { for (const m of this.inHand.values()) m.working(); }, Math.max(300, Math.floor(this.s.ackWaitMs / 3)));
      this.keepAlive.unref();
    }
    return got.map((m) => {
      const id = String(m.seq);
      this.inHand.set(id, m);
      return { id, fields: { subject: m.subject, data: m.string() } };
    });
  }

  private stopKeepAlive(): void {
    if (this.keepAlive) clearInterval(this.keepAlive);
    this.keepAlive = null;
  }

  private async fetch(opts: { batch: number; no_wait?: boolean; expires?: number }): Promise<JsMsg[]> {
    const out: JsMsg[] = [];
    try {
      for await (const m of this.js.fetch(this.s.stream, this.s.group, opts)) out.push(m);
    } catch (e) {
      // a pull that found nothing ends with a status (404 no messages, 408 timeout), not an error
      if (!/no messages|timeout|request timeout/i.test((e as Error).message)) throw e;
    }
    return out;
  }

  /** Acks the batch (each ack confirmed by the server), terminating the dead letters. */
  async ack(ids: readonly string[], dead: ReadonlySet<string>): Promise<number> {
    const acks: Promise<boolean>[] = [];
    for (const id of ids) {
      const m = this.inHand.get(id);
      if (!m) continue;
      this.inHand.delete(id);
      if (dead.has(id)) { m.term(); acks.push(Promise.resolve(true)); } else acks.push(m.ackAck());
    }
    if (this.inHand.size === 0) this.stopKeepAlive();
    const done = await Promise.all(acks);
    await this.nc.flush();
    return done.filter(Boolean).length;
  }

  /** Adds the batch to the stream's progress (compare-and-set on the key, so consumers of one stream add up). */
  async recordProgress(p: BatchProgress): Promise<void> {
    const kv = this.kv!;
    for (let attempt = 0; ; attempt++) {
      const e = await kv.get(this.s.progressKey);
      const prior = e && e.operation === 'PUT' && e.length ? e.json<Record<string, number | string | null>>() : {};
      const num = (k: string): number => Number(prior[k] ?? 0);
      const lastEventMs = prior.lastEventMs === undefined || prior.lastEventMs === null ? p.lastEventMs : p.lastEventMs === null ? Number(prior.lastEventMs) : Math.max(Number(prior.lastEventMs), p.lastEventMs);
      const next = JSON.stringify({
        entries: num('entries') + p.entries, events: num('events') + p.events, deadLetters: num('deadLetters') + p.deadLetters,
        lastBatchMs: Date.now(), lastEntryId: p.lastEntryId, lastEventMs,
      });
      try {
        if (e) await kv.update(this.s.progressKey, next, e.revision);
        else await kv.create(this.s.progressKey, next);
        return;
      } catch (x) {
        if (attempt >= 8) throw x;
      }
    }
  }

  /** Closes the connection; messages read and not acked are delivered again after the ack wait. */
  async close(): Promise<void> {
    this.stopKeepAlive();
    this.inHand.clear();
    await this.nc.close().catch(() => undefined);
  }
}

/** A consumer of the JetStream stream `s` (its durable consumer). */
export async function openNatsReader(s: NatsStreamSettings): Promise<NatsReader> {
  const nc = await connectNats(s.url, `stream '${s.name}'`);
  try {
    return new NatsReader(nc, await nc.jetstreamManager(), nc.jetstream(), s);
  } catch (e) {
    await nc.close().catch(() => undefined);
    throw new KilnError('STREAM_UNAVAILABLE', `NATS at ${s.url} has no JetStream (${(e as Error).message}); run the server with JetStream enabled (nats-server -js)`, { cause: e });
  }
}

const natsOnly = (s: StreamSettings): NatsStreamSettings => {
  if (s.source !== 'nats') throw new Error(`stream '${s.name}' is not a NATS stream`);
  return s;
};

/** The stream's length and the durable consumer's position (num_pending, num_ack_pending, num_waiting). */
export async function consumerPosition(jsm: JetStreamManager, s: NatsStreamSettings): Promise<GroupPosition> {
  let length = 0;
  try {
    length = (await jsm.streams.info(s.stream)).state.messages;
  } catch (e) {
    if (isNotFound(e)) return { length: 0, lag: 0, pending: 0, lastDeliveredId: null, consumers: 0, exists: false };
    throw e;
  }
  try {
    const c = await jsm.consumers.info(s.stream, s.group);
    return { length, exists: true, lag: c.num_pending, pending: c.num_ack_pending, lastDeliveredId: c.delivered.stream_seq ? String(c.delivered.stream_seq) : null, consumers: c.num_waiting };
  } catch (e) {
    if (!isNotFound(e)) throw e;
  }
  let lag = startsAtFirst(s) ? length : 0;
  if (lag && s.subject) {
    const subjects = (await jsm.streams.info(s.stream, { subjects_filter: s.subject })).state.subjects ?? {};
    lag = Object.values(subjects).reduce((a, n) => a + n, 0);
  }
  return { length, exists: false, lag, pending: 0, lastDeliveredId: null, consumers: 0 };
}

/** A NATS connection for the status of the streams at `s.url`. */
export async function connectNatsSource(s: NatsStreamSettings): Promise<SourceClient> {
  const nc = await connectNats(s.url, `stream '${s.name}'`);
  let jsm: JetStreamManager;
  try {
    jsm = await nc.jetstreamManager();
  } catch (e) {
    await nc.close().catch(() => undefined);
    throw new KilnError('STREAM_UNAVAILABLE', `NATS at ${s.url} has no JetStream (${(e as Error).message}); run the server with JetStream enabled (nats-server -js)`, { cause: e });
  }
  const js = nc.jetstream();
  const progress = async (x: StreamSettings): Promise<Progress> => {
    const n = natsOnly(x);
    const none = { lastEventMs: null, lastBatchMs: null, events: 0, deadLetters: 0 };
    try {
      await jsm.streams.info(`KV_${n.progressBucket}`);
    } catch (e) {
      if (isNotFound(e)) return none;
      throw e;
    }
    const kv = await js.views.kv(n.progressBucket, { bindOnly: true });
    const e = await kv.get(n.progressKey);
    if (!e || e.operation !== 'PUT' || !e.length) return none;
    const p = e.json<Record<string, number | null>>();
    const num = (v: number | null | undefined): number | null => (v === undefined || v === null ? null : Number(v));
    return { lastEventMs: num(p.lastEventMs), lastBatchMs: num(p.lastBatchMs), events: num(p.events) ?? 0, deadLetters: num(p.deadLetters) ?? 0 };
  };
  return {
    position: (x) => consumerPosition(jsm, natsOnly(x)),
    progress,
    close: async () => { await nc.close().catch(() => undefined); },
  };
}
