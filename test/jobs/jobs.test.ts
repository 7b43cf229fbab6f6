/**
 * `kiln jobs` and the UI's Jobs screen on the real Redis: a backfill planned on a small simulated project
 * and enqueued (no workers: its partitions stay waiting), and a search recorded with three trials, one of
 * which a stand-in worker fails for good. The CLI lists both, shows each, refuses unknown ids, cancels the
 * backfill; the UI lists both, shows every partition and trial with the failure's reason, and cancels the
 * search by an admin key only (400 with nothing changed on a bad form, 403 for a score key).
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { UnrecoverableError, Worker } from 'bullmq';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BackfillQueue, connectionOf, planBackfill, type BackfillSpec } from '../../src/backfill/index.js';
import { ApiKeys, hashApiKey } from '../../src/serve/index.js';
import { newTuneId, parseSpace, tuneModel, TuneQueue, type TrialJob, type TuneSpec } from '../../src/tune/index.js';
import { createUiServer } from '../../src/ui/web/server.js';
import { kiln, simulatedProject } from '../helpers.js';
import { redisConnection } from '../loop/redis.js';
import { REDIS_URL, redisMode } from '../online/helpers.js';
import { cells } from '../ui/page-parse.js';

const ROOT = join(import.meta.dirname, '..', '..');
const ENV = { KILN_FROM_SOURCE: '1', NO_COLOR: '1', KILN_REDIS_URL: REDIS_URL };
const ADMIN = 'admin-key-0123456789';
const SCORER = 'score-key-0123456789';
const keys = new ApiKeys([
  { name: 'ana', hash: hashApiKey(ADMIN), scopes: ['admin'] },
  { name: 'scorer', hash: hashApiKey(SCORER), scopes: ['score'] },
]);
/** A credit model to search (its trials never run here: no workers). */
const CREDIT = {
  spine: { table: 'loan_labels', timestamp: 'funded_at', key: 'borrower_id' }, label: { column: 'default_12m', availableAt: 'label_available_at' },
  features: 'credit_v1', split: { validFrom: '2024-07-01', testFrom: '2024-10-01', testTo: '2025-01-01' }, params: { n_estimators: 20 },
};
const FORM = { 'content-type': 'application/x-www-form-urlencoded' };
const form = (f: Record<string, string>): string => new URLSearchParams(f).toString();

