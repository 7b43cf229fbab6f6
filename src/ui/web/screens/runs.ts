/**
 * Runs: the table (search, filters by status, experiment, tag, parameter and metric value, sort by any
 * metric, pages: all in SQL, so it stays fast at 100,000 runs), a run's page (parameters, metrics, curves,
 * lineage, artifacts, its report), and 2-10 runs compared (parameters and metrics side by side with
 * deltas against the first, curves overlaid).
 */
import { createReadStream, existsSync } from 'node:fs';
import { join, normalize, sep } from 'node:path';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { KilnError } from '../../../core/errors.js';
import { parseMetricFilter, type MetricFilter, type RunDetail, type RunStatus } from '../../../registry/index.js';
import { badge, chart, facts, html, num, raw, section, table, when, type Content, type Html } from '../html.js';
import { link, page, type UiContext } from '../layout.js';
import type { Screen } from './types.js';

type Query = Record<string, string | string[] | undefined>;

const STATUSES: RunStatus[] = ['running', 'finished', 'failed', 'killed'];
const first = (v: string | string[] | undefined): string => (Array.isArray(v) ? v[0] ?? '' : v ?? '').trim();
const all = (v: string | string[] | undefined): string[] => (Array.isArray(v) ? v : v === undefined ? [] : [v]).map((x) => x.trim()).filter(Boolean);

function pairs(values: string[], what: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const v of values) {
    const at = v.indexOf('=');
    if (at <= 0) throw new KilnError('INVALID_ARGUMENT', `${what} filter '${v}' must be KEY=VALUE`);
    out[v.slice(0, at).trim()] = v.slice(at + 1).trim();
  }
  return out;
}

export function statusBadge(s: RunStatus): Html {
  return badge(s, s === 'finished' ? 'ok' : s === 'running' ? 'info' : s === 'killed' ? 'warn' : 'bad');
}

function duration(a: string, b: string | null): string {
  if (!b) return '–';
  const s = (Date.parse(b) - Date.parse(a)) / 1000;
  return s < 60 ? `${s.toFixed(1)} s` : s < 3600 ? `${(s / 60).toFixed(1)} min` : `${(s / 3600).toFixed(1)} h`;
}

