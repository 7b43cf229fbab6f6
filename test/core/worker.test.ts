import { describe, expect, it } from 'vitest';
import { execArgvWithoutPreloads, startModuleWorker } from '../../src/core/worker.js';

describe('execArgvWithoutPreloads', () => {
  it('drops module preloads in both spellings and keeps every other flag', () => {
    const argv = ['--require', '/x/preflight.cjs', '--import', 'file:///x/loader.mjs', '--max-old-space-size=512', '--import=tsx', '-r', 'a.cjs', '--experimental-loader', 'l.mjs', '--loader=m.mjs', '--enable-source-maps', '--stack-size', '2000'];
    expect(execArgvWithoutPreloads(argv)).toEqual(['--max-old-space-size=512', '--enable-source-maps', '--stack-size', '2000']);
  });

  it('returns an empty list for no flags', () => {
    expect(execArgvWithoutPreloads([])).toEqual([]);
  });
});

describe('startModuleWorker (a built worker)', () => {
  const from = new URL('./caller.js', import.meta.url).href; // a .js caller: the built path
  const start = async (): Promise<string[]> => {
    const w = startModuleWorker(from, 'echo-worker', {});
    try {
      return await new Promise<string[]>((resolve, reject) => {
        w.once('message', (m: { execArgv: string[] }) => resolve(m.execArgv));
        w.once('error', reject);
      });
    } finally {
      await w.terminate();
    }
  };

  it('drops the parent\'s preloads, and still starts when another flag is not valid in workers', async () => {
    const saved = [...process.execArgv];
    try {
      process.execArgv.splice(0, process.execArgv.length, '--import', 'data:text/javascript,globalThis.preloaded=1', '--enable-source-maps');
      expect(await start()).toEqual(['--enable-source-maps']);
      // --no-liftoff is refused in a worker's explicit execArgv: the worker inherits the flags instead
      process.execArgv.splice(0, process.execArgv.length, '--import', 'data:text/javascript,globalThis.preloaded=1', '--no-liftoff');
      expect(Array.isArray(await start())).toBe(true);
    } finally {
      process.execArgv.splice(0, process.execArgv.length, ...saved);
    }
  });
});
