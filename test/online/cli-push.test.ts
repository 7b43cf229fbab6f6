/**
 * `kiln online push` on a table with a declared key (`tables.payments.key`): re-pushing a file (or events
 * already materialised) skips them as duplicates, and a push stopped with SIGINT in a real child process
 * says what it wrote and can be re-run to the same state as one clean push.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isKilnError } from '../../src/core/errors.js';
import { tempProject, write } from '../helpers.js';
import { createTable } from '../features/helpers.js';
import { iso, runOnline } from './cli-runner.js';
import { DAY, HOUR, SECOND, T0 } from './helpers.js';

const DSL = resolve(import.meta.dirname, '../../src/features/index.js');
const BIN = resolve(import.meta.dirname, '../../bin/kiln.js');
const config = (name: string): string => `import { defineConfig } from 'kiln';
import { count, entity, eventSource, featureSet, last, sum } from ${JSON.stringify(DSL)};
const user = entity('user', { key: 'user_id' });
const pay = eventSource('payments', { entity: user, timestamp: 'ts', columns: { amount: 'double' } });
const n = count(pay, { name: 'n_7d', window: '7d' });
const s = sum(pay, 'amount', { name: 'sum_30d', window: '30d' });
const all = count(pay, { name: 'n_all', window: 'lifetime' });
export default defineConfig({ name: '${name}', tables: { payments: { key: 'txn_id' } }, features: [user, pay, n, s, all, last(pay, 'amount', { name: 'last_amount', window: 'lifetime' }), featureSet('basic', [n, s, all])] });
`;

let stderr = '';
async function kiln(dir: string, ...args: string[]): Promise<string> {
  const r = await runOnline(dir, args);
  stderr = r.stderr;
  return r.stdout;
}

const AT = iso(T0 + 40 * DAY);
const IDS = Array.from({ length: 50 }, (_, i) => String(i));
/** 6,000 events of 50 users over 30 days, keyed by txn_id. */
const LINES = Array.from({ length: 6000 }, (_, i) => JSON.stringify({ txn_id: 10_000 + i, user_id: i % 50, ts: iso(T0 + Math.floor(i * 7.2 * 60) * SECOND), amount: (i % 13) + 0.5 }));

type Project = Awaited<ReturnType<typeof tempProject>>;
async function project(name: string): Promise<Project> {
  const p = await tempProject(config(name));
  await createTable(p.project, 'payments', { txn_id: 'BIGINT', user_id: 'BIGINT', ts: 'TIMESTAMP', amount: 'DOUBLE' }, [
    { txn_id: 1, user_id: 1, ts: T0, amount: 4 }, { txn_id: 2, user_id: 1, ts: T0 + DAY, amount: 6 },
  ]);
  p.project.close();
  return p;
}
const features = async (dir: string): Promise<unknown> => JSON.parse(await kiln(dir, 'get', ...IDS, '--as-of', AT, '--json', '--allow-unknown'));

