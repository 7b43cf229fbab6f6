/** A stream's `nats` source in the config: exactly one source, each field checked and named, the defaults (no NATS needed). */
import { describe, expect, it } from 'vitest';
import { validateConfig } from '../../src/config/index.js';
import { parseEntries, streamSettings } from '../../src/stream/index.js';
import type { Project } from '../../src/store/index.js';

const base = {
  name: 'p.q',
  tables: { txns: { key: 'txn_id', timestamp: 'ts', columns: { txn_id: 'bigint', ts: 'timestamp', amount: 'double' } } },
  streams: { txns: { nats: { stream: 'TXNS' }, table: 'txns' } },
};
const withStream = (spec: unknown): unknown => ({ ...base, streams: { txns: spec } });
const fails = (raw: unknown): string => {
  try {
    validateConfig(raw, 'kiln.config.ts');
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error('expected the config to be refused');
};
const projectOf = (raw: unknown): Project => ({ config: validateConfig(raw, 'kiln.config.ts') }) as unknown as Project;

describe('streams with a nats source', () => {
  it('needs exactly one of redis and nats', () => {
    expect(fails(withStream({ nats: { stream: 'TXNS' }, redis: { stream: 'txns' }, table: 'txns' }))).toMatch(/streams\.txns: declares both redis and nats; a stream reads exactly one source/);
    expect(fails(withStream({ table: 'txns' }))).toMatch(/streams\.txns: declares no source; add redis: .* or nats: /);
    let code: unknown;
    try { validateConfig(withStream({ table: 'txns' }), 'kiln.config.ts'); } catch (e) { code = (e as { code?: string }).code; }
    expect(code).toBe('CONFIG_INVALID');
  });

  it('names the field of a bad nats declaration', () => {
    expect(fails(withStream({ nats: { stream: 'TXNS', durabel: 'x' }, table: 'txns' }))).toMatch(/streams\.txns\.nats\.durabel: unknown field; did you mean 'durable'\?/);
    expect(fails(withStream({ nats: { stream: 'TXNS', url: 'redis://x:6379' }, table: 'txns' }))).toMatch(/streams\.txns\.nats\.url: expected a nats:\/\/ or tls:\/\/ URL/);
    expect(fails(withStream({ nats: { stream: 'TX.NS' }, table: 'txns' }))).toMatch(/streams\.txns\.nats\.stream: expected the JetStream stream name/);
    expect(fails(withStream({ nats: {}, table: 'txns' }))).toMatch(/streams\.txns\.nats\.stream/);
    expect(fails(withStream({ nats: { stream: 'TXNS', start: '0' }, table: 'txns' }))).toMatch(/streams\.txns\.nats\.start/);
    expect(fails(withStream({ nats: { stream: 'TXNS', ackWaitMs: 10 }, table: 'txns' }))).toMatch(/streams\.txns\.nats\.ackWaitMs: expected a whole number >= 1000/);
    expect(fails(withStream({ nats: { stream: 'TXNS', durable: 'a.b' }, table: 'txns' }))).toMatch(/streams\.txns\.nats\.durable: expected a durable consumer name/);
    expect(fails(withStream({ nats: { stream: 'TXNS' }, table: 'txns', claimIdleMs: 100 }))).toMatch(/streams\.txns\.claimIdleMs: applies to Redis streams only; for NATS set nats\.ackWaitMs/);
  });

  it('fills the defaults: $KILN_NATS_URL, durable kiln, every subject, the whole message, from the start', () => {
    const s = streamSettings(projectOf(base), 'txns', {});
    expect(s).toMatchObject({ source: 'nats', url: 'nats://127.0.0.1:4222', stream: 'TXNS', group: 'kiln', subject: undefined, field: null, start: 'all', ackWaitMs: 30_000, key: 'txn_id', maxEvents: 500, online: true, progressKey: 'txns' });
    expect(s.source === 'nats' && s.progressBucket).toMatch(/^kiln_streams_p_q_[0-9a-z]+$/);
    expect(streamSettings(projectOf(base), 'txns', { KILN_NATS_URL: 'nats://10.0.0.5:4222' }).url).toBe('nats://10.0.0.5:4222');
    const full = streamSettings(projectOf(withStream({ nats: { stream: 'TXNS', url: 'tls://n:4222', subject: 'txns.eu', durable: 'eu', field: 'event', start: 'new', ackWaitMs: 5000 }, table: 'txns' })), 'txns', { KILN_NATS_URL: 'nats://10.0.0.5:4222' });
    expect(full).toMatchObject({ url: 'tls://n:4222', subject: 'txns.eu', group: 'eu', field: 'event', start: 'new', ackWaitMs: 5000 });
  });

  it('reads the message data as the event, or its field', () => {
    const project = projectOf(base);
    const ok = { txn_id: 1, ts: '2024-01-01T00:00:00Z', amount: 2 };
    const msg = (id: string, data: string) => ({ id, fields: { subject: 'txns.a', data } });
    const whole = parseEntries([msg('1', JSON.stringify(ok)), msg('2', '[1]'), msg('3', '{')], streamSettings(project, 'txns', {}), project.config.tables.txns);
    expect(whole.events.map((e) => e.key)).toEqual(['1']);
    expect(whole.dead.map((d) => [d.id, d.reason])).toEqual([['2', 'the message data is not a JSON object of column values'], ['3', expect.stringMatching(/^the message data is not JSON/)]]);
    const wrapped = projectOf(withStream({ nats: { stream: 'TXNS', field: 'e' }, table: 'txns' }));
    const r = parseEntries([msg('1', JSON.stringify({ e: ok })), msg('2', JSON.stringify({ e: JSON.stringify({ ...ok, txn_id: 2 }) })), msg('3', JSON.stringify({ e: 3 })), msg('4', '{}')], streamSettings(wrapped, 'txns', {}), wrapped.config.tables.txns);
    expect(r.events.map((e) => e.key)).toEqual(['1', '2']);
    expect(r.dead.map((d) => [d.id, d.reason])).toEqual([['3', "field 'e' is not a JSON object of column values"], ['4', expect.stringMatching(/^the message data has no field 'e' \(fields: none\)/)]]);
  });
});
