/**
 * The fast way to load a kiln.config.ts: esbuild (tsx's own compiler) bundles the config with the local
 * files it imports into one ES module, `kiln` and `kiln/...` stay imports of the running kiln's entries,
 * and Node imports the result. A config loaded through tsx's loader instead takes ~1 s (tsx reloads every
 * module the config reaches through its hooks thread); this takes ~50 ms. A config this path cannot take
 * (it imports another package, uses require(), or fails to compile) returns null, and load.ts loads it
 * with tsx as before, with the same messages.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { builtinModules, createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';

/** The subset of esbuild's API used here (esbuild comes with tsx, which kiln depends on). */
interface Esbuild {
  build(options: Record<string, unknown>): Promise<{ outputFiles?: { text: string }[]; metafile?: { inputs: Record<string, unknown> } }>;
}

interface ResolveArgs { path: string; importer: string; kind: string }
interface LoadArgs { path: string }
interface PluginBuild {
  onResolve(o: { filter: RegExp }, cb: (a: ResolveArgs) => { path?: string; external?: boolean } | undefined): void;
  onLoad(o: { filter: RegExp }, cb: (a: LoadArgs) => { contents: string; loader: string }): void;
}

let esbuildModule: Promise<Esbuild> | undefined;

function loadEsbuild(): Promise<Esbuild> {
  // Resolved from tsx's own folder, so it is the esbuild that tsx uses, wherever npm put it.
  // require(), not import(): esbuild is CommonJS, and import() would first scan all of it for exports.
  esbuildModule ??= (async () => {
    const fromTsx = createRequire(createRequire(import.meta.url).resolve('tsx/package.json'));
    return fromTsx('esbuild') as Esbuild;
  })();
  return esbuildModule;
}

const BUILTINS = new Set(builtinModules);
const JS_OR_TS = /\.(?:[cm]?ts|tsx|[cm]?js|jsx)$/;
/** What esbuild's ES module output holds when its input used CommonJS. */
const COMMONJS = /\b(?:__require|__commonJS|__dirname|__filename)\b/;

/**
 * Compiles and imports `file`, resolving `kiln` and `kiln/...` with `resolveKiln` (a file URL, or null
 * for an entry kiln does not have). Null when the config needs the general loader. `kilnKey` names every
 * such resolution (all of `resolveKiln`'s answers); with it, the compiled form is kept in `.kiln/cache/`.
 */
