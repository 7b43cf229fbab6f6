import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..', '..');
const MAX_LINES = 400;
/** A file may go past the limit only with this note and a reason after it. */
const ALLOW = /kiln: long-file — \S/;

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? files(p) : p.endsWith('.ts') ? [p] : [];
  });
}

describe('repository layout', () => {
  it(`keeps source files under ${MAX_LINES} lines (split by concept, or note why not)`, () => {
    const long = files(join(ROOT, 'src'))
      .map((f) => ({ f: relative(ROOT, f), text: readFileSync(f, 'utf8') }))
      .filter(({ text }) => text.split('\n').length > MAX_LINES && !ALLOW.test(text))
      .map(({ f, text }) => `${f}: ${text.split('\n').length} lines`);
    expect(long).toEqual([]);
  });

  it('gives every stage folder an index.ts, and other stages import only that', () => {
    const src = join(ROOT, 'src');
    const stages = readdirSync(src).filter((d) => statSync(join(src, d)).isDirectory());
    expect(stages.filter((s) => !files(join(src, s)).includes(join(src, s, 'index.ts'))).map((s) => `src/${s} has no index.ts`)).toEqual([]);
    const deep: string[] = [];
    for (const f of files(src)) {
      const own = relative(src, f).split('/')[0];
      for (const m of readFileSync(f, 'utf8').matchAll(/from '\.\.\/(?:\.\.\/)*([a-z]+)\/([^']+)'/g)) {
        const [, stage, rest] = m;
        // core/ is the shared kernel (errors, rng, progress) and may be imported file by file; a stage may
        // have sub-entries (features/training/index.ts: the engine, kept apart from the light DSL).
        if (stage !== own && stage !== 'core' && !/^([a-z-]+\/)?index\.js$/.test(rest!) && stages.includes(stage!)) deep.push(`${relative(ROOT, f)} imports ${stage}/${rest}`);
      }
    }
    expect(deep).toEqual([]);
  });
});

/**
 * The modules of src/ and the modules each one loads: static `import ... from` and `export ... from` of
 * relative paths. `import type` / `export type` are left out: they are erased from the JavaScript and load
 * nothing, so they cannot make a cycle at run time (type-only references between files are fine for
 * TypeScript). `import { type A } from` is kept: with verbatimModuleSyntax it still loads the module.
 * `await import()` is left out: it runs after both modules have finished loading.
 */
function importGraph(dir: string): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const f of files(dir)) {
    const text = readFileSync(f, 'utf8').replace(/\/\*[\s\S]*?\*\//g, '');
    const deps: string[] = [];
    for (const m of text.matchAll(/^(?:import|export)\s+(?!type\b)(?:[^'";]*?\sfrom\s+)?'(\.[^']+)'/gm)) {
      deps.push(join(f, '..', m[1]!.replace(/\.js$/, '.ts')));
    }
    graph.set(f, deps);
  }
  return graph;
}

/** Every import cycle, each as the path of files around it (first file repeated at the end), one per cycle. */
function importCycles(graph: Map<string, string[]>): string[][] {
  const cycles: string[][] = [];
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const seen = new Set<string>();
  const visit = (f: string): void => {
    state.set(f, 'open');
    stack.push(f);
    for (const d of graph.get(f) ?? []) {
      if (state.get(d) === 'open') {
        const cycle = [...stack.slice(stack.indexOf(d)), d];
        const key = [...cycle.slice(0, -1)].sort().join('|');
        if (!seen.has(key)) { seen.add(key); cycles.push(cycle); }
      } else if (!state.has(d) && graph.has(d)) visit(d);
    }
    stack.pop();
    state.set(f, 'done');
  };
  for (const f of [...graph.keys()].sort()) if (!state.has(f)) visit(f);
  return cycles;
}

describe('import cycles', () => {
  it('has none among the modules of src/ (a module must not load, through others, a module that loads it)', () => {
    const cycles = importCycles(importGraph(join(ROOT, 'src'))).map((c) => c.map((f) => relative(ROOT, f)).join(' -> '));
    expect(cycles).toEqual([]);
  });

  it('finds a cycle and reports its path', () => {
    const g = new Map([['a', ['b']], ['b', ['c']], ['c', ['a', 'd']], ['d', []], ['e', ['e']]]);
    expect(importCycles(g)).toEqual([['a', 'b', 'c', 'a'], ['e', 'e']]);
    expect(importCycles(new Map([['a', ['b']], ['b', []], ['c', ['a', 'b']]]))).toEqual([]);
  });
});

describe('the declaration layer', () => {
  it('imports nothing heavy: kiln.config.ts pulls in neither DuckDB, SQLite nor the engines', () => {
    const heavy = /^(@duckdb\/|better-sqlite3|fastify|@tensorflow\/|vega|ioredis|bullmq|pg|apache-arrow|onnxruntime)/;
    const seen = new Set<string>();
    const offenders: string[] = [];
    const visit = (file: string, chain: string[]): void => {
      if (seen.has(file)) return;
      seen.add(file);
      const text = readFileSync(file, 'utf8');
      for (const m of text.matchAll(/^(?:import|export)\s+(?!type\b)[^'"]*?from\s+'([^']+)'/gm)) {
        const spec = m[1]!;
        if (spec.startsWith('.')) visit(join(file, '..', spec.replace(/\.js$/, '.ts')), [...chain, relative(ROOT, file)]);
        else if (heavy.test(spec)) offenders.push(`${[...chain, relative(ROOT, file)].join(' -> ')} imports ${spec}`);
      }
    };
    visit(join(ROOT, 'src', 'index.ts'), []);
    expect(offenders).toEqual([]);
    expect(seen.size).toBeGreaterThan(5);
  });
});
