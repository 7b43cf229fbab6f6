import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openDecisionLog, readDecisions, type DecisionLogRef } from '../../src/serve/index.js';
import { MetaStore } from '../../src/store/index.js';
import { dropSchema, META_BACKENDS, TEST_DATABASE_URL, testSchema } from '../meta-backends.js';
import { fails } from '../fails.js';
import { tempDir } from '../helpers.js';

/**
 * Crash tests with a real writer process (decision-log-child.ts) appending under load: SIGKILL in the
 * middle, then the log is read back and compared with the decisions the child acknowledged.
 */
const CHILD = join(import.meta.dirname, 'decision-log-child.ts');
const tmp = tempDir('kiln-decisions-crash-');
afterAll(tmp.cleanup);

interface Run { child: ChildProcess; acks: Map<string, number>; exited: Promise<number | null> }

function start(dir: DecisionLogRef, durability: 'durable' | 'buffered', flushMs: number): Promise<Run> {
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD, typeof dir === 'string' ? dir : JSON.stringify(dir), durability, String(flushMs), '16'], { stdio: ['ignore', 'pipe', 'pipe'] });
  const acks = new Map<string, number>();
  let rest = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    const lines = (rest + chunk).split('\n');
    rest = lines.pop()!; // an ack cut by the kill is not an ack
    for (const l of lines) { const [id, at] = l.split(' '); acks.set(id!, Number(at)); }
  });
  let err = '';
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  return new Promise((resolve, reject) => {
    child.stderr!.setEncoding('utf8').on('data', (c: string) => { err += c; if (err.includes('ready')) resolve({ child, acks, exited }); });
    child.on('exit', () => reject(new Error(`the writer exited early: ${err}`)));
  });
}

async function until(cond: () => boolean, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
}

async function logged(dir: DecisionLogRef): Promise<Set<string>> {
  const ids = new Set<string>();
  for await (const r of readDecisions(dir)) ids.add(r.id);
  return ids;
}

describe('the decision log under SIGKILL', () => {
  it('durable: every acknowledged decision is in the log; a second writer is refused meanwhile', async () => {
    const dir = join(tmp.dir, 'durable');
    const run = await start(dir, 'durable', 100);
    await until(() => run.acks.size >= 3000);
    const e = await fails(openDecisionLog(dir), 'DECISION_LOG_INVALID');
    expect(e.message).toContain(`pid ${run.child.pid}`);
    run.child.kill('SIGKILL');
    expect(await run.exited).toBe(null);
    const ids = await logged(dir);
    const missing = [...run.acks.keys()].filter((id) => !ids.has(id));
    expect(missing).toEqual([]);
    expect(ids.size).toBeGreaterThanOrEqual(run.acks.size);
    // The killed writer's lock is stale: the next writer takes it over.
    const next = await openDecisionLog(dir);
    expect(next.tookOver?.pid).toBe(run.child.pid);
    await next.close();
  });

  it('durable: writes failing mid-pipeline (the file size limit) fail their appends, and every acknowledged one is readable', async () => {
    const dir = join(tmp.dir, 'full');
    // 256 KiB: the zeros written ahead fail first (commits then append), then the commits that cross it.
    const r = spawnSync('bash', ['-c', `ulimit -f 256 && exec "${process.execPath}" --import tsx "${join(import.meta.dirname, 'decision-log-full-child.ts')}" "${dir}" 800 16`], { encoding: 'utf8', timeout: 60_000 });
    expect(r.status, r.stderr).toBe(0);
    const lines = r.stdout.trim().split('\n');
    const acked = lines.filter((l) => l.startsWith('ok ')).map((l) => l.slice(3));
    const failed = lines.filter((l) => l.startsWith('fail '));
    expect(acked.length).toBeGreaterThan(50);
    expect(failed.length).toBeGreaterThan(50);
    expect(new Set(failed.map((l) => l.split(' ')[1]))).toEqual(new Set(['DECISION_LOG_INVALID']));
    expect(failed.some((l) => /too large/i.test(l))).toBe(true);
    // Read back without an error (nothing torn in the middle): exactly the acknowledged decisions.
    const ids = await logged(dir);
    expect([...ids].sort()).toEqual([...acked].sort());
  });

  it('buffered: only decisions acknowledged within the last flushMs (+ a margin) are lost', async () => {
    const W = 250;
    const MARGIN = 250; // a late timer and the commit itself, on a busy test machine
    const dir = join(tmp.dir, 'buffered');
    const run = await start(dir, 'buffered', W);
    await until(() => run.acks.size >= 5000);
    await new Promise((r) => setTimeout(r, 2 * W)); // several flushes have happened
    const killedAt = Date.now();
    run.child.kill('SIGKILL');
    await run.exited;
    const ids = await logged(dir);
    const missing = [...run.acks].filter(([id]) => !ids.has(id));
    const old = missing.filter(([, at]) => at < killedAt - W - MARGIN);
    expect(old).toEqual([]);
    // Meaningful: most acknowledged decisions (all the older ones) are there.
    expect(run.acks.size - missing.length).toBeGreaterThan(run.acks.size / 2);
  });

  it('SIGTERM: the writer flushes and exits 0, losing nothing (buffered, a long flushMs)', async () => {
    const dir = join(tmp.dir, 'term');
    const run = await start(dir, 'buffered', 60_000);
    await until(() => run.acks.size >= 2000);
    run.child.kill('SIGTERM');
    expect(await run.exited).toBe(0);
    const ids = await logged(dir);
    expect([...run.acks.keys()].filter((id) => !ids.has(id))).toEqual([]);
  });
});

describe.skipIf(!META_BACKENDS.includes('postgres'))('the decision log on PostgreSQL under SIGKILL', () => {
  const schema = testSchema();
  const loc = { url: TEST_DATABASE_URL, schema };
  afterAll(() => dropSchema(schema));

  it('durable: every acknowledged decision is in the table, once; two writers share it', async () => {
    MetaStore.open(join(tmp.dir, 'pg-meta.sqlite'), loc).close(); // creates the schema
    const run = await start(loc, 'durable', 100);
    // A second writer (another replica) writes beside it.
    const other = await openDecisionLog(loc);
    const { decisionRecord } = await import('./decision-records.js');
    const mine = Array.from({ length: 50 }, (_, i) => decisionRecord(1_000_000 + i));
    await other.append(mine);
    await until(() => run.acks.size >= 2000);
    run.child.kill('SIGKILL');
    expect(await run.exited).toBe(null);
    await other.close();
    const ids = await logged(loc);
    expect([...run.acks.keys()].filter((id) => !ids.has(id))).toEqual([]);
    expect(mine.filter((r) => !ids.has(r.id))).toEqual([]);
    expect(ids.size).toBeGreaterThanOrEqual(run.acks.size + mine.length);
    // Read back in id order, filtered and paged in SQL, as from files.
    const some = [];
    for await (const r of readDecisions(loc, { model: mine[0]!.model, limit: 3000, order: 'desc' })) some.push(r.id);
    expect(some).toEqual([...some].sort().reverse());
  });
});
