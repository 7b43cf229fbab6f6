import { describe, expect, it } from 'vitest';
import { NamesCache } from '../../src/core/index.js';

describe('NamesCache', () => {
  it('finds a plan by the array, and makes a new one when the array changed since', () => {
    const made: string[] = [];
    const cache = new NamesCache((names) => { made.push(names.join('+')); return names.join('+'); });
    const list = ['a', 'b'];
    expect(cache.get(list)).toBe('a+b');
    expect(cache.get(list)).toBe('a+b');
    expect(cache.get(['a', 'b'])).toBe('a+b'); // an equal list: by its names
    expect(made).toEqual(['a+b']);
    list.push('c'); // the caller changed its array: not the old plan
    expect(cache.get(list)).toBe('a+b+c');
    list[0] = 'z';
    expect(cache.get(list)).toBe('z+b+c');
    expect(made).toEqual(['a+b', 'a+b+c', 'z+b+c']);
  });
});
