/**
 * Decisions: the decision log `kiln serve` writes, searched by decision id or by entity, newest first and
 * paged by id; and one decision replayed: its inputs as used, score, reasons, shadow scores, the replay
 * by the version that decided it (the code of `POST /v1/decisions/:id/replay`), and its outcome once
 * the label matured (the join of realised performance). Read by the same code as `kiln decisions`.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { KilnError } from '../../../core/errors.js';
import { loadFeatureRegistry } from '../../../features/index.js';
import type { DecisionRecord, VersionScore, DecisionLogRef } from '../../../serve/index.js';
import { badge, facts, html, num, raw, section, table, when, type Content, type Html } from '../html.js';
import { href, link, page, type UiContext } from '../layout.js';
import type { Screen } from './types.js';

const PAGE = 50;
const ID_RE = /^[0-9A-HJKMNP-TV-Za-hjkmnp-tv-z]{26}$/;

const send = (reply: FastifyReply, body: string, code = 200): FastifyReply => reply.code(code).type('text/html; charset=utf-8').send(body);

async function logDir(ctx: UiContext): Promise<DecisionLogRef> {
  const { decisionLogOf } = await import('../../../serve/index.js');
  return decisionLogOf(ctx.project);
}

const probability = (s: VersionScore): number => s.calibrated ?? s.raw;
const verdict = (s: VersionScore): Html => (s.declined ? badge('declined', 'bad') : badge('approved', 'ok'));

function modelOptions(ctx: UiContext): string[] {
  const names = new Set<string>(Object.keys(ctx.project.config.models ?? {}));
  for (const m of ctx.project.registry.listModels()) names.add(m.name);
  return [...names].sort();
}

interface ListQuery { q?: string; model?: string; before?: string }

async function listPage(ctx: UiContext, req: FastifyRequest<{ Querystring: ListQuery }>, reply: FastifyReply): Promise<FastifyReply> {
  const q = typeof req.query.q === 'string' ? req.query.q.trim() : '';
  const model = typeof req.query.model === 'string' ? req.query.model.trim() : '';
  const before = typeof req.query.before === 'string' && req.query.before ? req.query.before : undefined;
  const dir = await logDir(ctx);
  const { getDecision, readDecisions } = await import('../../../serve/index.js');
  // A decision id goes to its page; anything else is an entity.
  if (ID_RE.test(q)) {
    try {
      const r = await getDecision(dir, q);
      return reply.redirect(href(ctx, `/decisions/${r.id}`), 303);
    } catch (e) {
      if (!(e instanceof KilnError) || e.code !== 'DECISION_NOT_FOUND') throw e;
    }
  }
  const m = model ? /^([^@]+)(?:@(\d+))?$/.exec(model) : null;
  if (model && !m) throw new KilnError('USAGE', `model ${model}: expected NAME or NAME@VERSION, e.g. credit or credit@3`);
  if (before !== undefined && !ID_RE.test(before)) throw new KilnError('USAGE', `before=${before}: expected a decision id`);
  const rows: DecisionRecord[] = [];
  let torn = 0;
  for await (const r of readDecisions(dir, {
    order: 'desc', limit: PAGE + 1,
    ...(m ? { model: m[1]!, ...(m[2] ? { version: Number(m[2]) } : {}) } : {}),
    ...(q ? { entityId: q } : {}), ...(before ? { beforeId: before } : {}),
    onTorn: () => { torn++; },
  })) rows.push(r);
  const more = rows.length > PAGE;
  const shown = rows.slice(0, PAGE);
  const options = modelOptions(ctx);
  const form = html`<form method="get" action="${href(ctx, '/decisions')}" class="filters" role="search">
<label>Decision id or entity <input type="search" name="q" value="${q}" placeholder="01J… or 1042" autocomplete="off"></label>
<label>Model <select name="model"><option value="">all models</option>${options.map((o) => html`<option value="${o}"${o === model ? raw(' selected') : ''}>${o}</option>`)}${model && !options.includes(model) ? html`<option value="${model}" selected>${model}</option>` : ''}</select></label>
<button type="submit">Search</button>${q || model ? html` ${link(ctx, '/decisions', 'Clear')}` : ''}</form>`;
  const tableRows = shown.map((r) => [
    html`<a href="${href(ctx, `/decisions/${r.id}`)}"><code>${r.id}</code></a>`, when(r.time), `${r.model}@${r.version}`,
    r.entityId === null ? html`<span class="note">feature row</span>` : link(ctx, '/decisions', String(r.entityId), { q: String(r.entityId), model }),
    num(probability(r.score)), num(r.score.points, 1), verdict(r.score), r.decidedBy, r.shadow.length ? r.shadow.map((s) => `${s.model}@${s.version}`).join(', ') : '–', num(r.latencyMs, 2),
  ]);
  const what = q ? `entity ${q}` : 'the log';
  const empty = q || model || before ? `No decisions of ${what}${model ? ` by ${model}` : ''}${before ? ' before that one' : ''}.` : `No decisions recorded yet (${dir}): kiln serve writes one for every score.`;
  const pager: Content[] = [];
  if (before) pager.push(link(ctx, '/decisions', 'Newest', { q, model }));
  if (more) pager.push(link(ctx, '/decisions', 'Older decisions', { q, model, before: shown[shown.length - 1]!.id }));
  const body = html`${form}
${ID_RE.test(q) ? html`<p class="note">No decision has id ${q.toUpperCase()}; showing the decisions of an entity with that key.</p>` : ''}
${table(['decision', 'time (UTC)', 'model', 'entity', 'probability', 'points', 'decision', 'decided by', 'shadow', 'latency ms'], tableRows, { id: 'decisions', numeric: [4, 5, 9], empty })}
${torn ? html`<p class="note">Skipped ${torn} incomplete last line(s): a write under way, or a crash.</p>` : ''}
${pager.length ? html`<nav aria-label="Pages" class="pager">${pager.map((p, i) => html`${i ? ' · ' : ''}${p}`)}</nav>` : ''}
<p class="note">Newest first, ${PAGE} a page${q ? '; an entity search reads the log until a page is full' : ''}.</p>`;
  return send(reply, page(ctx, req, { title: 'Decisions', section: 'decisions', body }));
}

function valueText(v: unknown): Content {
  if (v === null || v === undefined) return html`<span class="note">null (missing)</span>`;
  if (typeof v === 'number') return num(v, 6);
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (typeof v === 'object') return html`<code>${JSON.stringify(v)}</code>`;
  return String(v);
}

const scoreRow = (label: Content, s: VersionScore): Content[] => [label, `${s.model}@${s.version}`, num(probability(s), 6), num(s.raw, 6), s.calibrated === null ? '–' : num(s.calibrated, 6), num(s.points, 1), verdict(s)];
const SCORE_HEAD = ['', 'version', 'probability', 'raw', 'calibrated', 'points', 'decision'];

async function replaySection(ctx: UiContext, r: DecisionRecord): Promise<Html> {
  const { loadLiveVersion, replay, retireLive } = await import('../../../serve/index.js');
  let live;
  try {
    live = loadLiveVersion(ctx.project, `${r.model}@${r.version}`);
  } catch (e) {
    return html`<p class="error" role="alert">The version that decided it cannot be loaded, so the decision cannot be replayed: ${(e as Error).message}</p>`;
  }
  try {
    const out = await replay(r, live);
    return html`<p>${out.equal ? badge('match', 'ok') : badge('mismatch', 'bad')} ${out.equal
      ? `The same inputs scored again by ${r.model} version ${r.version} give the same score.`
      : `Scored again by ${r.model} version ${r.version}, the same inputs give another score: the version's artifact or the scoring code changed since.`}</p>
${table(SCORE_HEAD, [scoreRow('recorded', out.recorded), scoreRow('replayed', out.replayed)], { id: 'replay', numeric: [2, 3, 4, 5] })}`;
  } catch (e) {
    if (!(e instanceof KilnError)) throw e;
    return html`<p class="error" role="alert">The replay failed: ${e.message}</p>`;
  } finally {
    await retireLive(live);
  }
}

async function outcomeSection(ctx: UiContext, r: DecisionRecord): Promise<Html> {
  const { decisionOutcome } = await import('../../../monitor/index.js');
  let o;
  try {
    o = await decisionOutcome(ctx.project, r);
  } catch (e) {
    if (!(e instanceof KilnError)) throw e;
    return html`<p class="note">The outcome cannot be looked up: ${e.message}</p>`;
  }
  const src = o.source;
  const where = `${src.table} (key ${src.key}, originated at ${src.time}${src.availableAt ? `, label known at ${src.availableAt}` : ''})`;
  if (o.status === 'no-entity') return html`<p class="note">Scored from a full feature row, with no entity: there is no outcome to join.</p>`;
  if (o.status === 'no-outcome') {
    return html`<p>${badge('no outcome yet', 'info')} No outcome of entity ${r.entityId} originated within ${src.maxLagDays} days after the decision (in ${where}), or a later decision of the entity took it: label not matured.</p>`;
  }
  const out = o.outcome!;
  const pairs: [string, Content][] = [
    ['originated', when(new Date(out.originatedAt).toISOString())],
    ['label known at', out.labelAvailableAt === null ? 'not yet' : when(new Date(out.labelAvailableAt).toISOString())],
  ];
  if (o.status === 'pending') return html`<p>${badge('label not matured', 'warn')} The loan was originated; its label is not known as of ${when(o.asOf)}.</p>${facts(pairs)}<p class="note">From ${where}.</p>`;
  pairs.push(['label', o.label === 1 ? html`${badge('bad', 'bad')} 1 (defaulted)` : html`${badge('good', 'ok')} 0`]);
  if (out.badAt !== null) pairs.push(['bad event at', when(new Date(out.badAt).toISOString())]);
  pairs.push(['predicted probability', num(probability(r.score), 6)]);
  return html`<p>${badge('matured', 'ok')} The label matured.</p>${facts(pairs)}<p class="note">From ${where}, joined as realised performance joins decisions to outcomes.</p>`;
}

async function detailPage(ctx: UiContext, req: FastifyRequest<{ Params: { id: string } }>, reply: FastifyReply): Promise<FastifyReply> {
  const { getDecision } = await import('../../../serve/index.js');
  const r = await getDecision(await logDir(ctx), req.params.id);
  let features: Set<string>;
  try {
    features = new Set(loadFeatureRegistry(ctx.project.config.features ?? []).features.keys());
  } catch {
    features = new Set();
  }
  const asOf = r.asOf ?? r.time;
  const summary = facts([
    ['time', when(r.time)], ['model', html`${link(ctx, `/models/${encodeURIComponent(r.model)}`, r.model)} version ${r.version}`],
    ['decided by', r.decidedBy === 'canary' ? 'the canary challenger' : 'the primary version'],
    ['entity', r.entityId === null ? 'none (a full feature row)' : link(ctx, '/decisions', String(r.entityId), { q: String(r.entityId) })],
    ['features as of', r.asOf ? when(r.asOf) : '–'], ['latency', `${num(r.latencyMs, 2)} ms`],
  ]);
  const score = html`${facts([['probability', num(probability(r.score), 6)], ['points', num(r.score.points, 1)], ['decision', verdict(r.score)]])}
${table(SCORE_HEAD, [scoreRow('decided', r.score), ...r.shadow.map((s) => scoreRow('shadow', s))], { id: 'scores', numeric: [2, 3, 4, 5] })}
${r.shadow.length ? html`<p class="note">Shadow scores were computed beside the decision and not returned to the caller.</p>` : ''}
${r.tasks ? html`<p>Other heads: <code>${JSON.stringify(r.tasks)}</code></p>` : ''}`;
  const reasons = r.reasons === null
    ? html`<p class="note">No reasons were asked for (a declined decision always records them).</p>`
    : table(['#', 'reason', 'text', 'contribution'], r.reasons.map((c, i) => [i + 1, c.reason, c.text, num(c.contribution, 4)]), { id: 'reasons', numeric: [0, 3], empty: 'This model gives no reasons.' });
  const inputs = table(['input', 'value as used'], Object.entries(r.features).map(([k, v]) => [
    features.has(k) && r.entityId !== null ? link(ctx, `/features/${encodeURIComponent(k)}`, k, { key: String(r.entityId), asOf }) : k, valueText(v),
  ]), { id: 'inputs', numeric: [1], empty: 'No inputs recorded.' });
  const body = html`${summary}
${section('Score', score)}
${section('Reasons', reasons)}
${section('Inputs', html`<p class="note">The feature values as of the decision time, as the model read them${r.entityId !== null ? '; a feature name opens its value at that time from the offline and online stores' : ''}.</p>${inputs}`)}
${section('Replay', await replaySection(ctx, r))}
${section('Outcome', await outcomeSection(ctx, r))}
${section('Request', html`<pre><code>${JSON.stringify(r.request, null, 2)}</code></pre>`)}`;
  return send(reply, page(ctx, req, { title: `Decision ${r.id}`, section: 'decisions', crumbs: [['Decisions', '/decisions']], body }));
}

export const screen: Screen = {
  id: 'decisions',
  register(site, ctx) {
    site.get<{ Querystring: ListQuery }>('/decisions', async (req, reply) => listPage(ctx, req, reply));
    site.get<{ Params: { id: string } }>('/decisions/:id', async (req, reply) => detailPage(ctx, req, reply));
  },
};
