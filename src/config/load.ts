import { existsSync, statSync } from 'node:fs';
import Module, { register } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { KilnError, isKilnError } from '../core/errors.js';
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
 * Lets a config file `import { defineConfig } from 'kiln'` wherever the project lives: the bare
 * specifier resolves to this very kiln, so the config always runs against the kiln that loads it.
 */
function registerKilnResolver(): void {
  if (kilnResolverRegistered) return;
  kilnResolverRegistered = true;
  const here = fileURLToPath(import.meta.url);
  const ext = here.endsWith('.ts') ? '.ts' : '.js';
  const entry = pathToFileURL(join(dirname(here), '..', `index${ext}`)).href;
  const code = `const ENTRY = ${JSON.stringify(entry)};
export async function resolve(specifier, context, next) {
  if (specifier === 'kiln') return next(ENTRY, context);
  return next(specifier, context);
}`;
  register(`data:text/javascript,${encodeURIComponent(code)}`);
  // A config outside any ESM package is compiled to CommonJS by tsx; its require('kiln') needs the same.
  const cjs = Module as unknown as { _resolveFilename: (request: string, ...rest: unknown[]) => string };
  const original = cjs._resolveFilename;
  const entryPath = fileURLToPath(entry);
  cjs._resolveFilename = function (request: string, ...rest: unknown[]): string {
    return original.call(this, request === 'kiln' ? entryPath : request, ...rest);
  };
}

/** Imports and validates a config file (TypeScript is compiled on the fly by tsx). */
export async function loadConfigFile(file: string): Promise<KilnConfig> {
  registerKilnResolver();
  let mod: { default?: unknown };
  try {
    const { tsImport } = await import('tsx/esm/api');
    mod = (await tsImport(pathToFileURL(file).href, import.meta.url)) as { default?: unknown };
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
