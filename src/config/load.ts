import { existsSync, readFileSync, statSync } from 'node:fs';
import Module, { register } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { KilnError, isKilnError } from '../core/errors.js';
import { importConfigFast } from './compile.js';
import type { KilnConfig } from './schema.js';
import { validateConfig } from './validate.js';

export const CONFIG_FILE_NAMES = ['kiln.config.ts', 'kiln.config.mts', 'kiln.config.js', 'kiln.config.mjs'] as const;

/** Finds the config file in `dir`, if any. */
export function configFileIn(dir: string): string | undefined {
  for (const name of CONFIG_FILE_NAMES) {
    const p = join(dir, name);
    if (existsSync(p)) return p;
  }
  return undefined;
}

/** Walks up from `start` to the nearest directory holding a kiln config. */
export function findProjectRoot(start: string): string | undefined {
  let dir = resolve(start);
  for (;;) {
    if (configFileIn(dir)) return dir;
    const parent = dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

/**
 * The project root: `explicit` (the --project option) when given, else the nearest kiln project above
 * `cwd`. A clear error says how to create one when there is none.
 */
export function resolveProjectRoot(explicit: string | undefined, cwd = process.cwd()): string {
  if (explicit !== undefined) {
    const dir = resolve(cwd, explicit);
    if (!existsSync(dir) || !statSync(dir).isDirectory()) {
      throw new KilnError('PROJECT_NOT_FOUND', `--project ${explicit}: no such directory (${dir}). Create a project with 'kiln init ${explicit}'.`);
    }
    if (!configFileIn(dir)) {
      throw new KilnError('PROJECT_NOT_FOUND', `--project ${explicit}: ${dir} has no kiln.config.ts. Create one with 'kiln init ${explicit}'.`);
    }
    return dir;
  }
  const root = findProjectRoot(cwd);
  if (!root) {
    throw new KilnError('PROJECT_NOT_FOUND', `no kiln project in ${resolve(cwd)} or any parent directory (looked for kiln.config.ts). Run 'kiln init' to create one, or pass --project DIR.`);
  }
  return root;
}

let kilnResolverRegistered = false;

/**
 * What `kiln` and `kiln/<entry>` mean in a config: package.json's `exports`, read from the running kiln.
 * From dist/ each points at its built file; from a clone (running src/ through tsx) at the same file's
 * TypeScript source, so a config always runs against the kiln that loads it. Keys: 'kiln', 'kiln/gbdt', ...
 */
export function kilnEntries(): Map<string, string> {
  const here = fileURLToPath(import.meta.url);
  const fromSource = here.endsWith('.ts');
  const root = join(dirname(here), '..', '..');
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { exports?: Record<string, string | { default?: string }> };
  const entries = new Map<string, string>();
  for (const [key, target] of Object.entries(pkg.exports ?? {})) {
    const built = typeof target === 'string' ? target : target.default;
    const m = built === undefined ? null : /^\.\/dist\/(.+)\.js$/.exec(built);
    if (!m) continue; // ./package.json and the like
    const file = fromSource ? join(root, 'src', `${m[1]}.ts`) : join(root, 'dist', `${m[1]}.js`);
    if (existsSync(file)) entries.set(key === '.' ? 'kiln' : `kiln/${key.slice(2)}`, pathToFileURL(file).href);
  }
  return entries;
}

/**
 * Lets a config file `import { defineConfig } from 'kiln'` (and `kiln/gbdt`, ...) wherever the project
 * lives, when the config is loaded through tsx: the bare specifiers resolve to this very kiln.
 */
function registerKilnResolver(entries: Map<string, string>): void {
  if (kilnResolverRegistered) return;
  kilnResolverRegistered = true;
  const code = `const ENTRIES = new Map(${JSON.stringify([...entries])});
export async function resolve(specifier, context, next) {
  const entry = ENTRIES.get(specifier);
  return next(entry ?? specifier, context);
}`;
  register(`data:text/javascript,${encodeURIComponent(code)}`);
  // A config outside any ESM package is compiled to CommonJS by tsx; its require('kiln') needs the same.
  const cjs = Module as unknown as { _resolveFilename: (request: string, ...rest: unknown[]) => string };
  const original = cjs._resolveFilename;
  const paths = new Map([...entries].map(([k, v]) => [k, fileURLToPath(v)]));
  cjs._resolveFilename = function (request: string, ...rest: unknown[]): string {
    return original.call(this, paths.get(request) ?? request, ...rest);
  };
}

/** Imports and validates a config file (TypeScript is compiled on the fly by tsx). */
export async function loadConfigFile(file: string): Promise<KilnConfig> {
  const entries = kilnEntries();
  let mod: { default?: unknown } | null;
  try {
    // esbuild first (~50 ms); a config that needs more than kiln and its own files goes through tsx (~1 s).
    mod = process.env.KILN_CONFIG_LOADER === 'tsx' ? null : await importConfigFast(file, (spec) => entries.get(spec) ?? null, JSON.stringify([...entries]));
    if (mod === null) {
      registerKilnResolver(entries);
      const { tsImport } = await import('tsx/esm/api');
      mod = (await tsImport(pathToFileURL(file).href, import.meta.url)) as { default?: unknown };
    }
  } catch (e) {
    if (isKilnError(e)) throw e;
    throw new KilnError('CONFIG_LOAD_FAILED', `cannot load ${file}: ${(e as Error).message}`, { cause: e });
  }
  let raw = mod.default;
  // Compiled to CommonJS, the module's exports object arrives as the default export.
  if (raw !== null && typeof raw === 'object' && 'default' in raw && ('__esModule' in raw || Object.keys(raw).length === 1)) {
    raw = (raw as { default: unknown }).default;
  }
  if (raw === undefined) {
    throw new KilnError('CONFIG_INVALID', `${file} has no default export; it should end with 'export default defineConfig({ ... })'.`);
  }
  return validateConfig(raw, file);
}
