/** Time parsing (the fast path agrees with the full parser) and tile covers (exact partitions). */
import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/core/rng.js';
import { TILE_LEVELS, isoMicros, parseTime } from '../../src/online/index.js';
import { cover, timeUs } from '../../src/online/engine/time.js';
import { makeTile } from '../../src/online/types.js';
import { DAY, HOUR, T0 } from './helpers.js';

describe('online times', () => {
  it('reads ISO 8601 UTC with up to nine fraction digits, epoch ms and Dates, the fast way and the full way alike', () => {
    const cases = [
      '2024-01-01T10:00:00Z', '2024-01-01T10:00:00.5Z', '2024-01-01T10:00:00.123456Z', '2024-01-01T10:00:00.123456789Z', '2024-02-29T23:59:59Z',
      '2023-02-29T00:00:00Z', '2024-13-01T00:00:00Z', '2024-01-01T24:00:00Z', '2024-01-01T10:00:00.Z', '2024-01-01T10:00:00+00:00', '2024-01-01 10:00:00',
      '2024-01-01', '2024-01-01T10:00:00+02:00', '2024-01-01T10:00:0xZ', 'nope', 1_704_103_200_000, 1_704_103_200_000.5, new Date(Date.UTC(2024, 0, 1)), null, {},
    ];
    for (const c of cases) {
      const full = parseTime(c);
      expect(timeUs(c), JSON.stringify(c)).toBe('us' in full ? full.us : null);
    }
    expect(timeUs('2024-01-01T10:00:00.5Z')).toBe(Date.UTC(2024, 0, 1, 10) * 1000 + 500_000);
    const rng = new Rng(3);
    for (let i = 0; i < 2000; i++) {
      const us = T0 + rng.int(400 * 24) * HOUR + rng.int(3_600_000_000);
      expect(timeUs(isoMicros(us))).toBe(us);
    }
    expect(parseTime('2024-01-01T10:00:00+02:00')).toEqual({ problem: "'2024-01-01T10:00:00+02:00' has offset +02:00", offset: '+02:00' });
  });

  it('covers a range exactly: whole tiles (coarse ones only where sealed) plus raw edges', () => {
    const rng = new Rng(9);
    for (let n = 0; n < 500; n++) {
      const from = T0 + rng.int(100 * 24) * HOUR + rng.int(HOUR);
      const to = from + rng.int(60 * 24) * HOUR + rng.int(HOUR);
      const sealedTo = rng.bernoulli(0.3) ? null : T0 + rng.int(120) * DAY;
      const c = cover(from, to, sealedTo);
      const pieces: [number, number][] = [...c.raw.map(([a, b]) => [a, b] as [number, number])];
      for (const t of c.tiles) {
        const w = TILE_LEVELS[t.level]!;
        if (t.level > 0) expect(sealedTo !== null && t.to * w <= sealedTo).toBe(true);
        for (let i = t.from; i < t.to; i++) pieces.push([i * w, (i + 1) * w]);
      }
      pieces.sort((a, b) => a[0] - b[0]);
      let at = from;
      for (const [a, b] of pieces) { expect(a).toBe(at); expect(b).toBeGreaterThan(a); at = b; }
      expect(at).toBe(from < to ? to : from);
      for (const [a, b] of c.raw) expect(b - a).toBeLessThan(2 * DAY); // one partial day at each end, or less than two days with no whole day
    }
  });
});

