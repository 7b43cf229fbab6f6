/**
 * The Jobs screens: the backfills and hyperparameter searches on the queue (GET /jobs), one job with
 * every partition or trial (GET /jobs/:id) and its cancel (POST /jobs/:id/cancel, admin only). They read
 * Redis at ctx.queue (KILN_REDIS_URL, `--queue`); where Redis does not answer, the page says so. The
 * queue code is loaded on the first request, so the site starts without it.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { KilnError } from '../../../core/errors.js';
import type { JobQueues } from '../../../jobs/index.js';
import { formBody, requireAdmin } from '../forms.js';
import { html } from '../html.js';
import { href, page, type UiContext } from '../layout.js';
import { jobBody, jobPath, listBody, unavailable, type CancelFormState } from './jobs/pages.js';
import type { Screen } from './types.js';

const HTML = 'text/html; charset=utf-8';
const LIMIT = 50;
const crumbs: [string, string][] = [['Jobs', '/jobs']];

type IdReq = FastifyRequest<{ Params: { id: string }; Querystring: { cancelled?: string } }>;

/** Runs `fn` with the queues; null (and the page's message) when Redis does not answer. */
async function withQueues<T>(ctx: UiContext, fn: (q: JobQueues) => Promise<T>): Promise<{ value: T } | { down: string }> {
  const jobs = await import('../../../jobs/index.js');
  const opts = jobs.redisOptions(ctx.queue?.redisUrl ?? 'redis://127.0.0.1:6379', ctx.queue?.prefix);
  let q: JobQueues;
  try {
    q = await jobs.JobQueues.connect(opts);
  } catch (e) {
    if (e instanceof KilnError && e.code === 'ONLINE_UNAVAILABLE') return { down: e.message };
    throw e;
  }
  try {
    return { value: await fn(q) };
  } finally {
    await q.close();
  }
}

const notJob = (id: string): KilnError => new KilnError('BACKFILL_NOT_FOUND', `'${id}' is not a job id: backfill ids start with bf-, search ids with tn-`, { path: ['id'] });

async function renderJob(ctx: UiContext, req: IdReq, reply: FastifyReply, opts: { form?: CancelFormState; cancelledNow?: boolean } = {}): Promise<FastifyReply> {
  const { id } = req.params;
  if (!/^(bf|tn)-/.test(id)) throw notJob(id);
  const { summaryOf, cancellable } = await import('../../../jobs/index.js');
  const r = await withQueues(ctx, (q) => q.status(id));
  const body = 'down' in r ? unavailable(ctx, r.down) : jobBody(ctx, req, r.value, summaryOf(r.value), cancellable(summaryOf(r.value)), opts);
  return reply.type(HTML).send(page(ctx, req, { title: id, section: 'jobs', crumbs, body }));
}

export const screen: Screen = {
  id: 'jobs',
  register(site, ctx) {
    site.get('/jobs', async (req, reply) => {
      const r = await withQueues(ctx, (q) => q.list(LIMIT));
      const body = 'down' in r ? unavailable(ctx, r.down) : listBody(ctx, r.value, LIMIT);
      return reply.type(HTML).send(page(ctx, req, { title: 'Jobs', section: 'jobs', body }));
    });

    site.get<{ Params: { id: string }; Querystring: { cancelled?: string } }>('/jobs/:id', async (req, reply) => renderJob(ctx, req, reply, { cancelledNow: req.query.cancelled === '1' }));

    site.post<{ Params: { id: string }; Querystring: { cancelled?: string } }>('/jobs/:id/cancel', async (req, reply) => {
      const viewer = requireAdmin(req);
      const { id } = req.params;
      if (!/^(bf|tn)-/.test(id)) throw notJob(id);
      const reason = String(formBody(req).reason ?? '').trim();
      const refuse = (error: string): Promise<FastifyReply> => renderJob(ctx, req, reply.code(400), { form: { error, reason } });
      if (!reason) return refuse('Give a reason: it is kept with the job and shown by its status.');
      if (reason.length > 500) return refuse(`Keep the reason under 500 characters (got ${reason.length}).`);
      const { summaryOf, cancellable } = await import('../../../jobs/index.js');
      const actor = viewer.name ?? 'ui';
      const r = await withQueues(ctx, async (q) => {
        const job = summaryOf(await q.status(id));
        if (!cancellable(job)) return { refused: `${id} is ${job.state}: there is nothing to cancel.` };
        return { done: await q.cancel(id, `${reason} (by ${actor}, web UI)`) };
      });
      if ('down' in r) return reply.code(503).type(HTML).send(page(ctx, req, { title: id, section: 'jobs', crumbs, body: html`${unavailable(ctx, r.down)}<p class="error">Nothing was changed.</p>` }));
      if ('refused' in r.value) return refuse(r.value.refused!);
      req.log.info({ job: id, actor, reason, ...r.value.done }, 'ui: job cancelled');
      return reply.redirect(href(ctx, jobPath(id), { cancelled: 1 }), 303);
    });
  },
};
