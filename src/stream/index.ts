/**
 * Events from a stream (a Redis stream read by a consumer group, or a NATS JetStream stream read by a durable
 * pull consumer) into both stores: the online store within
 * a batch (deduplicated by the table's key) and the offline store appended through kiln's ingest, acked
 * once both hold them; malformed events become dead letters with the reason. See docs/stream.md.
 */
export { consumeStream, type ConsumeOptions, type ConsumeTotals, type BatchReport } from './consume.js';
export { streamStatus, streamMetrics, type StreamStatus, type StreamMetrics } from './status.js';
export { streamSettings, streamNames, type StreamSettings, type RedisStreamSettings, type NatsStreamSettings } from './settings.js';
export { readDeadLetters, DEAD_LETTERS_TABLE, type DeadLetterRow } from './stores.js';
export { parseEntries, rowProblem, type StreamEvent, type DeadLetter } from './events.js';
export { type StreamEntry, type GroupPosition } from './source.js';