describe('tile text', () => {
  it('round-trips tiles through JSON, Map states (count-distinct) included, stubs and bases alike', async () => {
    const { tileFromJson, tileToJson } = await import('../../src/online/codec.js');
    const dense = makeTile([3, null, new Map<unknown, number>([[1, 2], ['1', 1], [true, 1]]), { n: 2, sum: 5 }, [1.5, 2.5]], 3);
    const back = tileFromJson(tileToJson(dense));
    expect(back.count).toBe(3);
    expect(back.states![2]).toBeInstanceOf(Map);
    expect([...(back.states![2] as Map<unknown, number>)]).toEqual([[1, 2], ['1', 1], [true, 1]]);
    expect([back.states![0], back.states![1], back.states![3], back.states![4]]).toEqual([3, null, { n: 2, sum: 5 }, [1.5, 2.5]]);
    expect(tileFromJson(tileToJson(makeTile(null, 2)))).toEqual({ states: null, count: 2 });
    expect(tileFromJson(tileToJson(makeTile([new Map()], 0, 7)))).toEqual({ states: [new Map()], count: 0, lastVisibleAt: 7 });
  });
});

describe('log text', () => {
  it('round-trips raw events compactly, and reads plain arrays of event objects (older logs, mixed columns)', async () => {
    const { eventsFromJson, eventsToJson } = await import('../../src/online/codec.js');
    const evs = [
      { id: 'a.1', time: 1_700_000_000_000_001, visibleAt: 1_700_000_000_000_001, late: 0 as const, values: { amount: 1.5, category: 'fuel', n: null } },
      { id: 'a.2', time: 1_700_000_000_000_002, visibleAt: 1_700_007_200_000_000, late: 1 as const, values: { amount: -2, category: 'x"y', n: 3 } },
    ];
    const stored = evs.map((ev) => ({ u: ev.id, ts: ev.time, e: ev.visibleAt, l: ev.late, v: ev.values }));
    const text = eventsToJson(evs);
    expect(text).toBe('{"c":["amount","category","n"],"t":1700000000000001,"e":[["a.1",0,0,1.5,"fuel",null],["a.2",1,7199999998,-2,"x\\"y",3]]}');
    expect(text.length).toBeLessThan(JSON.stringify(stored).length);
    expect(eventsFromJson(text)).toEqual(evs);
    const mixed = [evs[0]!, { ...evs[1]!, values: { category: 'z', amount: 1, n: 2 } }];
    expect(eventsToJson(mixed)).toBe(JSON.stringify([stored[0], { ...stored[1], v: { category: 'z', amount: 1, n: 2 } }])); // objects, with the short names
    expect(eventsFromJson(eventsToJson(mixed))).toEqual(mixed);
    expect(eventsFromJson(JSON.stringify(stored))).toEqual(evs);
    expect(eventsFromJson(eventsToJson([]))).toEqual([]);
  });

  it('keeps the stored forms byte for byte: short names on disk and in Redis, named fields in memory', async () => {
    const { eventToJson, eventsFromTexts, tileFromJson, tileToJson } = await import('../../src/online/codec.js');
    const { rawEvent } = await import('../../src/online/types.js');
    const member = '{"u":"#42","ts":1700000000000001,"e":1700007200000000,"l":1,"v":{"amount":2.5,"cat":null}}';
    const [ev] = eventsFromTexts([member]);
    expect({ ...ev }).toEqual({ id: '#42', time: 1_700_000_000_000_001, visibleAt: 1_700_007_200_000_000, late: 1, values: { amount: 2.5, cat: null } });
    expect(eventToJson(ev!)).toBe(member);
    expect(eventToJson(rawEvent('#42', 1_700_000_000_000_001, 1_700_007_200_000_000, 1, { amount: 2.5, cat: null }))).toBe(member);
    for (const text of ['{"s":null,"n":3}', '{"s":null,"n":3,"e":17}', '{"s":[1,null,{"$map":[["a",2]]}],"n":4}', '{"s":[1.5],"n":2,"e":9}']) {
      const t = tileFromJson(text);
      expect(Object.keys(t).sort()).toEqual(['count', 'lastVisibleAt', 'states']);
      expect(tileToJson(t)).toBe(text);
    }
    expect(tileFromJson('{"s":[1.5],"n":2,"e":9}')).toEqual({ states: [1.5], count: 2, lastVisibleAt: 9 });
  });
});
