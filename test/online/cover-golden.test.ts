/**
 * One table of golden cases for `cover` (whole tiles plus raw edges that exactly cover a range): the
 * engine's TS `cover` and the Lua `coverFrom` the Redis read script resolves inner parts with (COVER_LUA,
 * run on the real Redis) must both give exactly these.
 */
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { TILE_LEVELS } from '../../src/online/index.js';
import { COVER_PROBE } from '../../src/online/backends/redis-scripts.js';
import { cover } from '../../src/online/engine/time.js';
import { DAY, HOUR, REDIS_URL, redisMode } from './helpers.js';

/** Day 19712 (2023-12-21): a 64-day boundary, so every level's tiles start there. */
const B = 19712 * DAY;
interface Golden {
  readonly name: string;
  readonly from: number;
  readonly to: number;
  readonly coarseTo: number | null;
  readonly maxLevel?: number;
  /** [level, from index, to index) in cover's order. */
  readonly tiles: readonly (readonly [number, number, number])[];
  readonly raw: readonly (readonly [number, number])[];
}

const CASES: readonly Golden[] = [
  { name: 'inside one hour: raw only', from: B + 10 * HOUR, to: B + 11 * HOUR, coarseTo: null, tiles: [], raw: [[1703152800000000, 1703156400000000]] },
  { name: 'one whole day', from: B, to: B + DAY, coarseTo: null, tiles: [[0, 19712, 19713]], raw: [] },
  { name: 'an empty range', from: B + DAY, to: B + DAY, coarseTo: B + 128 * DAY, tiles: [], raw: [] },
  { name: '70 days, nothing sealed: day tiles and a raw head', from: B + 12 * HOUR, to: B + 70 * DAY, coarseTo: null, tiles: [[0, 19713, 19782]], raw: [[1703160000000000, 1703203200000000]] },
  {
    name: '70 days, sealed to day 128: 4- and 16-day tiles', from: B + 12 * HOUR, to: B + 70 * DAY, coarseTo: B + 128 * DAY,
    tiles: [[0, 19713, 19716], [1, 4929, 4932], [2, 1233, 1236], [1, 4944, 4945], [0, 19780, 19782]], raw: [[1703160000000000, 1703203200000000]],
  },
  {
    name: '300 days sealed to day 256: 64-day tiles, µs edges', from: B - 3 * DAY + 5, to: B + 300 * DAY + 7, coarseTo: B + 256 * DAY,
    tiles: [[0, 19710, 19712], [3, 308, 312], [0, 19968, 20012]], raw: [[1702857600000005, 1702944000000000], [1729036800000000, 1729036800000007]],
  },
  {
    name: 'sealed to a time that is no 16-day edge', from: B + 2 * DAY, to: B + 90 * DAY, coarseTo: B + 52 * DAY,
    tiles: [[0, 19714, 19716], [1, 4929, 4932], [2, 1233, 1235], [1, 4940, 4941], [0, 19764, 19802]], raw: [],
  },
  { name: 'levels capped at 4 days', from: B + 2 * DAY, to: B + 90 * DAY, coarseTo: B + 256 * DAY, maxLevel: 1, tiles: [[0, 19714, 19716], [1, 4929, 4950], [0, 19800, 19802]], raw: [] },
  {
    name: 'levels capped below a middle state (16 days), raw at both ends', from: B + 5 * HOUR, to: B + 200 * DAY + HOUR, coarseTo: B + 256 * DAY, maxLevel: 1,
    tiles: [[0, 19713, 19716], [1, 4929, 4978]], raw: [[1703134800000000, 1703203200000000], [1720396800000000, 1720400400000000]],
  },
  {
    name: 'day tiles only', from: B + 5 * HOUR, to: B + 9 * DAY + HOUR, coarseTo: B + 256 * DAY, maxLevel: 0,
    tiles: [[0, 19713, 19721]], raw: [[1703134800000000, 1703203200000000], [1703894400000000, 1703898000000000]],
  },
  {
    name: 'before 1970 (negative tile indices)', from: -40 * DAY - 3 * HOUR, to: -2 * DAY + HOUR, coarseTo: 0,
    tiles: [[1, -10, -8], [2, -2, -1], [1, -4, -1], [0, -4, -2]], raw: [[-3466800000000, -3456000000000], [-172800000000, -169200000000]],
  },
];

const fieldsOf = (tiles: Golden['tiles']): string[] => tiles.flatMap(([level, a, b]) => Array.from({ length: b - a }, (_, i) => `${level}:${a + i}`));

describe('cover: golden cases', () => {
  it('the engine (TS) gives exactly the golden covers', () => {
    for (const c of CASES) {
      const got = cover(c.from, c.to, c.coarseTo, c.maxLevel);
      expect({ tiles: got.tiles.map((t) => [t.level, t.from, t.to]), raw: got.raw }, c.name).toEqual({ tiles: c.tiles, raw: c.raw });
    }
  });

  let client: Redis | null = null;
  afterAll(() => client?.disconnect());

  it("the Redis read script's Lua gives the same covers, on the real Redis", async (t) => {
    if ((await redisMode()) === 'skip') { t.skip(); return; }
    client = new Redis(REDIS_URL, { lazyConnect: true });
    await client.connect();
    // one call per coarseTo (the script's coarseTo is per read)
    for (const c of CASES) {
      const maxLevel = c.maxLevel ?? TILE_LEVELS.length - 1;
      const reply = await client.eval(COVER_PROBE, 0, TILE_LEVELS.join(','), c.coarseTo === null ? '' : String(c.coarseTo), String(c.from), String(c.to), String(maxLevel)) as [string[], string[]][];
      const [fields, raw] = reply[0]!;
      const pairs: [number, number][] = [];
      for (let i = 0; i < raw.length; i += 2) pairs.push([Number(raw[i]), Number(raw[i + 1])]);
      expect({ fields, raw: pairs }, c.name).toEqual({ fields: fieldsOf(c.tiles), raw: c.raw });
    }
  });
});
