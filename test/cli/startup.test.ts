import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DEFAULT_WAIT_TIMEOUT_SECONDS as CLI_DEFAULT } from '../../src/cli/program.js';
import { DEFAULT_WAIT_TIMEOUT_SECONDS } from '../../src/store/index.js';
import { tempDir } from '../helpers.js';

const ROOT = join(import.meta.dirname, '..', '..');

/** The modules a file loads when it is imported: static imports only (not `import type`, not `await import()`). */
function staticGraph(entry: string): { files: Set<string>; packages: Map<string, string> } {
  const files = new Set<string>();
  const packages = new Map<string, string>();
  const visit = (file: string): void => {
    if (files.has(file)) return;
    files.add(file);
    for (const m of readFileSync(file, 'utf8').matchAll(/^(?:import|export)\s+(?!type\b)[^'"]*?from\s+'([^']+)'/gm)) {
      const spec = m[1]!;
      if (spec.startsWith('.')) visit(join(file, '..', spec.replace(/\.js$/, '.ts')));
      else if (!spec.startsWith('node:') && !packages.has(spec)) packages.set(spec, relative(ROOT, file));
    }
  };
  visit(entry);
  return { files, packages };
}

describe('kiln start-up', () => {
  it('builds the whole program (every command and option, for --help) without loading an engine', () => {
    const { files, packages } = staticGraph(join(ROOT, 'src', 'cli', 'main.ts'));
    expect([...packages.keys()].sort()).toEqual(['commander']);
    const loaded = [...files].map((f) => relative(join(ROOT, 'src'), f)).filter((f) => !f.startsWith('cli/'));
    // core (errors, progress...), the feature DSL and the registry's SQL are plain TypeScript.
    expect(loaded.filter((f) => !/^(core|features|registry|config\/formats)\//.test(f))).toEqual([]);
    expect(loaded.some((f) => /^(store|gbdt|online|pipelines|sim|eval|ui)\//.test(f))).toBe(false);
  });

  it('opens a project (meta.sqlite) without loading DuckDB: it loads on first use of the offline store', () => {
    const { packages } = staticGraph(join(ROOT, 'src', 'store', 'open', 'index.ts'));
    expect([...packages.keys()].filter((p) => p.startsWith('@duckdb/'))).toEqual([]);
    expect(readFileSync(join(ROOT, 'src', 'cli', 'project-option.ts'), 'utf8')).toContain("await import('../store/open/index.js')");
  });

  it("repeats the store's default --wait-timeout in the help text", () => {
    expect(CLI_DEFAULT).toBe(DEFAULT_WAIT_TIMEOUT_SECONDS);
  });
});

describe('bin/kiln.js', () => {
  const { dir, cleanup } = tempDir('kiln-bin-');
  afterAll(cleanup);
  // A miniature kiln: the real bin/kiln.js, a src/ and a dist/ that each say which one ran.
  mkdirSync(join(dir, 'bin'));
  copyFileSync(join(ROOT, 'bin', 'kiln.js'), join(dir, 'bin', 'kiln.js'));
  writeFileSync(join(dir, 'package.json'), '{"type":"module"}');
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
  mkdirSync(join(dir, 'src', 'cli'), { recursive: true });
  writeFileSync(join(dir, 'src', 'cli', 'main.ts'), "const from: string = 'src';\nconsole.log(from);\n");
  const build = (at: Date): void => {
    mkdirSync(join(dir, 'dist', 'cli'), { recursive: true });
    writeFileSync(join(dir, 'dist', 'cli', 'main.js'), "console.log('dist');\n");
    writeFileSync(join(dir, 'dist', '.kiln-build'), at.toISOString());
    utimesSync(join(dir, 'dist', '.kiln-build'), at, at);
  };
  const run = (env: NodeJS.ProcessEnv = {}): string =>
    execFileSync(process.execPath, [join(dir, 'bin', 'kiln.js')], { env: { ...process.env, KILN_FROM_SOURCE: '', ...env }, encoding: 'utf8' }).trim();
  const past = new Date(Date.now() - 60_000);
  const setTree = (t: Date): void => {
    for (const p of ['src', 'src/cli', 'src/cli/main.ts']) utimesSync(join(dir, p), t, t);
  };

  it('runs src/ through tsx when there is no dist/', () => {
    expect(run()).toBe('src');
  });

  it('runs dist/ when no file or folder under src/ is newer than its build stamp', () => {
    setTree(past);
    build(new Date());
    expect(run()).toBe('dist');
    expect(run({ KILN_FROM_SOURCE: '1' })).toBe('src');
  });

  it('runs src/ when a source file was edited after the build', () => {
    setTree(past);
    build(new Date(Date.now() - 30_000));
    utimesSync(join(dir, 'src', 'cli', 'main.ts'), new Date(), new Date());
    expect(run()).toBe('src');
  });

  it('runs src/ when a source file was added or removed after the build (its folder changed)', () => {
    setTree(past);
    build(new Date(Date.now() - 30_000));
    writeFileSync(join(dir, 'src', 'cli', 'extra.ts'), '');
    rmSync(join(dir, 'src', 'cli', 'extra.ts'));
    utimesSync(join(dir, 'src', 'cli', 'main.ts'), past, past);
    expect(run()).toBe('src');
  });

  it('runs src/ when dist/ has no build stamp (a build that did not finish)', () => {
    setTree(past);
    build(new Date());
    rmSync(join(dir, 'dist', '.kiln-build'));
    expect(run()).toBe('src');
  });
});
