import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfigFile } from '../../src/config/index.js';
import { tempDir } from '../helpers.js';

const cleanups: (() => void)[] = [];
afterEach(() => { while (cleanups.length) cleanups.pop()!(); });

function project(withDataDir = true): string {
  const t = tempDir('kiln-config-cache-');
  cleanups.push(t.cleanup);
  if (withDataDir) mkdirSync(join(t.dir, '.kiln'));
  return t.dir;
}

const config = (name: string, extra = ''): string => `import { defineConfig } from 'kiln';\n${extra}export default defineConfig({ name: ${JSON.stringify(name)} });\n`;
const cached = (d: string): string[] => { try { return readdirSync(join(d, '.kiln', 'cache')).sort(); } catch { return []; } };

describe('the compiled-config cache', () => {
  it('keeps a self-contained config compiled, and a changed config is never read stale', async () => {
    const d = project();
    const file = join(d, 'kiln.config.ts');
    writeFileSync(file, config('aaaa'));
    expect((await loadConfigFile(file)).name).toBe('aaaa');
    const first = cached(d);
    expect(first).toHaveLength(1);
    expect((await loadConfigFile(file)).name).toBe('aaaa'); // from the cache
    expect(cached(d)).toEqual(first);
    // Same length, same second: only the bytes differ.
    writeFileSync(file, config('bbbb'));
    expect((await loadConfigFile(file)).name).toBe('bbbb');
    expect(cached(d)).toHaveLength(2);
    writeFileSync(file, config('aaaa'));
    expect((await loadConfigFile(file)).name).toBe('aaaa');
  });

  it('runs the config anew on each load, as before', async () => {
    const d = project();
    const file = join(d, 'kiln.config.ts');
    writeFileSync(file, config('x', `const g = globalThis as { __kilnCacheLoads?: number };\ng.__kilnCacheLoads = (g.__kilnCacheLoads ?? 0) + 1;\n`));
    const g = globalThis as { __kilnCacheLoads?: number };
    delete g.__kilnCacheLoads;
    await loadConfigFile(file);
    await loadConfigFile(file);
    await loadConfigFile(file);
    expect(g.__kilnCacheLoads).toBe(3);
    delete g.__kilnCacheLoads;
  });

  it('does not cache a config that imports a local file: an edit there counts at once', async () => {
    const d = project();
    const file = join(d, 'kiln.config.ts');
    writeFileSync(join(d, 'name.ts'), `export const NAME = 'one';\n`);
    writeFileSync(file, `import { defineConfig } from 'kiln';\nimport { NAME } from './name';\nexport default defineConfig({ name: NAME });\n`);
    expect((await loadConfigFile(file)).name).toBe('one');
    writeFileSync(join(d, 'name.ts'), `export const NAME = 'two';\n`);
    expect((await loadConfigFile(file)).name).toBe('two');
    expect(cached(d)).toEqual([]);
  });

  it('writes nothing where the project has no .kiln folder', async () => {
    const d = project(false);
    const file = join(d, 'kiln.config.ts');
    writeFileSync(file, config('x'));
    expect((await loadConfigFile(file)).name).toBe('x');
    expect(readdirSync(d)).toEqual(['kiln.config.ts']);
  });

  it('keeps only the newest few compiled configs', async () => {
    const d = project();
    const file = join(d, 'kiln.config.ts');
    for (let i = 0; i < 11; i++) {
      writeFileSync(file, config(`n${i}`));
      expect((await loadConfigFile(file)).name).toBe(`n${i}`);
    }
    expect(cached(d).length).toBeLessThanOrEqual(8);
  });
});