function runsPage(ctx: UiContext, req: FastifyRequest, q: Query): string {
  const tracker = ctx.project.tracker;
  const text = first(q.q);
  const experiment = first(q.experiment);
  const status = first(q.status);
  if (status && !STATUSES.includes(status as RunStatus)) throw new KilnError('INVALID_ARGUMENT', `status '${status}' is not one of ${STATUSES.join(', ')}`);
  const tagFilters = all(q.tag);
  const paramFilters = all(q.param);
  const metricFilters: MetricFilter[] = all(q.metric).map((m) => {
    const f = parseMetricFilter(m);
    if (!f) throw new KilnError('INVALID_ARGUMENT', `metric filter '${m}' must be KEY OP NUMBER, e.g. auc>0.75 (OP: > >= < <= =)`);
    return f;
  });
  const sort = first(q.sort) || 'started';
  const dir = first(q.dir) === 'asc' ? 'asc' : 'desc';
  const pageNo = Math.max(1, Number.parseInt(first(q.page) || '1', 10) || 1);
  const size = Math.min(200, Math.max(10, Number.parseInt(first(q.size) || '50', 10) || 50));
  const known = tracker.metricKeys(30);
  const cols = all(q.col).length ? all(q.col) : known.slice(0, 4);
  const res = tracker.searchRuns({
    text, ...(experiment ? { experiment } : {}), ...(status ? { status: status as RunStatus } : {}),
    tags: pairs(tagFilters, 'tag'), params: pairs(paramFilters, 'param'), metrics: metricFilters,
    sort, dir, page: pageNo, size, withMetrics: cols,
  });
  const keep = (extra: Record<string, string | number | undefined>): string => {
    const params = new URLSearchParams();
    if (text) params.set('q', text);
    if (experiment) params.set('experiment', experiment);
    if (status) params.set('status', status);
    for (const t of tagFilters) params.append('tag', t);
    for (const p of paramFilters) params.append('param', p);
    for (const m of all(q.metric)) params.append('metric', m);
    for (const c of all(q.col)) params.append('col', c);
    params.set('sort', sort);
    params.set('dir', dir);
    params.set('size', String(size));
    for (const [k, v] of Object.entries(extra)) if (v !== undefined) params.set(k, String(v));
    return `${ctx.base}/runs?${params.toString()}`;
  };
  const sortLink = (key: string, label: string): Html => {
    const active = sort === key;
    const next = active && dir === 'desc' ? 'asc' : 'desc';
    return html`<a href="${keep({ sort: key, dir: next, page: 1 })}" aria-label="sort by ${label}${active ? `, now ${dir === 'desc' ? 'descending' : 'ascending'}` : ''}">${label}${active ? (dir === 'desc' ? ' ▼' : ' ▲') : ''}</a>`;
  };
  const experiments = tracker.experimentNames();
  const filters = html`<form class="filters" method="get" action="${ctx.base}/runs" role="search" aria-label="Filter runs">
<label>Search <input type="search" name="q" value="${text}" placeholder="id, name or experiment"></label>
<label>Experiment <select name="experiment"><option value="">any</option>${experiments.map((e) => html`<option${e === experiment ? raw(' selected') : ''}>${e}</option>`)}</select></label>
<label>Status <select name="status"><option value="">any</option>${STATUSES.map((s) => html`<option${s === status ? raw(' selected') : ''}>${s}</option>`)}</select></label>
<label>Tag <input name="tag" value="${tagFilters[0] ?? ''}" placeholder="key=value"></label>
<label>Param <input name="param" value="${paramFilters[0] ?? ''}" placeholder="key=value"></label>
<label>Metric <input name="metric" value="${all(q.metric)[0] ?? ''}" placeholder="auc>0.75"></label>
<input type="hidden" name="sort" value="${sort}"><input type="hidden" name="dir" value="${dir}">
<button type="submit">Filter</button> <a href="${ctx.base}/runs">clear</a></form>`;
  const from = res.total === 0 ? 0 : (res.page - 1) * res.size + 1;
  const to = Math.min(res.total, res.page * res.size);
  const last = Math.max(1, Math.ceil(res.total / res.size));
  const pager = html`<nav class="pager" aria-label="Pages">${res.page > 1 ? html`<a href="${keep({ page: res.page - 1 })}" rel="prev">← previous</a>` : ''}
<span>runs ${num(from)}–${num(to)} of ${num(res.total)} (page ${res.page} of ${num(last)})</span>${res.page < last ? html`<a href="${keep({ page: res.page + 1 })}" rel="next">next →</a>` : ''}</nav>`;
  const header: Content[] = [raw('<span class="sr-only">compare</span>'), 'run', sortLink('name', 'name'), 'experiment', 'status', sortLink('started', 'started'), 'duration',
    ...cols.map((c) => sortLink(`metric:${c}`, c)), 'tags'];
  const rows = res.runs.map((r) => [
    html`<input type="checkbox" name="id" value="${r.id}" aria-label="compare ${r.name ?? r.id}">`,
    link(ctx, `/runs/${encodeURIComponent(r.id)}`, html`<code>${r.id.slice(0, 8)}</code>`),
    r.name, r.experiment, statusBadge(r.status), when(r.startedAt), duration(r.startedAt, r.endedAt),
    ...cols.map((c) => num(r.metrics[c])),
    Object.entries(r.tags).slice(0, 3).map(([k, v]) => html`<span class="badge info" title="${k}=${v}">${k}=${v.length > 32 ? `${v.slice(0, 30)}…` : v}</span> `),
  ]);
  const tbl = table(header, rows, { id: 'runs', numeric: cols.map((_, i) => 7 + i), empty: res.total === 0 ? 'No run matches these filters.' : undefined });
  const colPicker = known.length ? html`<details><summary>Metric columns</summary><form method="get" action="${ctx.base}/runs" class="filters">
${known.map((k) => html`<label style="flex-direction:row;gap:4px"><input type="checkbox" name="col" value="${k}"${cols.includes(k) ? raw(' checked') : ''}>${k}</label>`)}
<button type="submit" class="secondary">Show</button></form></details>` : '';
  const body = html`${filters}${colPicker}${pager}
<form method="get" action="${ctx.base}/runs/compare" aria-label="Compare runs">${tbl}<button type="submit">Compare selected (2–10)</button></form>${pager}`;
  return page(ctx, req, { title: 'Runs', section: 'runs', body });
}

