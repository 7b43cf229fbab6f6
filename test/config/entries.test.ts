import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfigFile } from '../../src/config/index.js';
import { kiln, tempDir } from '../helpers.js';

/**
 * A config imports `kiln` and `kiln/<entry>` from the running kiln, through either loader: esbuild (the
 * fast path) or tsx (a config that imports another package, or KILN_CONFIG_LOADER=tsx).
 */
describe('config files and the package entries', () => {
  let cleanup = (): void => undefined;
  afterEach(() => { cleanup(); delete process.env.KILN_CONFIG_LOADER; });

  const project = (): string => {
    const t = tempDir();
    cleanup = t.cleanup;
    mkdirSync(join(t.dir, 'defs'));
    // A local file of the project, importing kiln itself, with its own import.meta.url.
    writeFileSync(join(t.dir, 'defs', 'names.ts'), `import { PARAM_NAMES } from 'kiln/gbdt';\nexport const here: string = import.meta.url;\nexport const depth = PARAM_NAMES.includes('max_depth') ? 'max_depth' : 'none';\n`);
    writeFileSync(join(t.dir, 'kiln.config.ts'), `import { defineConfig, KilnError } from 'kiln';\nimport { auc } from 'kiln/eval';\nimport { depth, here } from './defs/names.js';\nconst a: number = auc(new Float64Array([0, 1]), new Float64Array([0.1, 0.9]));\nexport default defineConfig({ name: 'entries', description: [depth, a, typeof KilnError, new URL(here).pathname.endsWith('/defs/names.ts')].join(' ') });\n`);
    return t.dir;
  };

  for (const loader of ['esbuild', 'tsx'] as const) {
    it(`resolves kiln, kiln/gbdt and kiln/eval and the project's own files (${loader})`, async () => {
      const dir = project();
      if (loader === 'tsx') process.env.KILN_CONFIG_LOADER = 'tsx';
      const c = await loadConfigFile(join(dir, 'kiln.config.ts'));
      expect(c.description).toBe('max_depth 1 function true');
    });
  }

  it('gives a config written as CommonJS (__dirname, require) to tsx, as before', async () => {
    const dir = project();
    // Through the CLI: a test runner's module loader defines __dirname in every module, Node's does not.
    writeFileSync(join(dir, 'kiln.config.ts'), `import { defineConfig } from 'kiln';\nif (typeof __dirname !== 'string') throw new Error('no __dirname');\nexport default defineConfig({ name: 'cjs' });\n`);
    expect(await kiln(['models', 'list'], dir)).toMatchObject({ code: 0, stderr: '' });
    writeFileSync(join(dir, 'kiln.config.ts'), `const { defineConfig } = require('kiln');\nexport default defineConfig({ name: 'cjs', description: typeof __dirname + ' ' + typeof require('node:path').join });\n`);
    const c = await loadConfigFile(join(dir, 'kiln.config.ts'));
    expect(c.description).toBe('string function');
  });

  it("refuses an entry kiln does not have, naming the config (the general loader's message)", async () => {
    const dir = project();
    writeFileSync(join(dir, 'kiln.config.ts'), `import { x } from 'kiln/nothing';\nexport default { name: String(x) };\n`);
    await expect(loadConfigFile(join(dir, 'kiln.config.ts'))).rejects.toMatchObject({ code: 'CONFIG_LOAD_FAILED', message: expect.stringContaining('kiln.config.ts') });
  });

  it('is what the CLI loads too', async () => {
    const dir = project();
    const r = await kiln(['models', 'list'], dir);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('no models registered yet\n');
  });
});
