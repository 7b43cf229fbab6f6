/** Shared helpers of the NATS stream tests: whether NATS (with JetStream) answers, and a throwaway JetStream stream. */
import { randomBytes } from 'node:crypto';
import { connect, type ConsumerInfo, type JetStreamClient, type JetStreamManager, type NatsConnection } from 'nats';

export const NATS_URL = process.env.KILN_NATS_URL ?? 'nats://127.0.0.1:4222';

let probe: Promise<string | null> | null = null;
let warned = false;

/** Null when NATS with JetStream answers at NATS_URL, else why not. */
export function natsUnavailable(): Promise<string | null> {
  probe ??= (async () => {
    let nc: NatsConnection | null = null;
    try {
      nc = await connect({ servers: NATS_URL, timeout: 1000, maxReconnectAttempts: 0 });
      await (await nc.jetstreamManager()).getAccountInfo();
      return null;
    } catch (e) {
      return (e as Error).message;
    } finally {
      await nc?.close().catch(() => undefined);
    }
  })();
  return probe;
}

/** How the suites decide: run, skip with a message, or fail under CI (an unreachable NATS is never a skip there). */
export async function natsMode(): Promise<'run' | 'skip'> {
  const why = await natsUnavailable();
  if (why === null) return 'run';
  if (process.env.CI) throw new Error(`NATS with JetStream is required under CI and unreachable: ${why}`);
  if (!warned) console.warn(`SKIPPING the NATS JetStream stream tests: ${why}. Start nats-server -js on 127.0.0.1:4222 (or set KILN_NATS_URL) to run them; under CI they fail instead.`);
  warned = true;
  return 'skip';
}

export interface TestJetStream {
  readonly nc: NatsConnection;
  readonly jsm: JetStreamManager;
  readonly js: JetStreamClient;
  /** The JetStream stream's name (unique) and its subjects' prefix. */
  readonly stream: string;
  readonly subject: string;
  /** Publishes each event (JSON unless a string) on `subject.<suffix>`, waiting for every ack. */
  publish(events: readonly unknown[], suffix?: string): Promise<void>;
  consumer(durable?: string): Promise<ConsumerInfo>;
  /** Deletes the stream and the project's progress bucket, closes the connection. */
  cleanup(project: string): Promise<void>;
}

/** A JetStream stream with a unique name on subjects `kiln-test.<id>.>`. */
export async function testJetStream(): Promise<TestJetStream> {
  const id = randomBytes(4).toString('hex');
  const stream = `KILN_TEST_${id}`;
  const subject = `kiln-test.${id}`;
  const nc = await connect({ servers: NATS_URL, timeout: 2000 });
  const jsm = await nc.jetstreamManager();
  const js = nc.jetstream();
  await jsm.streams.add({ name: stream, subjects: [`${subject}.>`] });
  return {
    nc, jsm, js, stream, subject,
    async publish(events, suffix = 'txns') {
      for (let i = 0; i < events.length; i += 100) {
        await Promise.all(events.slice(i, i + 100).map((e) => js.publish(`${subject}.${suffix}`, typeof e === 'string' ? e : JSON.stringify(e))));
      }
    },
    consumer: (durable = 'kiln') => jsm.consumers.info(stream, durable),
    async cleanup(project) {
      await jsm.streams.delete(stream).catch(() => false);
      await jsm.streams.delete(`KV_kiln_streams_${project}`).catch(() => false);
      await nc.close();
    },
  };
}
