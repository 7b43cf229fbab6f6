/**
 * The bodies of the Jobs screens: the list (backfills and searches newest first, with a progress bar),
 * one backfill (every partition) or search (every trial), and the cancel form (admin only).
 */
import type { FastifyRequest } from 'fastify';
import type { BackfillStatus } from '../../../../backfill/index.js';
import type { JobStatus, JobSummary, QueuedJobStatus } from '../../../../jobs/index.js';
import type { TuneStatus } from '../../../../tune/index.js';
import { badge, facts, html, num, raw, section, table, when, type Html } from '../../html.js';
import { href, type UiContext } from '../../layout.js';

/** What the cancel form shows again after a refused cancel: why, and the reason entered. */
export interface CancelFormState {
  readonly error: string;
  readonly reason: string;
}

export const jobPath = (id: string): string => `/jobs/${encodeURIComponent(id)}`;

const TONE: Record<string, 'ok' | 'warn' | 'bad' | 'info'> = {
  done: 'ok', completed: 'ok', running: 'info', active: 'info', waiting: 'info', prioritized: 'info', delayed: 'warn', failed: 'bad', cancelled: 'warn', missing: 'warn',
};
export const stateBadge = (state: string): Html => badge(state, TONE[state] ?? 'info');

/** A progress bar with its numbers beside it (the numbers are what screen readers and tests read). */
export function progress(done: number, total: number): Html {
  return html`<progress value="${done}" max="${Math.max(total, 1)}" aria-label="${done} of ${total}"></progress> ${done}/${total}`;
}

/** The page's text where Redis does not answer: the page itself still renders. */
export function unavailable(ctx: UiContext, message: string): Html {
  return html`<p class="error" role="alert" id="jobs-unavailable">The job queue cannot be read: ${message}</p>
<p class="note">The site reads the queue at ${ctx.queue?.redisUrl ?? ''} under the key prefix ${ctx.queue?.prefix ?? ''} ($KILN_REDIS_URL, and <code>--queue</code> of <code>kiln ui</code> or <code>kiln serve --ui</code>). <a href="${href(ctx, '/jobs')}">Try again</a>.</p>`;
}

export function listBody(ctx: UiContext, jobs: JobSummary[], limit: number): Html {
  const rows = jobs.map((j) => [
    html`<a href="${href(ctx, jobPath(j.id))}">${j.id}</a>`, j.kind, stateBadge(j.state), progress(j.done, j.total), num(j.retries), when(j.createdAt), j.what,
  ]);
  return html`<p class="note">Backfills (<code>kiln backfill</code>), hyperparameter searches (<code>kiln tune</code>) and embedding training (<code>kiln embeddings train --on-workers</code>) on queue ${ctx.queue?.prefix ?? ''}, newest first; the ${limit} latest of each kind. <a href="${href(ctx, '/jobs')}" id="jobs-refresh">Refresh</a></p>
${table(['Job', 'Kind', 'State', 'Progress', 'Retries', 'Created (UTC)', 'What'], rows, { id: 'jobs', numeric: [4], empty: 'No jobs on this queue: start one with kiln backfill, kiln tune or kiln embeddings train --on-workers.' })}`;
}

function cancelForm(ctx: UiContext, req: FastifyRequest, job: JobSummary, cancellable: boolean, form?: CancelFormState): Html {
  const error = form ? html`<p class="error" role="alert" id="cancel-error">${form.error} Nothing was changed.</p>` : '';
  if (!cancellable) return html`${error}<p class="note">This ${job.kind} is ${job.state}: there is nothing to cancel.</p>`;
  if (!req.uiViewer?.admin) {
    return html`${error}<p class="note">Cancelling a job needs an API key with scope admin${req.uiViewer?.name ? html`; ${req.uiViewer.name} may only look` : ''}. <a href="${href(ctx, '/login', { next: `${ctx.base}${jobPath(job.id)}` })}">Sign in with one</a>, or run <code>kiln jobs cancel ${job.id} --reason "..."</code>.</p>`;
  }
  const what = job.kind === 'backfill' ? 'partitions' : 'trials';
  return html`${error}<form method="post" action="${href(ctx, `${jobPath(job.id)}/cancel`)}" class="filters" id="cancel-form" data-confirm="Cancel ${job.id}? Its queued ${what} are dropped and running ones end without committing; this cannot be undone.">
<label>Reason (shown with the job) <input name="reason" required size="40" maxlength="500" value="${form?.reason ?? ''}"${form ? raw(' aria-describedby="cancel-error"') : ''}></label>
<button type="submit">Cancel ${job.kind}</button>
</form>
<p class="note">Queued ${what} are dropped; running ones end without committing.</p>`;
}

