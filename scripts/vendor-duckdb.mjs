import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

/**
 * @duckdb/node-api is ~120 CommonJS files: requiring them one by one is ~40 ms of `kiln tables`' start-up.
 * dist/vendor/duckdb-node-api.cjs is the same code in one file (esbuild, which tsx brings), wrapped as a
 * function of the `require` that resolves from the package's own folder, so that its native bindings and
 * builtins load exactly as the package would load them. The .json beside it names the package's folder
 * and version: src/store/duckdb.ts uses the bundle only while both match, else the package itself.
 * Throws without esbuild or for any surprise in the output; the build then writes no bundle (kiln requires the package).
 */
export function bundleDuckdbApi(root, vendor) {
  {
    const req = createRequire(join(root, 'package.json'));
    const main = req.resolve('@duckdb/node-api');
    let dir = dirname(main);
    while (!existsSync(join(dir, 'package.json'))) dir = dirname(dir);
    const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
    if (pkg.name !== '@duckdb/node-api') throw new Error(`found ${pkg.name} at ${dir}`);
    const esbuild = createRequire(req.resolve('tsx/package.json'))('esbuild');
    const out = esbuild.buildSync({
      entryPoints: [main], bundle: true, write: false, platform: 'node', format: 'cjs', target: 'node20',
      external: ['@duckdb/node-bindings'], logLevel: 'silent',
    });
    const text = out.outputFiles[0].text;
    if (/\b(?:__dirname|__filename|import\.meta)\b/.test(text)) throw new Error('the bundle uses its own location');
    mkdirSync(vendor, { recursive: true });
    writeFileSync(join(vendor, 'duckdb-node-api.cjs'), `// @duckdb/node-api ${pkg.version}, bundled by scripts/build.mjs; see src/store/duckdb.ts.\n` +
      `module.exports = function (require) {\nvar module = { exports: {} }, exports = module.exports;\n${text}\nreturn module.exports;\n};\n`);
    writeFileSync(join(vendor, 'duckdb-node-api.json'), `${JSON.stringify({ dir, version: pkg.version })}\n`);
  }
}