describe('kiln online push, idempotent by the table key', () => {
  const made: Project[] = [];
  let clean: unknown;
  let file: string;
  beforeAll(async () => {
    const p = await project('clean');
    made.push(p);
    file = write(p.dir, 'events.ndjson', `${LINES.join('\n')}\n`);
    await kiln(p.dir, 'materialize', '--as-of', iso(T0 + 2 * DAY), '--json');
    const first = JSON.parse(await kiln(p.dir, 'push', file, '--source', 'payments', '--batch', '500', '--json')) as Record<string, number>;
    expect(first).toMatchObject({ rows: 6000, events: 6000, duplicates: 0 });
    clean = await features(p.dir);
  });
  afterAll(() => { for (const p of made) p.cleanup(); });

  it('skips a re-pushed file and events already materialised, as duplicates', async () => {
    const dir = made[0]!.dir;
    const again = JSON.parse(await kiln(dir, 'push', file, '--source', 'payments', '--json')) as Record<string, number>;
    expect(again).toMatchObject({ rows: 6000, events: 0, duplicates: 6000 });
    // without --json, the final progress line says what happened (plain, as stderr is not a terminal here)
    expect(await kiln(dir, 'push', file, '--source', 'payments', '--batch', '1000')).toBe('');
    // the last line; a slow machine may print intermediate lines before it (every few seconds)
    expect(stderr).toMatch(/(^|\n)push {2}100\.0% {2}6000\/6000 records {2}\S+ records\/s {2}in \S+ {2}0 events written, 6000 duplicates skipped \(already stored\)\n$/);
    expect(stderr.split('\n').filter(Boolean).every((l) => l.startsWith('push '))).toBe(true);
    const old = write(dir, 'old.ndjson', `${JSON.stringify({ txn_id: 2, user_id: 1, ts: iso(T0 + DAY), amount: 6 })}\n${JSON.stringify({ txn_id: 3, user_id: 1, ts: iso(T0 + DAY), amount: 1 })}\n`);
    expect(JSON.parse(await kiln(dir, 'push', old, '--table', 'payments', '--json'))).toMatchObject({ events: 1, duplicates: 1 });
    const rows = await features(dir) as Record<string, unknown>[];
    expect(rows[1]!.n_all).toBe((clean as Record<string, unknown>[])[1]!.n_all as number + 1);
    const changed = write(dir, 'changed.ndjson', `${JSON.stringify({ txn_id: 3, user_id: 1, ts: iso(T0 + DAY), amount: 2 })}\n`);
    const e = await kiln(dir, 'push', changed, '--source', 'payments').catch((x: unknown) => x);
    expect(isKilnError(e, 'EVENT_KEY_CONFLICT') && e.message).toMatch(/line 1: txn_id = "3" \(entity 1, source 'payments'\)/);
  });

  it('stops a push on SIGINT in a real process, says what it wrote, and a re-run equals one clean push', async () => {
    const p = await project('killed');
    made.push(p);
    await kiln(p.dir, 'materialize', '--as-of', iso(T0 + 2 * DAY), '--json');
    // Events come through stdin, so the test decides how far the push has got when the signal arrives.
    const child = spawn(process.execPath, [BIN, '--project', p.dir, 'online', 'push', '-', '--source', 'payments', '--batch', '500'], { env: { ...process.env, NO_COLOR: '1' }, stdio: ['pipe', 'pipe', 'pipe'] });
    let err = '';
    child.stderr.on('data', (c: Buffer) => { err += String(c); });
    const exited = new Promise<number | null>((res) => child.on('exit', (code) => res(code)));
    const wal = join(p.dir, '.kiln', 'online.sqlite-wal');
    for (let i = 0; i < 300 && !existsSync(wal); i++) await new Promise((r) => setTimeout(r, 100)); // the store is open
    expect(existsSync(wal)).toBe(true);
    child.stdin.write(`${LINES.slice(0, 2200).join('\n')}\n`); // four batches and part of a fifth
    await new Promise((r) => setTimeout(r, 2500));
    child.kill('SIGINT');
    await new Promise((r) => setTimeout(r, 300));
    child.stdin.end(`${LINES.slice(2200).join('\n')}\n`);
    expect(await exited).toBe(130);
    const m = /push interrupted after (\d+) batch(?:es)?: (\d+) events were written, from (\d+) records \(through line (\d+)\)\. Re-running the same push is safe/.exec(err);
    expect(m, err).not.toBeNull();
    const written = Number(m![2]);
    expect(written).toBeGreaterThan(0);
    expect(written).toBeLessThan(LINES.length);
    expect(Number(m![4])).toBe(written);
    const rerun = JSON.parse(await kiln(p.dir, 'push', file, '--source', 'payments', '--json')) as Record<string, number>;
    expect(rerun).toMatchObject({ rows: 6000, events: 6000 - written, duplicates: written });
    expect(await features(p.dir)).toEqual(clean);
  }, 60_000);
});
