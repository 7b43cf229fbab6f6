import { describe, expect, it } from 'vitest';
import { Arena } from '../../src/nn/index.js';

describe('Arena.f32u (allocation without zeroing)', () => {
  it('hands out disjoint views, also when the allocation grows the memory', () => {
    const arena = new Arena(1 << 16);
    const a = arena.f32(1000).fill(1);
    const b = arena.f32u(1 << 20);
    expect(b.length).toBe(1 << 20);
    expect(b.buffer.byteLength).toBeGreaterThanOrEqual(b.byteOffset + b.byteLength);
    b.fill(2);
    const c = arena.f32u(10).fill(3);
    expect(a.every((v) => v === 1)).toBe(true);
    expect(b.every((v) => v === 2)).toBe(true);
    expect(c.byteOffset).toBeGreaterThanOrEqual(b.byteOffset + b.byteLength);
  });

  it('keeps the bytes a released allocation left, where f32 zeroes them', () => {
    const arena = new Arena(1 << 16);
    const m = arena.mark();
    arena.f32(16).fill(7);
    arena.release(m);
    expect([...arena.f32u(16)]).toEqual(new Array(16).fill(7));
    arena.release(m);
    expect([...arena.f32(16)]).toEqual(new Array(16).fill(0));
  });
});