function backfillBody(ctx: UiContext, s: BackfillStatus, job: JobSummary): Html {
  const spec = s.spec;
  const failures = s.parts.filter((p) => p.reason && p.state !== 'done');
  const rows = s.parts.map((p) => [p.partition, stateBadge(p.state), p.attempts, p.stalls, num(p.plannedRows), p.rows === undefined ? '–' : num(p.rows), p.worker ?? p.stage ?? '–', p.reason ?? '']);
  return html`${facts([
    ['Kind', spec.kind === 'score' ? 'backfill of scores' : 'backfill of a training set'],
    ['State', html`${stateBadge(s.state)}${s.cancelled !== null ? html` ${s.cancelled}` : ''}`],
    ['Progress', html`${progress(s.done, s.total)} partitions`],
    ['Rows', num(s.rows)],
    ['Retries', num(s.retries)],
    ['Created', when(spec.createdAt)],
    [spec.kind === 'score' ? 'Model' : 'Features', spec.kind === 'score' ? `${spec.model ?? ''}` : Array.isArray(spec.features) ? spec.features.join(', ') : spec.features],
    ['Spine', `${spec.spine.table} by ${spec.spine.key}`],
    ['Output', spec.dir],
    ['Manifest', s.manifest],
  ])}
${failures.length ? section('Failures', raw(`<ul id="failures">${failures.map((f) => html`<li>partition ${f.partition} ${f.state} after ${f.attempts} attempt(s): ${f.reason}</li>`.html).join('')}</ul>`), 'failures') : ''}
${section('Partitions', table(['Partition', 'State', 'Attempts', 'Stalls', 'Spine rows', 'Rows', 'Worker / stage', 'Failure reason'], rows, { id: 'parts', numeric: [0, 2, 3, 4, 5] }), 'parts')}
<p class="note">Also: <code>kiln jobs status ${job.id}</code>.</p>`;
}

function searchBody(ctx: UiContext, s: TuneStatus, job: JobSummary): Html {
  const spec = s.spec;
  const run = (id: string | undefined): Html | string => (id ? html`<a href="${href(ctx, `/runs/${encodeURIComponent(id)}`)}">${id}</a>` : '–');
  const rows = s.jobs.map((j) => [
    j.rung, j.trial, stateBadge(j.state), j.attempts, `${j.state === 'done' ? j.rounds : j.roundsDone ?? 0}/${j.rounds}`, j.validAuc === undefined ? '–' : j.validAuc.toFixed(4), run(j.runId), j.reason ?? '', html`<code>${JSON.stringify(j.params)}</code>`,
  ]);
  return html`${facts([
    ['Kind', `${spec.search === 'halving' ? 'successive halving' : 'random'} search of ${spec.model}`],
    ['State', html`${stateBadge(s.state)}${s.cancelled !== null ? html` ${s.cancelled}` : ''}`],
    ['Progress', html`${progress(job.done, job.total)} trials`],
    ['Retries', num(job.retries)],
    ['Created', when(spec.createdAt)],
    ['Configurations', num(spec.trials)],
    ['Rounds', spec.search === 'halving' ? `${spec.minRounds} to ${spec.maxRounds} (eta ${spec.eta})` : num(spec.maxRounds)],
    ['Parent run', run(spec.parentRun)],
    ['Best', s.best ? html`valid AUC ${s.best.validAuc.toFixed(4)}: rung ${s.best.rung}, trial ${s.best.trial} (${run(s.best.runId)})` : null],
  ])}
${section('Trials', table(['Rung', 'Trial', 'State', 'Attempts', 'Rounds done', 'Valid AUC', 'Run', 'Failure reason', 'Parameters'], rows, { id: 'trials', numeric: [0, 1, 3, 5], empty: 'No trials enqueued (yet, or they were dropped by a cancel).' }), 'trials')}
<p class="note">Also: <code>kiln jobs status ${job.id}</code>.</p>`;
}

function singleBody(ctx: UiContext, s: QueuedJobStatus, job: JobSummary): Html {
  return html`${facts([
    ['Kind', `training of embedding space ${s.spec.space}`],
    ['State', html`${stateBadge(job.state)}${s.cancelled !== null ? html` ${s.cancelled}` : ''}`],
    ['Progress', html`${progress(job.done, job.total)} versions`],
    ['Attempts', num(s.attempts)],
    ['Created', when(s.spec.createdAt)],
    ['Cuts', s.spec.cuts.map((c) => c ?? 'all data').join(', ')],
    ['Result', s.result ? `versions ${s.result.versions.join(', ')} by ${s.result.worker} (attempt ${s.result.attempt})` : '–'],
    ['Last failure', s.reason ?? '–'],
  ])}
<p class="note">Versions: <a href="${href(ctx, `/embeddings/${encodeURIComponent(s.spec.space)}`)}">${s.spec.space}</a>. Also: <code>kiln jobs status ${job.id}</code>.</p>`;
}

export function jobBody(ctx: UiContext, req: FastifyRequest, j: JobStatus, job: JobSummary, cancellable: boolean, opts: { form?: CancelFormState; cancelledNow?: boolean } = {}): Html {
  const done = opts.cancelledNow && job.cancelled !== null ? html`<p class="note" role="status" id="cancel-done">${job.id} is cancelled: ${job.cancelled}.</p>` : '';
  return html`${done}<p class="note"><a href="${href(ctx, jobPath(job.id))}">Refresh</a> · <a href="${href(ctx, '/jobs')}">All jobs</a></p>
${j.kind === 'backfill' ? backfillBody(ctx, j.status, job) : j.kind === 'search' ? searchBody(ctx, j.status, job) : singleBody(ctx, j.status, job)}
${section('Cancel', cancelForm(ctx, req, job, cancellable, opts.form), 'cancel')}`;
}