export async function importConfigFast(file: string, resolveKiln: (specifier: string) => string | null, kilnKey = ''): Promise<{ default?: unknown } | null> {
  const cache = kilnKey ? compiledCache(file, kilnKey) : null;
  if (cache?.hit) {
    try {
      return await importFresh(cache.path);
    } catch {
      // Pruned meanwhile by another process, or the config throws: compile and import it as below.
    }
  }
  let esbuild: Esbuild;
  try {
    esbuild = await loadEsbuild();
  } catch {
    return null;
  }
  let unsupported = false;
  const plugin = {
    name: 'kiln-config',
    setup(build: PluginBuild): void {
      build.onResolve({ filter: /^[^./]/ }, (a) => {
        if (a.path === 'kiln' || a.path.startsWith('kiln/')) {
          const url = resolveKiln(a.path);
          if (url === null) { unsupported = true; return undefined; }
          return { path: url, external: true };
        }
        if (a.path.startsWith('node:') || BUILTINS.has(a.path)) return { path: a.path, external: true };
        unsupported = true; // another package: resolved from the config's folder by the general loader
        return { path: a.path, external: true };
      });
      // Each file keeps its own import.meta.url, although the bundle is imported from elsewhere.
      build.onLoad({ filter: JS_OR_TS }, (a) => {
        const url = pathToFileURL(a.path).href;
        const contents = readFileSync(a.path, 'utf8')
          .replace(/\bimport\.meta\.url\b/g, JSON.stringify(url))
          .replace(/\bimport\.meta\.dirname\b/g, JSON.stringify(dirname(a.path)))
          .replace(/\bimport\.meta\.filename\b/g, JSON.stringify(a.path));
        const ext = /\.([cm]?)(ts|tsx|js|jsx)$/.exec(a.path)![2]!;
        return { contents, loader: ext };
      });
    },
  };
  let text: string;
  let localInputs = 0;
  try {
    const r = await esbuild.build({
      entryPoints: [file], bundle: true, write: false, format: 'esm', platform: 'node', target: 'node20',
      logLevel: 'silent', sourcemap: 'inline', plugins: [plugin], metafile: true,
    });
    text = r.outputFiles?.[0]?.text ?? '';
    // Only a config without local imports is cached: its output depends on nothing but the key's parts.
    localInputs = Object.keys(r.metafile?.inputs ?? {}).length;
  } catch {
    return null; // a syntax error: the general loader reports it as it always has
  }
  // CommonJS in the config (require, module.exports, __dirname): tsx runs it as CommonJS, as before.
  if (unsupported || text === '' || COMMONJS.test(text)) return null;
  if (cache && localInputs === 1 && storeCompiled(cache.path, text)) return importFresh(cache.path);
  // A temporary file (not a data: URL) so that test runners and source maps treat it as a file.
  let dir: string;
  const out = (): string => join(dir, 'kiln.config.mjs');
  try {
    dir = mkdtempSync(join(tmpdir(), 'kiln-config-'));
    writeFileSync(out(), text);
  } catch {
    return null; // no writable temporary folder
  }
  try {
    return (await import(pathToFileURL(out()).href)) as { default?: unknown };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Each load evaluates the config anew, as a fresh compile would (the URL's query makes it a new module). */
let loads = 0;
function importFresh(path: string): Promise<{ default?: unknown }> {
  return import(`${pathToFileURL(path).href}?load=${++loads}`) as Promise<{ default?: unknown }>;
}

const CACHE_FORMAT = 1;
const CACHE_KEEP = 8;

/**
 * Where the compiled form of `file` is (or would be) kept: `.kiln/cache/` beside the config, when that
 * folder's `.kiln` exists. The name is the sha256 of everything the output depends on, for a config that
 * imports no local file: the config's bytes and path, what `kiln` and `kiln/...` resolve to, and esbuild's
 * version. A changed config is a new name, so a stale entry cannot be read. Saves esbuild's ~25 ms on
 * every command that loads the config. Null when there is nowhere to keep it or esbuild's version is unknown.
 */
function compiledCache(file: string, kilnKey: string): { path: string; hit: boolean } | null {
  try {
    const dataDir = join(dirname(file), '.kiln');
    if (!existsSync(dataDir)) return null;
    const esbuildPkg = createRequire(createRequire(import.meta.url).resolve('tsx/package.json')).resolve('esbuild/package.json');
    const esbuildVersion = (JSON.parse(readFileSync(esbuildPkg, 'utf8')) as { version: string }).version;
    const hash = createHash('sha256')
      .update(JSON.stringify({ format: CACHE_FORMAT, esbuild: esbuildVersion, file, kiln: kilnKey, node: process.version }))
      .update(readFileSync(file))
      .digest('hex');
    const path = join(dataDir, 'cache', `config-${hash.slice(0, 32)}.mjs`);
    return { path, hit: existsSync(path) };
  } catch {
    return null;
  }
}

/** Writes the compiled config atomically and keeps the newest few; false when it cannot be written (then the temporary file is used). */
function storeCompiled(path: string, text: string): boolean {
  try {
    const dir = dirname(path);
    mkdirSync(dir, { recursive: true });
    const tmp = `${path}.${process.pid}.tmp`;
    writeFileSync(tmp, text);
    renameSync(tmp, path);
    const old = readdirSync(dir).filter((f) => /^config-[0-9a-f]+\.mjs$/.test(f)).map((f) => ({ f, t: statSync(join(dir, f)).mtimeMs })).sort((a, b) => b.t - a.t);
    for (const { f } of old.slice(CACHE_KEEP)) rmSync(join(dir, f), { force: true });
    return true;
  } catch {
    return false;
  }
}