function runPage(ctx: UiContext, req: FastifyRequest, id: string): string {
  const r = ctx.project.tracker.getRun(id);
  const metricRows = Object.entries(r.metrics).map(([k, v]) => [k, num(v)]);
  const paramRows = Object.entries(r.params).map(([k, v]) => [k, v]);
  const curves = Object.entries(r.curves);
  const report = r.artifacts.find((a) => /(^|\/)report\.html$/.test(a.path));
  const art = (path: string): string => `${ctx.base}/runs/${encodeURIComponent(r.id)}/artifacts/${path.split('/').map(encodeURIComponent).join('/')}`;
  const body = html`${section('Run', facts([
    ['id', html`<code>${r.id}</code>`], ['name', r.name], ['experiment', r.experiment], ['status', statusBadge(r.status)],
    ['started', when(r.startedAt)], ['ended', when(r.endedAt)], ['duration', duration(r.startedAt, r.endedAt)],
    ['git commit', r.gitCommit], ['config hash', r.configHash], ['error', r.error],
    ['tags', Object.entries(r.tags).map(([k, v]) => html`<span class="badge info">${k}=${v}</span> `)],
    ['report', report ? html`<a href="${art(report.path)}">${report.path}</a>` : null],
  ]))}
<div class="grid">${section('Parameters', table(['parameter', 'value'], paramRows, { empty: 'No parameters.' }))}
${section('Metrics', table(['metric', 'final value'], metricRows, { numeric: [1], empty: 'No metrics.' }))}</div>
${curves.length ? section('Curves', curves.slice(0, 8).map(([k, pts]) => chart({
    data: { values: pts }, mark: { type: 'line', point: pts.length < 60 }, height: 160,
    encoding: { x: { field: 'step', type: 'quantitative' }, y: { field: 'value', type: 'quantitative', title: k, scale: { zero: false } }, tooltip: [{ field: 'step' }, { field: 'value', format: '.4f' }] },
  }, `${k} by step`))) : ''}
${section('Lineage', table(['kind', 'name', 'version', 'details'], r.lineage.map((l) => [l.kind, l.name, l.version, l.details === null ? null : html`<code>${JSON.stringify(l.details).slice(0, 300)}</code>`]), { empty: 'No lineage recorded.' }))}
${section('Artifacts', table(['path', 'bytes', 'sha256'], r.artifacts.map((a) => [html`<a href="${art(a.path)}">${a.path}</a>`, num(a.bytes), html`<code>${a.sha256.slice(0, 12)}</code>`]), { numeric: [1], empty: 'No artifacts.' }))}`;
  return page(ctx, req, { title: r.name ?? `Run ${r.id.slice(0, 8)}`, section: 'runs', crumbs: [['Runs', '/runs']], body });
}

