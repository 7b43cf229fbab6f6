import { describe, expect, it } from 'vitest';
import { checkPartitions, fnv1a, partFileName, partitionOf } from '../../src/backfill/index.js';

describe('backfill partitioning', () => {
  it('FNV-1a (32-bit) matches the reference vectors', () => {
    expect(fnv1a('')).toBe(0x811c9dc5);
    expect(fnv1a('a')).toBe(0xe40c292c);
    expect(fnv1a('foobar')).toBe(0xbf9cf968);
  });

  it('a key lands in one stable partition; keys spread over all of them', () => {
    expect(partitionOf('12345', 8)).toBe(fnv1a('12345') % 8);
    const counts = Array.from({ length: 8 }, () => 0);
    for (let k = 0; k < 8000; k++) counts[partitionOf(String(k), 8)]!++;
    for (const c of counts) expect(c).toBeGreaterThan(800);
    expect(partFileName(3)).toBe('part-00003.parquet');
  });

  it('refuses a partition count that is not a whole number from 1, naming the flag', () => {
    for (const bad of [0, -1, 1.5, Number.NaN, 1e6]) expect(() => checkPartitions(bad)).toThrow(/--partitions/);
    expect(checkPartitions(4)).toBe(4);
  });
});
