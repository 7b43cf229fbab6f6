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