function comparePage(ctx: UiContext, req: FastifyRequest, ids: string[]): string {
  const unique = [...new Set(ids)];
  if (unique.length < 2 || unique.length > 10) throw new KilnError('INVALID_ARGUMENT', `compare takes 2 to 10 runs; ${unique.length} selected. Tick the runs to compare in the runs table.`);
  const runs: RunDetail[] = unique.map((id) => ctx.project.tracker.getRun(id));
  const label = (r: RunDetail): string => r.name ?? r.id.slice(0, 8);
  const keys = (pick: (r: RunDetail) => Record<string, unknown>): string[] => [...new Set(runs.flatMap((r) => Object.keys(pick(r))))].sort();
  const params = keys((r) => r.params).map((k) => {
    const vals = runs.map((r) => r.params[k] ?? null);
    const differ = new Set(vals).size > 1;
    return [differ ? html`<strong>${k}</strong>` : k, ...vals.map((v) => v)] as Content[];
  });
  const metrics = keys((r) => r.metrics).map((k) => {
    const base = runs[0]!.metrics[k] ?? null;
    return [k, ...runs.map((r, i) => {
      const v = r.metrics[k] ?? null;
      if (i === 0 || v === null || base === null) return num(v);
      const d = v - base;
      // The sign, not a colour: whether up is better depends on the metric (auc up, loss down).
      return html`${num(v)} <span class="note">(${d > 0 ? '+' : ''}${num(d)})</span>`;
    })] as Content[];
  });
  const curveKeys = keys((r) => r.curves);
  const head = ['', ...runs.map((r) => link(ctx, `/runs/${encodeURIComponent(r.id)}`, label(r)))];
  const body = html`<p class="note">Deltas are against the first run (${label(runs[0]!)}); parameters that differ are in bold.</p>
${section('Metrics', table(['metric', ...head.slice(1)], metrics, { numeric: runs.map((_, i) => i + 1), empty: 'No metrics.' }))}
${section('Parameters', table(['parameter', ...head.slice(1)], params, { empty: 'No parameters.' }))}
${curveKeys.length ? section('Curves', curveKeys.slice(0, 6).map((k) => chart({
    data: { values: runs.flatMap((r) => (r.curves[k] ?? []).map((p) => ({ run: label(r), step: p.step, value: p.value }))) },
    mark: 'line', height: 180,
    encoding: { x: { field: 'step', type: 'quantitative' }, y: { field: 'value', type: 'quantitative', title: k, scale: { zero: false } }, color: { field: 'run', type: 'nominal' }, tooltip: [{ field: 'run' }, { field: 'step' }, { field: 'value', format: '.4f' }] },
  }, `${k} by step, runs overlaid`))) : ''}`;
  return page(ctx, req, { title: `Compare ${runs.length} runs`, section: 'runs', crumbs: [['Runs', '/runs']], body });
}

export const screen: Screen = {
  id: 'runs',
  register(site: FastifyInstance, ctx: UiContext) {
    const send = (reply: { type(t: string): { send(b: string): unknown } }, body: string): unknown => reply.type('text/html; charset=utf-8').send(body);
    site.get<{ Querystring: Query }>('/runs', async (req, reply) => send(reply, runsPage(ctx, req, req.query)));
    site.get<{ Querystring: Query }>('/runs/compare', async (req, reply) => send(reply, comparePage(ctx, req, all(req.query.id))));
    site.get<{ Params: { id: string } }>('/runs/:id', async (req, reply) => send(reply, runPage(ctx, req, req.params.id)));
    site.get<{ Params: { id: string; '*': string } }>('/runs/:id/artifacts/*', async (req, reply) => {
      const r = ctx.project.tracker.getRun(req.params.id);
      const rel = normalize(req.params['*']);
      const a = r.artifacts.find((x) => normalize(x.path) === rel);
      if (!a || rel.startsWith('..') || rel.includes(`..${sep}`)) throw new KilnError('FILE_NOT_FOUND', `run ${r.id} has no artifact '${req.params['*']}'`);
      const file = join(ctx.project.paths.artifactsDir, r.id, rel);
      if (!existsSync(file)) throw new KilnError('FILE_NOT_FOUND', `artifact '${a.path}' of run ${r.id} is registered but its file is gone (${file})`);
      const type = rel.endsWith('.html') ? 'text/html; charset=utf-8' : rel.endsWith('.json') ? 'application/json' : rel.endsWith('.csv') ? 'text/csv' : 'application/octet-stream';
      return reply.type(type).header('content-security-policy', "default-src 'none'; style-src 'unsafe-inline'; img-src data:").send(createReadStream(file));
    });
  },
};