describe('jobs on the queue: kiln jobs and the Jobs screen', () => {
  const prefix = `kiln-jobs-test-${randomBytes(4).toString('hex')}`;
  let skip = false;
  let world: Awaited<ReturnType<typeof simulatedProject>>;
  let backfills: BackfillQueue;
  let searches: TuneQueue;
  let spec: BackfillSpec;
  let tune: TuneSpec;
  let open: FastifyInstance;
  let locked: FastifyInstance;
  const run = (...args: string[]): ReturnType<typeof kiln> => kiln(['jobs', ...args, '--queue', prefix], ROOT, ENV);

  beforeAll(async () => {
    skip = (await redisMode()) === 'skip';
    if (skip) return;
    world = await simulatedProject('kiln-jobs-', { credit: CREDIT }, { borrowers: 300, seed: 5 });
    spec = await planBackfill(world.project, { features: 'credit_v1', spine: { table: 'loan_labels', key: 'borrower_id', timestamp: 'funded_at' }, partitions: 3 });
    world.project.releaseOffline();
    const connection = redisConnection();
    backfills = await BackfillQueue.connect({ prefix, connection });
    await backfills.enqueue(spec);
    searches = await TuneQueue.connect({ prefix, connection });
    tune = {
      id: newTuneId(new Date(Date.parse(spec.createdAt) + 1000)), model: 'credit', search: 'random', space: parseSpace({ max_depth: [2, 6] }),
      trials: 3, seed: 7, eta: 3, minRounds: 10, maxRounds: 30, parentRun: 'parentrun0001', project: world.dir, createdAt: new Date(Date.parse(spec.createdAt) + 1000).toISOString(),
    };
    await searches.start(tune);
    const trial = (t: number): TrialJob => ({ tune: tune.id, rung: 0, trial: t, params: { max_depth: 2 + t }, rounds: 30 });
    // A stand-in worker fails trial 2 for good; trials 0 and 1 are enqueued after it stops, so they wait.
    await searches.enqueue([trial(2)]);
    const worker = new Worker<TrialJob>('trials', async () => { throw new UnrecoverableError('trial ran out of memory'); }, { connection: connectionOf({ connection }), prefix });
    await new Promise<void>((resolve) => worker.on('failed', () => resolve()));
    await worker.close();
    await searches.enqueue([trial(0), trial(1)]);
    const queue = { redisUrl: REDIS_URL, prefix };
    open = await createUiServer({ project: world.project, queue });
    locked = await createUiServer({ project: world.project, keys, queue });
  }, 120_000);

  afterAll(async () => {
    if (skip) return;
    await open?.close();
    await locked?.close();
    await backfills.queue.obliterate({ force: true });
    await searches.queue.obliterate({ force: true });
    const left = await backfills.redis.keys(`${prefix}:*`);
    if (left.length) await backfills.redis.del(...left);
    await backfills.close();
    await searches.close();
    world.project.close();
    world.cleanup();
  });

  it('kiln jobs list: both kinds, newest first, with progress and retries; --json', async (ctx) => {
    if (skip) ctx.skip();
    const r = await run('list');
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^id\s+kind\s+state\s+progress\s+retries\s+created$/);
    expect(lines[1]).toMatch(new RegExp(`^${tune.id}\\s+search\\s+running\\s+0/3\\s+0\\s+${tune.createdAt}$`));
    expect(lines[2]).toMatch(new RegExp(`^${spec.id}\\s+backfill\\s+running\\s+0/3\\s+0\\s+${spec.createdAt}$`));
    const j = await run('list', '--json', '--limit', '1');
    expect(j.code, j.stderr).toBe(0);
    expect((JSON.parse(j.stdout) as { id: string; kind: string }[]).map((x) => [x.id, x.kind])).toEqual([[tune.id, 'search']]);
  });

  it('kiln jobs status: a search as a summary and its trials; a backfill as kiln backfill status; unknown ids refused', async (ctx) => {
    if (skip) ctx.skip();
    const t = await run('status', tune.id);
    expect(t.code, t.stderr).toBe(0);
    const lines = t.stdout.trim().split('\n');
    expect(lines[0]).toBe(`search ${tune.id}: running, 0/3 trials done; 2 waiting, 1 failed; 0 retries`);
    expect(t.stdout).toMatch(/rung\s+trial\s+state\s+attempts\s+rounds\s+valid AUC\s+reason/);
    expect(lines.find((l) => /^0\s+2\s+failed/.test(l))).toMatch(/failed\s+1\s+0\/30\s+-\s+trial ran out of memory$/);
    expect(lines.filter((l) => /^0\s+[01]\s+waiting\s+0\s+0\/30/.test(l))).toHaveLength(2);

    const b = await run('status', spec.id);
    expect(b.code, b.stderr).toBe(0);
    expect(b.stdout).toContain(`backfill ${spec.id}: running, 0/3 parts done, 0 rows; 3 waiting; 0 retries`);
    const bj = await run('status', spec.id, '--json');
    expect(JSON.parse(bj.stdout)).toMatchObject({ kind: 'backfill', id: spec.id, state: 'running', total: 3 });

    const [noSearch, noBackfill, notId] = await Promise.all([run('status', 'tn-20260101T000000-000000'), run('status', 'bf-20260101T000000-000000'), run('status', 'nonsense')]);
    expect([noSearch.code, noBackfill.code, notId.code]).toEqual([66, 66, 64]);
    expect(noSearch.stderr).toContain('TUNE_NOT_FOUND');
    expect(noSearch.stderr).toContain(tune.id);
    expect(noBackfill.stderr).toContain('BACKFILL_NOT_FOUND');
    expect(notId.stderr).toContain('bf-');
  });

  it('kiln jobs cancel: drops the queued partitions; status then says cancelled; cancelling again changes nothing', async (ctx) => {
    if (skip) ctx.skip();
    const noReason = await run('cancel', spec.id);
    expect(noReason.code).not.toBe(0);
    expect((await backfills.status(spec.id)).state).toBe('running');
    const r = await run('cancel', spec.id, '--reason', 'wrong spine');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(`backfill ${spec.id} cancelled: 3 queued partition(s) dropped, 0 running (they end without committing)\n`);
    const s = await backfills.status(spec.id);
    expect(s.state).toBe('cancelled');
    expect(s.cancelled).toBe('wrong spine');
    const again = await run('cancel', spec.id, '--reason', 'twice');
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('nothing to cancel');
    expect((await backfills.status(spec.id)).cancelled).toBe('wrong spine');
  });

  it('UI: /jobs lists both with progress bars; a job page shows every trial or partition with reasons', async (ctx) => {
    if (skip) ctx.skip();
    const list = await open.inject({ method: 'GET', url: '/jobs' });
    expect(list.statusCode).toBe(200);
    expect(list.body).toContain('aria-current="page">Jobs');
    const rows = cells(list.body, 'jobs');
    expect(rows.map((r) => r.slice(0, 4).map((c) => c.trim()))).toEqual([[tune.id, 'search', 'running', '0/3'], [spec.id, 'backfill', 'cancelled', '0/3']]);
    expect(list.body).toContain('<progress value="0" max="3"');
    expect(list.body).toContain(`href="/jobs/${tune.id}"`);

    const t = await open.inject({ method: 'GET', url: `/jobs/${tune.id}` });
    expect(t.statusCode).toBe(200);
    const trials = cells(t.body, 'trials');
    expect(trials.map((r) => r.slice(0, 5))).toEqual([['0', '0', 'waiting', '0', '0/30'], ['0', '1', 'waiting', '0', '0/30'], ['0', '2', 'failed', '1', '0/30']]);
    expect(trials[2]![7]).toBe('trial ran out of memory');
    expect(t.body).toContain('id="cancel-form"');

    const b = await open.inject({ method: 'GET', url: `/jobs/${spec.id}` });
    expect(b.statusCode).toBe(200);
    expect(cells(b.body, 'parts').map((r) => r.slice(0, 3))).toEqual([['0', 'cancelled', '0'], ['1', 'cancelled', '0'], ['2', 'cancelled', '0']]);
    expect(b.body).toContain('wrong spine');
    expect(b.body).not.toContain('id="cancel-form"');

    expect((await open.inject({ method: 'GET', url: '/jobs/bf-20260101T000000-000000' })).statusCode).toBe(404);
    expect((await open.inject({ method: 'GET', url: '/jobs/whatever' })).statusCode).toBe(404);
  });

  it('UI: cancel needs admin; a bad form is 400 with nothing changed; then the search shows cancelled', async (ctx) => {
    if (skip) ctx.skip();
    const url = `/jobs/${tune.id}/cancel`;
    const look = await locked.inject({ method: 'GET', url: `/jobs/${tune.id}`, headers: { authorization: `Bearer ${SCORER}` } });
    expect(look.statusCode).toBe(200);
    expect(look.body).not.toContain('id="cancel-form"');
    expect(look.body).toContain('needs an API key with scope admin');

    const forbidden = await locked.inject({ method: 'POST', url, headers: { ...FORM, authorization: `Bearer ${SCORER}` }, payload: form({ reason: 'not mine to stop' }) });
    expect(forbidden.statusCode).toBe(403);
    const anonymous = await locked.inject({ method: 'POST', url, headers: FORM, payload: form({ reason: 'x' }) });
    expect(anonymous.statusCode).toBe(401);
    const blank = await locked.inject({ method: 'POST', url, headers: { ...FORM, authorization: `Bearer ${ADMIN}` }, payload: form({ reason: '   ' }) });
    expect(blank.statusCode).toBe(400);
    expect(blank.body).toContain('Nothing was changed.');
    expect(blank.body).toContain('id="cancel-form"');
    expect((await searches.status(tune.id)).state).toBe('running');
    expect(await searches.cancelled(tune.id)).toBeNull();

    const ok = await locked.inject({ method: 'POST', url, headers: { ...FORM, authorization: `Bearer ${ADMIN}` }, payload: form({ reason: 'space too wide' }) });
    expect(ok.statusCode, ok.body).toBe(303);
    expect(ok.headers.location).toBe(`/jobs/${tune.id}?cancelled=1`);
    const s = await searches.status(tune.id);
    expect(s.state).toBe('cancelled');
    expect(s.cancelled).toBe('space too wide (by ana, web UI)');
    expect(s.jobs.map((j) => j.state)).toEqual(['failed']);

    const after = await locked.inject({ method: 'GET', url: ok.headers.location as string, headers: { authorization: `Bearer ${ADMIN}` } });
    expect(after.statusCode).toBe(200);
    expect(after.body).toContain('id="cancel-done"');
    expect(after.body).toContain('space too wide (by ana, web UI)');
    expect(after.body).not.toContain('id="cancel-form"');
    const again = await locked.inject({ method: 'POST', url, headers: { ...FORM, authorization: `Bearer ${ADMIN}` }, payload: form({ reason: 'again' }) });
    expect(again.statusCode).toBe(400);
    expect(again.body).toContain('nothing to cancel');
    expect((await searches.status(tune.id)).cancelled).toBe('space too wide (by ana, web UI)');

    const list = await run('list');
    expect(list.stdout).toMatch(new RegExp(`${tune.id}\\s+search\\s+cancelled\\s+0/3`));
  });

  it('kiln jobs cancel of a running search: its trials are dropped and its scheduler (kiln tune) stops', async (ctx) => {
    if (skip) ctx.skip();
    const before = new Set(await searches.list(50));
    const scheduler = tuneModel(world.project, 'credit', { search: 'random', trials: 2, space: parseSpace({ max_depth: [2, 4] }), queue: searches, register: false, rungTimeoutMs: 60_000 });
    const settled = scheduler.then(() => null, (e: unknown) => e as Error);
    let id: string | undefined;
    for (let i = 0; i < 400 && !id; i++) {
      const [newest] = await searches.list(1);
      if (newest && !before.has(newest) && (await searches.status(newest)).jobs.length === 2) id = newest;
      else await new Promise((r) => setTimeout(r, 50));
    }
    expect(id, 'the search to enqueue its trials').toBeDefined();
    const r = await run('cancel', id!, '--reason', 'not now');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(`search ${id} cancelled: 2 queued trial(s) dropped, 0 running (they end without committing)\n`);
    const err = await settled;
    expect(err?.message).toContain(`search ${id} was cancelled at rung 0: not now`);
    expect((await searches.status(id!)).state).toBe('cancelled');
  });

  it('kiln serve --ui --queue: the Jobs screen at /ui/jobs reads that prefix', async (ctx) => {
    if (skip) ctx.skip();
    const { testServer } = await import('../serve/http-helpers.js');
    const server = await testServer({ routes: [], online: null, project: world.project, ui: true, uiQueue: prefix });
    try {
      const r = await server.app.inject({ method: 'GET', url: '/ui/jobs' });
      expect(r.statusCode).toBe(200);
      expect(r.body).toContain(`href="/ui/jobs/${tune.id}"`);
      expect(r.body).toContain(`href="/ui/jobs/${spec.id}"`);
      expect(r.body).toContain('href="/ui/jobs" aria-current="page"');
    } finally {
      await server.close();
    }
  });

  it('UI: with Redis unreachable the Jobs pages say so (200, no crash)', async (ctx) => {
    if (skip) ctx.skip();
    const down = await createUiServer({ project: world.project, queue: { redisUrl: 'redis://127.0.0.1:1', prefix } });
    try {
      for (const url of ['/jobs', `/jobs/${tune.id}`]) {
        const r = await down.inject({ method: 'GET', url });
        expect(r.statusCode, url).toBe(200);
        expect(r.body).toContain('id="jobs-unavailable"');
        expect(r.body).toContain('127.0.0.1:1');
      }
    } finally {
      await down.close();
    }
  });
});
