#!/usr/bin/env node
// Builds dist/ from src/ (`npm run build`; `npm ci` runs it as `prepare`) and stamps it: bin/kiln.js runs
// dist/ only while no file or folder under src/ is newer than dist/.kiln-build (see bin/kiln.js). The stamp
// takes the time the build *started*, so a file saved during the build counts as newer.
// --if-possible (the prepare step): without TypeScript (npm ci --omit=dev) say so and exit 0; kiln then
// runs from src/ through tsx.
import { spawnSync } from 'node:child_process';
import { existsSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleDuckdbApi } from './vendor-duckdb.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const ifPossible = process.argv.includes('--if-possible');
const dist = join(root, 'dist');
const stamp = join(dist, '.kiln-build');

let tsc;
try {
  // bin/tsc is not among typescript's exports: find the package, then its bin.
  tsc = join(dirname(createRequire(join(root, 'package.json')).resolve('typescript/package.json')), 'bin', 'tsc');
  if (!existsSync(tsc)) throw new Error('no bin/tsc');
} catch {
  if (ifPossible) {
    process.stderr.write('kiln: TypeScript is not installed, so dist/ is not built; kiln runs from src/ through tsx (slower to start)\n');
    process.exit(0);
  }
  process.stderr.write('kiln build: TypeScript is not installed; run npm ci\n');
  process.exit(1);
}

const started = new Date();
rmSync(dist, { recursive: true, force: true });
const r = spawnSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json')], { stdio: 'inherit' });
if (r.status !== 0) {
  // No dist/ at all rather than a partial one: kiln then runs from src/.
  rmSync(dist, { recursive: true, force: true });
  process.stderr.write(`kiln build: tsc failed (exit ${r.status ?? r.signal}); dist/ removed, kiln runs from src/ through tsx\n`);
  process.exit(ifPossible ? 0 : 1);
}
if (!existsSync(join(dist, 'cli', 'main.js'))) {
  process.stderr.write('kiln build: tsc wrote no dist/cli/main.js\n');
  process.exit(1);
}
try {
  bundleDuckdbApi(root, join(dist, 'vendor'));
} catch (e) {
  process.stderr.write(`kiln build: @duckdb/node-api not bundled (${e.message}); kiln requires the package (~40 ms slower to start kiln tables)\n`);
}
writeFileSync(stamp, `${started.toISOString()}\n`);
utimesSync(stamp, started, started);

