/** The `streams` config section, stream settings and the entry checks (no Redis needed). */
import { describe, expect, it } from 'vitest';
import { validateConfig } from '../../src/config/index.js';
import { isKilnError } from '../../src/core/errors.js';
import { parseEntries, streamSettings } from '../../src/stream/index.js';
import type { Project } from '../../src/store/index.js';

const base = {
  name: 'p',
  tables: { txns: { key: 'txn_id', timestamp: 'ts', columns: { txn_id: 'bigint', ts: 'timestamp', amount: 'double' } }, loose: {} },
  streams: { txns: { redis: { stream: 'txns' }, table: 'txns' } },
};
const fails = (raw: unknown): string => {
  try {
    validateConfig(raw, 'kiln.config.ts');
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error('expected the config to be refused');
};
const projectOf = (raw: unknown): Project => ({ config: validateConfig(raw, 'kiln.config.ts') }) as unknown as Project;

describe('streams config', () => {
  it('names the field of a bad stream declaration', () => {
    expect(fails({ ...base, streams: { txns: { redis: { stream: 'txns', grup: 'g' }, table: 'txns' } } })).toMatch(/streams\.txns\.redis\.grup: unknown field; did you mean 'group'\?/);
    expect(fails({ ...base, streams: { txns: { redis: { stream: 'txns', url: 'http://x' }, table: 'txns' } } })).toMatch(/streams\.txns\.redis\.url: expected a redis:\/\/ or rediss:\/\/ URL/);
    expect(fails({ ...base, streams: { txns: { redis: { stream: 'txns' }, table: 'txns', batch: { maxEvents: 0 } } } })).toMatch(/streams\.txns\.batch\.maxEvents: expected a whole number >= 1/);
    expect(fails({ ...base, streams: { txns: { redis: {}, table: 'txns' } } })).toMatch(/streams\.txns\.redis\.stream/);
  });

  it('fills defaults, and refuses an unknown stream or a table without a key', () => {
    const s = streamSettings(projectOf(base), 'txns', {});
    expect(s).toMatchObject({ url: 'redis://127.0.0.1:6379', group: 'kiln', field: 'data', start: '0', key: 'txn_id', timestamp: 'ts', maxEvents: 500, maxMs: 1000, claimIdleMs: 30000, online: true, stateKey: 'kiln:p:stream:txns' });
    expect(streamSettings(projectOf(base), 'txns', { KILN_REDIS_URL: 'redis://10.0.0.5:6379' }).url).toBe('redis://10.0.0.5:6379');
    let e: unknown = null;
    try { streamSettings(projectOf(base), 'txn', {}); } catch (x) { e = x; }
    expect(isKilnError(e, 'STREAM_NOT_FOUND') && e.message).toMatch(/no stream 'txn'.*did you mean 'txns'\?/);
    e = null;
    try { streamSettings(projectOf({ ...base, streams: { l: { redis: { stream: 'l' }, table: 'loose' } } }), 'l', {}); } catch (x) { e = x; }
    expect(isKilnError(e, 'CONFIG_INVALID') && e.message).toMatch(/streams\.l\.table: table 'loose' must declare its key \(tables\.loose\.key\)/);
  });
});

describe('parseEntries', () => {
  const project = projectOf(base);
  const s = streamSettings(project, 'txns', {});
  const entry = (id: string, data: unknown, field = 'data') => ({ id, fields: { [field]: typeof data === 'string' ? data : JSON.stringify(data) } });

  it('keeps valid events with times in UTC µs text, repeats once, and gives each bad entry its reason', () => {
    const ok = { txn_id: 1, ts: 1704067200000, amount: 2.5 };
    const r = parseEntries([
      entry('1-0', ok), entry('2-0', ok), entry('3-0', { ...ok, amount: 3 }), entry('4-0', { txn_id: 2, ts: '2024-01-01T10:00:00+02:00', amount: 1 }),
      entry('5-0', { ts: '2024-01-01T00:00:00Z', amount: 1 }), entry('6-0', { txn_id: 3, ts: '2024-01-01T00:00:00Z', amount: 1, extra: 1 }), entry('7-0', '[1]'), entry('8-0', ok, 'body'),
      entry('9-0', { txn_id: 9, ts: '2024-01-01T00:00:00.123456Z', amount: null }),
    ], s, project.config.tables.txns);
    expect(r.events.map((e) => [e.id, e.key, e.row.ts])).toEqual([['1-0', '1', '2024-01-01T00:00:00.000Z'], ['9-0', '9', '2024-01-01T00:00:00.123456Z']]);
    expect(r.repeats).toEqual(['2-0']);
    expect(Object.fromEntries(r.dead.map((d) => [d.id, d.reason]))).toEqual({
      '3-0': expect.stringMatching(/event key txn_id = "1" came earlier in the stream with different content/),
      '4-0': expect.stringMatching(/column 'ts': '2024-01-01T10:00:00\+02:00' has offset \+02:00; kiln reads every time as UTC/),
      '5-0': expect.stringMatching(/missing event key 'txn_id' \(tables\.txns\.key\)/),
      '6-0': expect.stringMatching(/unknown column 'extra'/),
      '7-0': expect.stringMatching(/not a JSON object/),
      '8-0': expect.stringMatching(/the entry has no field 'data' \(fields: body\)/),
    });
  });
});
