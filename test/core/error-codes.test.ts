import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { reportError } from '../../src/cli/output.js';
import { ERROR_CODES, exitCode, httpStatus } from '../../src/core/error-codes.js';
import { KilnError, type KilnErrorCode } from '../../src/core/errors.js';

const ROOT = join(import.meta.dirname, '..', '..');
const DOC = readFileSync(join(ROOT, 'docs', 'errors.md'), 'utf8');

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? files(p) : p.endsWith('.ts') ? [p] : [];
  });
}

/** The codes of the KilnErrorCode union, read from its source. */
function unionCodes(): string[] {
  const text = readFileSync(join(ROOT, 'src', 'core', 'errors.ts'), 'utf8').replace(/\/\/.*$/gm, '');
  const start = text.indexOf('export type KilnErrorCode =');
  const union = text.slice(start, text.indexOf(';', start));
  return [...union.matchAll(/\|\s*'([A-Z_]+)'/g)].map((m) => m[1]!);
}

/** Every code that src/ names where it throws or tests an error: KilnError('X', ...), isKilnError(e, 'X'). */
function codesUsedInSrc(): Map<string, string> {
  const used = new Map<string, string>();
  for (const f of files(join(ROOT, 'src'))) {
    const text = readFileSync(f, 'utf8');
    for (const m of text.matchAll(/(?:KilnError\(\s*|isKilnError\([^,()]+,\s*)'([A-Z_]+)'/g)) used.set(m[1]!, relative(ROOT, f));
  }
  return used;
}

/** The rows of the first Markdown table after a heading of docs/errors.md. */
function table(heading: string): string[][] {
  const start = DOC.indexOf(`\n## ${heading}\n`);
  expect(start, `docs/errors.md has a '## ${heading}' section`).toBeGreaterThanOrEqual(0);
  const lines = DOC.slice(start).split('\n');
  const first = lines.findIndex((l) => l.startsWith('|'));
  const rows: string[][] = [];
  for (const l of lines.slice(first + 2)) {
    if (!l.startsWith('|')) break;
    rows.push(l.split(' | ').map((c) => c.replace(/^\| ?| ?\|$/g, '').trim()));
  }
  return rows;
}

describe('the error-code table', () => {
  it('has exactly the codes of KilnErrorCode', () => {
    expect(Object.keys(ERROR_CODES).sort()).toEqual(unionCodes().sort());
  });

  it('covers every code that src/ throws or tests for', () => {
    const used = codesUsedInSrc();
    expect(used.size).toBeGreaterThan(30);
    const missing = [...used].filter(([c]) => !(c in ERROR_CODES)).map(([c, f]) => `${c} (${f})`);
    expect(missing).toEqual([]);
  });

  it('keeps INVALID_ARGUMENT for library calls: the CLI says USAGE for a bad flag', () => {
    const cli = files(join(ROOT, 'src', 'cli')).filter((f) => /KilnError\(\s*'INVALID_ARGUMENT'/.test(readFileSync(f, 'utf8')));
    expect(cli.map((f) => relative(ROOT, f))).toEqual([]);
  });

  it('uses HTTP statuses and sysexits-style exit codes only, each consistent with its class', () => {
    const http = new Set([400, 401, 403, 404, 409, 413, 422, 499, 500, 503]); // 401, 403, 413: serving (issue 13)
    const exits = new Set([64, 65, 66, 69, 70, 71, 72, 73, 74, 75, 77, 78, 130]);
    for (const [code, e] of Object.entries(ERROR_CODES)) {
      expect(http.has(e.http), `${code}: HTTP ${e.http}`).toBe(true);
      expect(exits.has(e.exit), `${code}: exit ${e.exit}`).toBe(true);
      expect(e.summary.length, `${code} has a summary`).toBeGreaterThan(10);
      if (code.endsWith('_NOT_FOUND')) expect([e.http, code], 'a *_NOT_FOUND code is a 404').toEqual([404, code]);
    }
    expect(ERROR_CODES.INTERNAL).toMatchObject({ http: 500, exit: 70 });
    expect(ERROR_CODES.INTERRUPTED.exit).toBe(130);
    expect(ERROR_CODES.STORE_BUSY).toMatchObject({ http: 503, exit: 75 });
    expect(ERROR_CODES.USAGE).toMatchObject({ http: 400, exit: 64 });
    expect(ERROR_CODES.CONFIG_INVALID).toMatchObject({ http: 400, exit: 78 });
  });

  it('is what docs/errors.md lists, code by code, each with a usual fix', () => {
    const rows = table('Codes');
    const generated = Object.entries(ERROR_CODES).map(([c, e]) => [`\`${c}\``, String(e.http), String(e.exit), e.summary]);
    // On failure, the expected rows are printed: paste them over the doc's rows and write the fix column.
    expect(rows.map((r) => r.slice(0, 4)), 'docs/errors.md is stale; regenerate its table from ERROR_CODES').toEqual(generated);
    for (const r of rows) expect(r[4] ?? '', `${r[0]} has a usual fix`).toMatch(/\S{3}/);
  });
});

describe('httpStatus, exitCode and toJSON', () => {
  it('map a KilnError through the table, and anything else as a bug', () => {
    const codes: [KilnErrorCode, number, number][] = [
      ['ONLINE_UNAVAILABLE', 503, 69], ['MODEL_NOT_FOUND', 404, 66], ['EVENT_KEY_CONFLICT', 409, 65],
      ['GBDT_DATA_INVALID', 422, 65], ['PROJECT_READONLY', 500, 77], ['INTERRUPTED', 499, 130],
    ];
    for (const [code, http, exit] of codes) {
      const e = new KilnError(code, 'x');
      expect([code, httpStatus(e), exitCode(e)]).toEqual([code, http, exit]);
    }
    expect([httpStatus(new TypeError('bug')), exitCode(new TypeError('bug'))]).toEqual([500, 70]);
    expect([httpStatus('thrown string'), exitCode(undefined)]).toEqual([500, 70]);
  });

  it('serialises to { code, message, path } without details, cause or stack', () => {
    const e = new KilnError('USAGE', '--limit ten: expected a whole number >= 0', { path: ['limit'], details: { got: 'ten' }, cause: new Error('x') });
    expect(JSON.parse(JSON.stringify(e))).toEqual({ code: 'USAGE', message: '--limit ten: expected a whole number >= 0', path: ['limit'] });
    expect(JSON.parse(JSON.stringify(new KilnError('INTERNAL', 'y')))).toEqual({ code: 'INTERNAL', message: 'y' });
  });
});

describe('reportError exit codes', () => {
  const quietly = (e: unknown): number => {
    const write = process.stderr.write.bind(process.stderr);
    process.stderr.write = (() => true) as typeof process.stderr.write;
    try { return reportError(e); } finally { process.stderr.write = write; }
  };

  it('come from the table for a KilnError, 64 for a rejected command line, 70 for a bug', () => {
    for (const code of Object.keys(ERROR_CODES) as KilnErrorCode[]) expect([code, quietly(new KilnError(code, 'x'))]).toEqual([code, ERROR_CODES[code].exit]);
    expect(quietly(Object.assign(new Error("unknown option '--nope'"), { code: 'commander.unknownOption' }))).toBe(64);
    expect(quietly(new RangeError('bug'))).toBe(70);
  });
});
