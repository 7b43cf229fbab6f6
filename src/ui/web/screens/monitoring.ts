/**
 * Monitoring screens: per model, its stored alerts and its loop (/monitoring); one model's drift heat map,
 * score distribution over time, realised against estimated performance, vintage curves, alerts, the
 * retrain loop's timeline and champion against challenger on the same decisions (/monitoring/:model); one
 * run of the loop with its gates, metrics side by side and swap sets (/monitoring/:model/runs/:id).
 * Everything is computed by the code behind `kiln monitor status|report` and `kiln loop history`.
 */
import type { FastifyInstance } from 'fastify';
import { KilnError } from '../../../core/errors.js';
import { AlertStore, parseWindowSize, type WindowSize } from '../../../monitor/index.js';
import { badge, html, num, section, table, when, type Html } from '../html.js';
import { link, page, type UiContext } from '../layout.js';
import type { Screen } from './types.js';
import { modelOverviews, requireMonitoredModel, type MonitorQuery } from './monitoring/data.js';
import { modelBody, runBody } from './monitoring/views.js';

/** A date of a filter form (YYYY-MM-DD or ISO) as epoch ms; USAGE (400) when it is not one. */
function parseDay(text: string | undefined, field: string): number | undefined {
  if (text === undefined || text === '') return undefined;
  const ms = Date.parse(/^\d{4}-\d{2}-\d{2}$/.test(text) ? `${text}T00:00:00Z` : text);
  if (!Number.isFinite(ms)) throw new KilnError('USAGE', `${field} '${text}': expected a date (YYYY-MM-DD) or an ISO time`, { path: [field] });
  return ms;
}

export interface ModelQuery { window?: string; since?: string; until?: string; shift?: string; alerts?: string }

export function parseModelQuery(ctx: UiContext, q: ModelQuery): MonitorQuery & { window: WindowSize; shiftAware: boolean; alertsPage: number } {
  const window = q.window ? parseWindowSize(q.window) : ctx.project.config.monitor?.window ?? 'week';
  const since = parseDay(q.since, 'since');
  const until = parseDay(q.until, 'until');
  const alertsPage = q.alerts === undefined || q.alerts === '' ? 1 : Number(q.alerts);
  if (!Number.isInteger(alertsPage) || alertsPage < 1) throw new KilnError('USAGE', `alerts page '${q.alerts}': expected a whole number from 1`, { path: ['alerts'] });
  return { window, ...(since !== undefined ? { since } : {}), ...(until !== undefined ? { until } : {}), shiftAware: q.shift === '1', alertsPage };
}

function listBody(ctx: UiContext): Html {
  const rows = modelOverviews(ctx.project);
  if (!rows.length) return html`<p class="empty">No models in this project yet: declare one under models in kiln.config.ts and train it (kiln train NAME).</p>`;
  const latest = new AlertStore(ctx.project.meta.db).list({ limit: 20 });
  return html`${section('Monitored models', html`${table(['model', 'versions', 'aliases', 'alerts', 'critical', 'not acknowledged', 'latest alert window', "loop's last run", 'links'], rows.map((r) => [
    link(ctx, `/monitoring/${encodeURIComponent(r.model)}`, r.model),
    num(r.versions),
    Object.entries(r.aliases).map(([a, v]) => `${a} v${v}`).join(', ') || '–',
    r.alerts ? num(r.alerts.alerts) : 'none stored',
    r.alerts ? (r.alerts.critical ? badge(num(r.alerts.critical), 'bad') : '0') : '–',
    r.alerts ? num(r.alerts.open) : '–',
    r.alerts?.latestWindow ?? '–',
    r.lastRun ? html`${link(ctx, `/monitoring/${encodeURIComponent(r.model)}/runs/${encodeURIComponent(r.lastRun.id)}`, `${r.lastRun.status}${r.lastRun.outcome ? ` (${r.lastRun.outcome})` : ''}`)} as of ${String(r.lastRun.input.asOf ?? r.lastRun.createdAt).slice(0, 10)}` : 'no runs',
    html`${link(ctx, `/monitoring/${encodeURIComponent(r.model)}`, 'monitoring')} · ${link(ctx, `/models/${encodeURIComponent(r.model)}`, 'registry')} · ${link(ctx, '/decisions', 'decisions', { model: r.model })}`,
  ]), { numeric: [1, 3, 4, 5], id: 'monitored-models', caption: 'Alerts are those stored by kiln monitor status (and by the loop simulation); the loop is kiln loop run / tick.' })}
<p class="note">Drift, performance and the loop of a model are on its page; computing them reads the model's decision log.</p>`)}
${section('Latest alerts', latest.length ? table(['model', 'severity', 'window', 'version', 'kind', 'subject', 'message', 'last seen'], latest.map((a) => [
    link(ctx, `/monitoring/${encodeURIComponent(a.model)}`, a.model), badge(a.severity, a.severity === 'critical' ? 'bad' : 'warn'), a.window, `v${a.version}`, a.kind, a.subject, a.message, when(a.lastSeen),
  ]), { id: 'latest-alerts', caption: `The ${latest.length} alerts of the latest windows, every model` }) : html`<p class="empty">No alerts are stored (kiln monitor status MODEL computes and stores them).</p>`, 'latest-alerts')}`;
}

export const screen: Screen = {
  id: 'monitoring',
  register(site: FastifyInstance, ctx: UiContext) {
    site.get('/monitoring', async (req, reply) => reply.type('text/html; charset=utf-8').send(page(ctx, req, { title: 'Monitoring', section: 'monitoring', body: listBody(ctx) })));
    site.get<{ Params: { model: string }; Querystring: ModelQuery }>('/monitoring/:model', async (req, reply) => {
      const model = req.params.model;
      requireMonitoredModel(ctx.project, model);
      const q = parseModelQuery(ctx, req.query);
      const body = await modelBody(ctx, model, q, req.query);
      return reply.type('text/html; charset=utf-8').send(page(ctx, req, { title: `Monitoring: ${model}`, section: 'monitoring', crumbs: [['Monitoring', '/monitoring']], body }));
    });
    site.get<{ Params: { model: string; id: string } }>('/monitoring/:model/runs/:id', async (req, reply) => {
      const { model, id } = req.params;
      requireMonitoredModel(ctx.project, model);
      return reply.type('text/html; charset=utf-8').send(page(ctx, req, {
        title: `Loop run ${id}`, section: 'monitoring', crumbs: [['Monitoring', '/monitoring'], [model, `/monitoring/${encodeURIComponent(model)}`]], body: runBody(ctx, model, id),
      }));
    });
  },
};
