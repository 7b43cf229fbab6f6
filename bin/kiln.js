#!/usr/bin/env node
// kiln runs dist/ (built by `npm ci` / `npm run build`, ~0.1 s to start) when it is up to date, else its
// TypeScript sources through tsx (~1 s to start). Up to date: dist/.kiln-build exists and no file or
// folder under src/ has a newer mtime (the stamp holds the time its build started), so a developer who
// edits src/ never runs stale dist/. KILN_FROM_SOURCE=1 always runs src/.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const source = join(root, 'src', 'cli', 'main.ts');
const built = join(root, 'dist', 'cli', 'main.js');

/** True when some file or folder under `dir` was modified after `t` (ms). */
function newerThan(dir, t) {
  if (statSync(dir).mtimeMs > t) return true;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory() ? newerThan(p, t) : statSync(p).mtimeMs > t) return true;
  }
  return false;
}

function distIsCurrent() {
  if (!existsSync(source)) return true; // an installed package without sources
  if (process.env.KILN_FROM_SOURCE === '1' || !existsSync(built)) return false;
  const stamp = join(root, 'dist', '.kiln-build');
  if (!existsSync(stamp)) return false;
  return !newerThan(join(root, 'src'), statSync(stamp).mtimeMs);
}

if (distIsCurrent()) {
  await import(new URL('../dist/cli/main.js', import.meta.url).href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import(new URL('../src/cli/main.ts', import.meta.url).href);
}
