import { expect } from 'vitest';
import { Rng } from '../../src/core/rng.js';
import type { EventRow } from '../../src/features/index.js';
import type { Project } from '../../src/store/index.js';

export type SqlType = 'BIGINT' | 'DOUBLE' | 'VARCHAR' | 'TIMESTAMP' | 'BOOLEAN' | 'DATE';
export const SECOND = 1_000_000;
export const HOUR = 3600 * SECOND;
export const DAY = 24 * HOUR;
/** 2024-01-01T00:00:00Z in epoch microseconds. */
export const T0 = Date.UTC(2024, 0, 1) * 1000;

function literal(v: unknown, type: SqlType): string {
  if (v === null || v === undefined) return 'NULL';
  if (type === 'TIMESTAMP') return `make_timestamp(${Number(v)}::BIGINT)`;
  if (type === 'VARCHAR') return `'${String(v).replace(/'/g, "''")}'`;
  if (type === 'BOOLEAN') return v ? 'TRUE' : 'FALSE';
  return String(v);
}

/** Creates (or replaces) a table with the given typed columns and rows; TIMESTAMP values are epoch µs. */
export async function createTable(project: Project, name: string, columns: Readonly<Record<string, SqlType>>, rows: readonly EventRow[]): Promise<void> {
  const cols = Object.entries(columns);
  await project.offline.run(`CREATE OR REPLACE TABLE "${name}" (${cols.map(([c, t]) => `"${c}" ${t}`).join(', ')})`);
  for (let i = 0; i < rows.length; i += 500) {
    const chunk = rows.slice(i, i + 500);
    if (chunk.length === 0) break;
    const values = chunk.map((r) => `(${cols.map(([c, t]) => literal(r[c], t)).join(', ')})`).join(', ');
    await project.offline.run(`INSERT INTO "${name}" VALUES ${values}`);
  }
}

export interface RandomStream {
  events: Record<string, unknown>[];
  profiles: Record<string, unknown>[];
  spine: { k: number; t: number; label: number }[];
}

/**
 * A seeded event stream that provokes the edge cases: timestamps on a coarse grid (duplicates), rows in
 * random order, NULL values, late rows (availability after the event time), entities without events, and
 * spine times on the grid, at event times and at event time + window.
 */
export function randomStream(seed: number, opts: { entities?: number; events?: number; spine?: number; windowsUs?: readonly number[] } = {}): RandomStream {
  const rng = new Rng(seed);
  const nEnt = opts.entities ?? 30;
  const cats = ['a', 'b', 'c', 'd'];
  const events: Record<string, unknown>[] = [];
  for (let i = 0; i < (opts.events ?? 1500); i++) {
    const k = rng.int(nEnt - 5); // the last 5 entities never have events
    const ts = T0 + rng.int(60 * 24) * HOUR + (rng.bernoulli(0.3) ? rng.int(60) * 60 * SECOND : 0);
    const late = rng.uniform();
    events.push({
      k, ts, id: rng.int(1000),
      av: late < 0.6 ? null : late < 0.85 ? ts + rng.int(72) * HOUR : ts,
      amount: rng.bernoulli(0.1) ? null : Math.round((rng.normal() * 50 + 20) * 100) / 100,
      qty: rng.bernoulli(0.1) ? null : rng.int(20),
      cat: rng.bernoulli(0.05) ? null : cats[rng.int(cats.length)]!,
      flag: rng.bernoulli(0.5),
    });
  }
  const profiles: Record<string, unknown>[] = [];
  for (let k = 0; k < nEnt; k++) {
    const versions = rng.int(3);
    for (let v = 0; v < versions; v++) {
      profiles.push({ k, valid_from: T0 + rng.int(60) * DAY, income: rng.bernoulli(0.1) ? null : 1000 + rng.int(5000), segment: cats[rng.int(3)]! });
    }
  }
  const spine: { k: number; t: number; label: number }[] = [];
  const windows = opts.windowsUs ?? [HOUR, DAY, 7 * DAY];
  for (let i = 0; i < (opts.spine ?? 200); i++) {
    const r = rng.uniform();
    const k = rng.int(nEnt + 2); // includes keys that appear nowhere
    let t = T0 + rng.int(62 * 24) * HOUR;
    if (r < 0.3 && events.length) {
      const e = events[rng.int(events.length)]!;
      t = (e.ts as number) + (rng.bernoulli(0.5) ? windows[rng.int(windows.length)]! : 0);
      spine.push({ k: e.k as number, t, label: rng.int(2) });
      continue;
    }
    spine.push({ k, t, label: rng.int(2) });
  }
  return { events, profiles, spine };
}

function close(a: unknown, e: unknown, path: string): void {
  if (typeof e === 'number' && typeof a === 'number') {
    const tol = 1e-9 * Math.max(Math.abs(e), Math.abs(a), 1);
    if (Math.abs(a - e) > tol) expect.fail(`${path}: got ${a}, expected ${e} (rtol 1e-9)`);
    return;
  }
  if (Array.isArray(e) && Array.isArray(a)) {
    if (a.length !== e.length) expect.fail(`${path}: list length ${a.length}, expected ${e.length}: ${JSON.stringify(a)} vs ${JSON.stringify(e)}`);
    e.forEach((x, i) => close(a[i], x, `${path}[${i}]`));
    return;
  }
  if (e !== null && typeof e === 'object' && a !== null && typeof a === 'object') {
    for (const k of Object.keys(e)) close((a as Record<string, unknown>)[k], (e as Record<string, unknown>)[k], `${path}.${k}`);
    return;
  }
  if (a !== e) expect.fail(`${path}: got ${JSON.stringify(a)}, expected ${JSON.stringify(e)}`);
}

/** DuckDB output (timestamps inside lists as Dates) in the naive evaluator's terms (epoch µs). */
export function normalise(v: unknown): unknown {
  if (v instanceof Date) return v.getTime() * 1000;
  if (Array.isArray(v)) return v.map(normalise);
  if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, normalise(x)]));
  if (typeof v === 'bigint') return Number(v);
  return v;
}

/** Compares feature columns of the training set with the naive evaluator's rows, row by row. */
export function expectParity(actual: readonly Record<string, unknown>[], expected: readonly Record<string, unknown>[], context: (i: number) => string): void {
  expect(actual.length).toBe(expected.length);
  expected.forEach((e, i) => {
    for (const col of Object.keys(e)) close(normalise(actual[i]![col]), e[col], `row ${i} (${context(i)}) ${col}`);
  });
}
