import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { vendoredDuckdbApi } from '../../src/store/duckdb.js';
import { tempDir } from '../helpers.js';
// @ts-expect-error: a plain .mjs build script, without types
import { bundleDuckdbApi } from '../../scripts/vendor-duckdb.mjs';

const ROOT = resolve(import.meta.dirname, '../..');
const cleanups: (() => void)[] = [];
afterEach(() => { while (cleanups.length) cleanups.pop()!(); });

function vendor(): string {
  const t = tempDir('kiln-vendor-');
  cleanups.push(t.cleanup);
  (bundleDuckdbApi as (root: string, out: string) => void)(ROOT, t.dir);
  return join(t.dir, 'duckdb-node-api.cjs');
}

describe("the build's one-file @duckdb/node-api", () => {
  it('is the installed package in one file: same exports, and it runs queries', async () => {
    const bundle = vendor();
    const api = vendoredDuckdbApi(bundle);
    expect(api).not.toBeNull();
    const pkg = createRequire(import.meta.url)('@duckdb/node-api') as Record<string, unknown>;
    expect(Object.keys(api!).sort()).toEqual(Object.keys(pkg).sort());
    const instance = await api!.DuckDBInstance.create(':memory:');
    const con = await instance.connect();
    const rows = (await con.runAndReadAll(`SELECT 41 + 1 AS n, TIMESTAMP '2024-01-02 03:04:05' AS t`)).getRowObjectsJS();
    expect(rows[0]!.n).toBe(42);
    expect(rows[0]!.t).toEqual(new Date('2024-01-02T03:04:05Z'));
    con.closeSync();
    instance.closeSync();
  });

  it('is not used when absent, or when made from another version or copy of the package', () => {
    const bundle = vendor();
    const meta = bundle.replace(/\.cjs$/, '.json');
    const made = JSON.parse(readFileSync(meta, 'utf8')) as { dir: string; version: string };
    expect(vendoredDuckdbApi(join(bundle, '..', 'absent.cjs'))).toBeNull();
    writeFileSync(meta, JSON.stringify({ ...made, version: '0.0.1' }));
    expect(vendoredDuckdbApi(bundle)).toBeNull();
    writeFileSync(meta, JSON.stringify({ ...made, dir: join(made.dir, '..', 'elsewhere') }));
    expect(vendoredDuckdbApi(bundle)).toBeNull();
  });
});
