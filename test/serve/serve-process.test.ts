/**
 * `kiln serve` end to end, as a real child process (node bin/kiln.js serve) on a real project, driven by
 * concurrent fetch loops: readiness, alias moves under load with zero failed requests, a version that
 * fails validation kept out, the decision log read by the CLI while the server writes it, a SIGTERM that
 * drains and flushes, and SIGKILL under load in durable and buffered mode. One world for all (built once);
 * the tests run in order on the servers they start.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildServeWorld, cli, FLUSH_MS, getJson, Load, loggedIds, metric, postJson, startServe, type Outcome, type Serve, type ServeWorld } from './serve-process.js';

let world: ServeWorld;
const running = new Set<Serve>();

beforeAll(async () => { world = await buildServeWorld(); }, 120_000);
afterAll(async () => {
  for (const s of running) { s.child.kill('SIGKILL'); await s.exited; }
  world?.cleanup();
});

async function serve(args: string[] = []): Promise<Serve> {
  const s = await startServe(world, args);
  running.add(s);
  void s.exited.then(() => running.delete(s));
  return s;
}

async function until<T>(what: string, probe: () => Promise<T>, ok: (v: T) => boolean, ms = 20_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (ok(v)) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}; last: ${JSON.stringify(v)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const failures = (outcomes: readonly Outcome[]): Outcome[] => outcomes.filter((o) => o.status !== 200);
const moveAlias = (version: number, reason: string): Promise<string> => cli(world, 'models', 'alias', 'set', `credit@${version}`, 'champion', '--reason', reason);

let s: Serve;

describe('kiln serve as a process', () => {
  it('/readyz is 503 (with the reason) until its model loads, then 200', async () => {
    s = await serve(); // credit@champion does not exist yet
    const before = await getJson(`${s.url}/readyz`);
    expect(before.status).toBe(503);
    expect(before.body).toMatchObject({ code: 'NOT_READY', ready: false, online: 'loaded', models: [{ name: 'credit', ref: 'credit@champion', state: 'failed', version: null }] });
    expect(before.body.models[0].lastError.message).toContain('champion');
    expect((await postJson(`${s.url}/v1/models/credit/predict`, { entityId: world.entities[0] })).body.code).toBe('NOT_READY');
    await moveAlias(1, 'first champion');
    const after = await until('readyz 200', () => getJson(`${s.url}/readyz`), (r) => r.status === 200);
    expect(after.body).toMatchObject({ ready: true, draining: false, online: 'loaded', models: [{ name: 'credit', state: 'ready', version: 1 }] });
  });

  it('moves the alias back and forth under load with zero failed requests; a version failing validation is not served', async () => {
    const load = new Load(s.url, world.entities, { concurrency: 8 });
    try {
      await load.until((o) => o.length >= 50);
      let target = 1;
      let moved = 0;
      for (const v of [2, 1, 2]) {
        moved = load.outcomes.length;
        await moveAlias(v, `swap to ${v}`);
        target = v;
        await load.until((o) => o.slice(moved).some((x) => x.version === v));
      }
      expect(failures(load.outcomes)).toEqual([]);
      // Settled: every request sent after the first answer of the target version is answered by it.
      const firstAt = load.outcomes.slice(moved).find((o) => o.version === target)!.at;
      await load.until((o) => o.filter((x) => x.sentAt > firstAt).length >= 50);
      const late = load.outcomes.filter((x) => x.sentAt > firstAt);
      expect(new Set(late.map((x) => x.version))).toEqual(new Set([target]));

      // A tampered version moved to champion: rejected, the served version keeps answering.
      await moveAlias(world.tampered, 'bad bundle');
      const ready = await until('the rejection in /readyz', () => getJson(`${s.url}/readyz`), (r) => r.body.models?.[0]?.lastError?.version === world.tampered);
      expect(ready.status).toBe(200);
      expect(ready.body.models[0]).toMatchObject({ state: 'ready', version: target });
      expect(ready.body.models[0].lastError.message).toContain('smoke row 0');
      const mark = load.outcomes.length;
      await load.until((o) => o.length >= mark + 100);
      expect(new Set(load.outcomes.slice(mark).map((x) => x.version))).toEqual(new Set([target]));
    } finally {
      await load.stop();
    }
    const outcomes = load.outcomes;
    expect(failures(outcomes)).toEqual([]);
    expect(new Set(outcomes.map((o) => o.version))).toEqual(new Set([1, 2]));
    expect(outcomes.length).toBeGreaterThan(300);
    const text = await (await fetch(`${s.url}/metrics`)).text();
    expect(metric(text, 'kiln_model_events_total', { kind: 'swap_failed', model: 'credit' })).toBe(1);
    expect(metric(text, 'kiln_model_events_total', { kind: 'swap', model: 'credit' })).toBe(3);
    expect(metric(text, 'kiln_model_served_version', { model: 'credit', role: 'primary' })).toBe(2);
    expect(s.stderr()).toMatch(/credit: credit@champion version 3 not swapped in: .*smoke row 0.*; version 2 keeps serving/);
    await moveAlias(2, 'back to a good version');
  });

  it('decisions it made are read by the CLI and the API while it runs; the project is not locked', async () => {
    const made = await postJson(`${s.url}/v1/models/credit/predict`, { entityId: world.entities[3], reasons: true });
    expect(made.status).toBe(200);
    const id = made.body.results[0].decisionId as string;
    const [shown, listed, models, runs] = await Promise.all([
      cli(world, 'decisions', 'show', id, '--json'), cli(world, 'decisions', 'list', '--limit', '5', '--json'),
      cli(world, 'models', 'list'), cli(world, 'runs', 'list'),
    ]);
    const rec = JSON.parse(shown);
    expect(rec).toMatchObject({ id, model: 'credit', version: 2, entityId: String(world.entities[3]), decidedBy: 'primary' });
    expect(rec.score.raw).toBe(made.body.results[0].score.raw);
    expect(rec.reasons).toHaveLength(made.body.results[0].reasons.length); // asked for: a list (empty when nothing adds risk)
    expect((JSON.parse(listed) as { id: string }[]).map((r) => r.id)).toContain(id);
    expect(models).toMatch(/credit\s+3\s+3\s+champion=2/);
    expect(runs.split('\n').filter((l) => /credit/.test(l)).length).toBeGreaterThanOrEqual(2);
    const text = await cli(world, 'decisions', 'show', id);
    expect(text).toContain(`decision ${id}`);
    expect(text).toContain('model credit@2 (decided by the primary)');

    const got = await getJson(`${s.url}/v1/decisions/${id}`);
    expect(got.body).toEqual(rec);
    const replay = await postJson(`${s.url}/v1/decisions/${id}/replay`, {});
    expect(replay.status).toBe(200);
    expect(replay.body).toMatchObject({ id, version: 2, equal: true });
    expect(replay.body.replayed.raw).toBe(rec.score.raw);
    // A decision of version 1 (no longer served) replays through the registry.
    const old = [...await loggedIds(world)].sort()[0]!;
    const r1 = await postJson(`${s.url}/v1/decisions/${old}/replay`, {});
    expect(r1.body).toMatchObject({ version: 1, equal: true });
  });

  it('SIGTERM drains requests in flight, flushes the log and exits 0; a new server starts on the project', async () => {
    const load = new Load(s.url, world.entities, { concurrency: 8, rows: 20 });
    await load.until((o) => o.length >= 40);
    const termAt = Date.now();
    s.child.kill('SIGTERM');
    load.halt(); // no new requests: the ones in flight must all be answered
    await load.done();
    const code = await Promise.race([s.exited, new Promise<string>((r) => setTimeout(() => r('still running 15 s after SIGTERM'), 15_000))]);
    expect(code, s.stderr()).toBe(0);
    const outcomes = load.outcomes;
    expect(failures(outcomes)).toEqual([]);
    expect(outcomes.filter((o) => o.at > termAt).length).toBeGreaterThan(0); // some were answered after the signal
    const ids = await loggedIds(world);
    const acked = outcomes.flatMap((o) => o.ids);
    expect(acked.filter((id) => !ids.has(id))).toEqual([]);
    expect(s.stderr()).toContain('kiln serve: SIGTERM: draining');
    expect(s.stderr()).toContain('kiln serve: stopped');
    expect(existsSync(join(world.logDir as string, 'writer.lock'))).toBe(false);

    s = await serve(); // the writer lock was released: nothing to take over
    expect((await getJson(`${s.url}/readyz`)).status).toBe(200);
    expect(s.stderr()).not.toContain('took over');
  });

  it('SIGKILL under load, durable: every acknowledged decision is in the log', async () => {
    const load = new Load(s.url, world.entities, { concurrency: 16 });
    await load.until((o) => o.length >= 1500);
    s.child.kill('SIGKILL');
    await load.stop();
    expect(await s.exited).toBe(null);
    const acked = load.outcomes.flatMap((o) => o.ids);
    expect(acked.length).toBeGreaterThanOrEqual(1500);
    const ids = await loggedIds(world);
    expect(acked.filter((id) => !ids.has(id))).toEqual([]);
    // Before the kill every request succeeded; after it, only connection errors.
    expect(load.outcomes.filter((o) => o.status !== null && o.status !== 200)).toEqual([]);
  });

  it('SIGKILL under load, buffered: at most the last flushMs of acknowledged decisions is lost', async () => {
    const killed = s.child.pid;
    s = await serve(['--durability', 'buffered']);
    expect(s.stderr()).toContain(`took over the writer lock of pid ${killed}`);
    const MARGIN = 300; // a late timer and the commit itself, on a busy machine
    const load = new Load(s.url, world.entities, { concurrency: 16 });
    // While it runs, the log (read without a lock) holds every decision acknowledged more than the window ago.
    for (const n of [1000, 2000]) {
      await load.until((o) => o.length >= n);
      const checkedAt = Date.now();
      const old = load.outcomes.filter((o) => o.status === 200 && o.at < checkedAt - FLUSH_MS - MARGIN);
      const ids = await loggedIds(world);
      expect(old.filter((o) => o.ids.some((id) => !ids.has(id))).length).toBe(0);
    }
    await load.until((o) => o.length >= 3000);
    const killedAt = Date.now();
    s.child.kill('SIGKILL');
    await load.stop();
    expect(await s.exited).toBe(null);
    const ids = await loggedIds(world);
    const acked = load.outcomes.filter((o) => o.status === 200);
    const missing = acked.filter((o) => o.ids.some((id) => !ids.has(id)));
    expect(missing.filter((o) => o.at < killedAt - FLUSH_MS - MARGIN)).toEqual([]);
    expect(acked.length - missing.length).toBeGreaterThan(2000);
    expect(load.outcomes.filter((o) => o.status !== null && o.status !== 200)).toEqual([]);
  });
});
