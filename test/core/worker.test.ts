import { describe, expect, it } from 'vitest';
import { execArgvWithoutPreloads } from '../../src/core/worker.js';

describe('execArgvWithoutPreloads', () => {
  it('drops module preloads in both spellings and keeps every other flag', () => {
    const argv = ['--require', '/x/preflight.cjs', '--import', 'file:///x/loader.mjs', '--max-old-space-size=512', '--import=tsx', '-r', 'a.cjs', '--experimental-loader', 'l.mjs', '--loader=m.mjs', '--enable-source-maps', '--stack-size', '2000'];
    expect(execArgvWithoutPreloads(argv)).toEqual(['--max-old-space-size=512', '--enable-source-maps', '--stack-size', '2000']);
  });

  it('returns an empty list for no flags', () => {
    expect(execArgvWithoutPreloads([])).toEqual([]);
  });
});
