/**
 * The bodies of the monitoring pages: each section says plainly when the model has no data for it
 * (no decisions, no matured labels, no loop runs, no challenger) rather than drawing an empty chart.
 */
import { AlertStore, WINDOW_SIZES, type MonitorStatus, type RealisedPerformance } from '../../../../monitor/index.js';
import type { LoopRunRecord, MetricRow, SwapSet } from '../../../../loop/index.js';
import { badge, chart, facts, html, num, raw, section, table, when, type Content, type Html } from '../../html.js';
import { href, link, type UiContext } from '../../layout.js';
import { heatMap, lines, loopTimeline, scorePsi, scoreQuantiles, topInputs, vintageChart, windowsOf, type LineRow } from './charts.js';
import {
  backtestReport, driftStatus, evaluationOf, loopRun, loopRuns, modelPerformance, part, shadowComparisons, stepOutput,
  type Evaluation, type MonitorQuery, type Part, type ShadowComparison,
} from './data.js';

const ALERTS_PER_PAGE = 50;
const HEAT_INPUTS = 25;

const f3 = (x: number | null | undefined): string => (x === null || x === undefined || !Number.isFinite(x) ? '–' : x.toFixed(3));
const f4 = (x: number | null | undefined): string => (x === null || x === undefined || !Number.isFinite(x) ? '–' : x.toFixed(4));
const pct = (x: number | null | undefined): string => (x === null || x === undefined || !Number.isFinite(x) ? '–' : `${(100 * x).toFixed(1)}%`);
const signed = (x: number | null | undefined): string => (x === null || x === undefined || !Number.isFinite(x) ? '–' : `${x > 0 ? '+' : x < 0 ? '−' : '±'}${Math.abs(x).toFixed(4)}`);
const secs = (ms: number): string => (ms >= 1000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms)} ms`);

/** Text that must not break across lines (a month like 2024-01 in a narrow column). */
const nowrap = (text: string): Html => html`<span style="white-space: nowrap">${text}</span>`;

function failed(p: { ok: false; error: string }): Html {
  return html`<p class="error" role="alert">Could not compute this part: ${p.error}</p>`;
}

function timing(ms: number, what: string): Html {
  return html`<p class="note">${what} computed in ${secs(ms)}${ms > 1000 ? ' (reads the whole decision log of the range: narrow it with since / until)' : ''}.</p>`;
}

const bandTone = (band: string | null): 'ok' | 'warn' | 'bad' | 'info' => (band === 'significant' ? 'bad' : band === 'moderate' ? 'warn' : band === 'stable' ? 'ok' : 'info');

type ModelQuery = MonitorQuery & { window: string; shiftAware: boolean; alertsPage: number };

function filterForm(ctx: UiContext, model: string, q: ModelQuery, given: { since?: string; until?: string }): Html {
  return html`<form class="filters" method="get" action="${href(ctx, `/monitoring/${encodeURIComponent(model)}`)}">
<label>Window <select name="window">${WINDOW_SIZES.map((w) => html`<option value="${w}"${w === q.window ? raw(' selected') : ''}>${w}</option>`)}</select></label>
<label>Decisions from <input type="date" name="since" value="${given.since ?? ''}"></label>
<label>until (before) <input type="date" name="until" value="${given.until ?? ''}"></label>
<label><span>Shift-aware estimate</span><select name="shift"><option value="">off (fast)</option><option value="1"${q.shiftAware ? raw(' selected') : ''}>on (a classifier per cohort)</option></select></label>
<button type="submit">Show</button></form>`;
}

function windowTable(status: MonitorStatus): Html {
  return table(['window', 'version', 'decisions', 'score PSI', 'band', 'mean pd', 'inputs moderate', 'inputs significant', 'null spikes', 'out of range', 'schema', 'volume'],
    windowsOf(status).map((w) => [
      nowrap(w.window), `v${w.version}`, num(w.rows), f4(w.score.psi), badge(w.score.band, bandTone(w.score.band)), f4(w.score.mean), num(w.moderate), num(w.significant),
      num(w.features.filter((f) => f.nullSpike).length), num(w.features.filter((f) => (f.outOfRange ?? 0) > 0).length),
      w.schema.added.length + w.schema.removed.length + w.schema.retyped.length
        ? `changed: ${[...w.schema.removed.map((n) => `-${n}`), ...w.schema.added.map((n) => `+${n}`), ...w.schema.retyped.map((r) => `${r.name} ${r.from}→${r.to}`)].join(', ')}` : 'ok',
      w.volume ? (w.volume.anomaly ? badge(`anomaly (z ${w.volume.z.toFixed(1)})`, 'warn') : 'ok') : '–',
    ]), { numeric: [2, 3, 5, 6, 7, 8, 9], id: 'windows', caption: 'Each window against the reference of the version that decided it (deciles of the development sample). Bands: PSI below 0.1 stable, 0.1 to 0.25 moderate, 0.25 and above significant.' });
}

function driftSections(model: string, status: Part<MonitorStatus>, ranged: boolean): Html[] {
  if (!status.ok) return [section('Drift', failed(status), 'drift')];
  const s = status.value;
  if (!s.decisions) {
    const none = html`<p class="empty">No decisions of ${model} in the decision log${ranged ? ' in this range' : ''}: there is nothing to compare with the reference yet. The server writes one record per decision (kiln serve); kiln loop simulate writes them too.</p>`;
    return [section('Drift', none, 'drift'), section('Score distribution over time', html`<p class="empty">No decisions, so no scores to follow.</p>`, 'score')];
  }
  const notes = s.versions.filter((v) => v.note).map((v) => html`<p class="note">${v.note}</p>`);
  const windows = windowsOf(s);
  if (!windows.length) return [section('Drift', html`${notes}<p class="empty">No version that decided has a reference profile, so no drift can be computed.</p>`, 'drift')];
  const shown = topInputs(s, HEAT_INPUTS);
  const fallback = table(['input', ...windows.map((w) => w.label)], shown.map((name) => [name, ...windows.map((w) => f3(w.features.find((f) => f.name === name)?.csi))]), { numeric: windows.map((_, i) => i + 1) });
  const heat = shown.length
    ? html`<div class="scroll">${chart(heatMap(s, shown), `Drift heat map: CSI of the ${shown.length} inputs that moved most, by ${s.window} (colour bands 0.1 and 0.25; the value is in the tooltip and the data table)`, fallback)}</div>`
    : html`<p class="empty">No input of the deciding versions could be compared with its reference.</p>`;
  return [
    section('Drift', html`${notes}${heat}${windowTable(s)}${timing(status.ms, 'Drift')}`, 'drift'),
    section('Score distribution over time', html`<div class="grid">${chart(scoreQuantiles(s), `Percentiles of the score by ${s.window}, with the mean at training`)}${chart(scorePsi(s), `Score PSI by ${s.window}`)}</div>`, 'score'),
  ];
}

function performanceSections(ctx: UiContext, model: string, perf: Part<RealisedPerformance> | null, q: ModelQuery): Html[] {
  if (perf === null) {
    return [section('Estimated versus realised performance', html`<p class="empty">No decisions, so no cohorts to follow.</p>`, 'performance'), section('Vintage curves', html`<p class="empty">No decisions, so no loans on book.</p>`, 'vintages')];
  }
  if (!perf.ok) return [section('Estimated versus realised performance', failed(perf), 'performance')];
  const p = perf.value;
  const shift = new Map<string, { auc: number; classifierAuc: number; effectiveSampleSize: number }>();
  for (const s of p.shiftAware) if (!shift.has(s.cohort)) shift.set(s.cohort, s);
  const rests = (c: RealisedPerformance['cohorts'][number]): string => `${c.labelled} of ${c.originated} loans labelled (maturity ${pct(c.maturity)})`;
  const auc: LineRow[] = p.cohorts.flatMap((c) => [
    ...(c.auc !== null ? [{ x: c.cohort, y: c.auc, series: 'realised', note: rests(c) }] : []),
    ...(c.estimate ? [{ x: c.cohort, y: c.estimate.auc, series: 'CBPE (no labels)' }] : []),
    ...(shift.has(c.cohort) ? [{ x: c.cohort, y: shift.get(c.cohort)!.auc, series: 'shift-aware (no labels)' }] : []),
  ]);
  const bad: LineRow[] = p.cohorts.flatMap((c) => [
    ...(c.badRate !== null ? [{ x: c.cohort, y: c.badRate, series: 'realised', note: rests(c) }] : []),
    ...(c.estimate ? [{ x: c.cohort, y: c.estimate.badRate, series: 'expected (mean pd)' }] : []),
  ]);
  const realised = p.cohorts.filter((c) => c.auc !== null).length;
  const toggle = q.shiftAware
    ? html`<p class="note">The shift-aware estimate reweights the deciding version's labelled reference to each cohort's inputs (a classifier per cohort of 50 decisions or more). ${link(ctx, `/monitoring/${encodeURIComponent(model)}`, 'Hide it', { window: q.window, since: rawDay(q.since), until: rawDay(q.until) })}.</p>`
    : html`<p class="note">${link(ctx, `/monitoring/${encodeURIComponent(model)}`, 'Add the shift-aware estimate', { window: q.window, since: rawDay(q.since), until: rawDay(q.until), shift: '1' })} (trains a classifier per cohort: seconds, not milliseconds).</p>`;
  const perfBody = !p.cohorts.length
    ? html`<p class="empty">No decision of ${model} could be joined to an outcome yet (${num(p.decisions)} decisions, outcomes from the model's spine): no cohort to measure.</p>`
    : html`${realised ? '' : html`<p class="empty">No cohort has enough matured labels (30 of both classes) for a realised AUC yet: only the label-free estimates are drawn.</p>`}
<div class="grid">${auc.length ? chart(lines({ title: 'AUC by decision month: realised and estimated', x: 'cohort (decision month)', y: 'AUC', rows: auc }), 'AUC by cohort, realised once labels matured and estimated without labels') : ''}
${bad.length ? chart(lines({ title: 'Bad rate by decision month', x: 'cohort (decision month)', y: 'bad rate', rows: bad, yFormat: '.2%' }), 'Bad rate by cohort: realised and expected from the scores') : ''}</div>
${table(['cohort', 'decisions', 'originated', 'labelled', 'maturity', 'bad rate', 'mean pd', 'AUC', 'KS', 'ECE', 'CBPE AUC', 'CBPE bad rate', 'shift-aware AUC', 'shift classifier AUC'],
    p.cohorts.map((c) => [nowrap(c.cohort), num(c.decisions), num(c.originated), num(c.labelled), pct(c.maturity), pct(c.badRate), f4(c.meanPd), f4(c.auc), f4(c.ks), f4(c.ece),
      f4(c.estimate?.auc), pct(c.estimate?.badRate), f4(shift.get(c.cohort)?.auc), f4(shift.get(c.cohort)?.classifierAuc)]),
    { numeric: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13], id: 'cohorts', caption: `As of ${p.asOf}: ${p.decisions} decisions, ${p.matched} joined to an outcome. Realised metrics need 30 known labels of both classes; labels known after the as-of time are not used. CBPE assumes the calibrated scores stay calibrated; neither estimate sees a change in how inputs relate to the outcome.` })}`;
  const vintageRows: LineRow[] = p.vintages.flatMap((v) => v.points.map((pt) => ({ x: pt.monthsOnBook, y: pt.cumulativeBadRate, series: v.cohort })));
  const vintages = vintageRows.length
    ? chart(vintageChart(vintageRows), 'Vintage curves: cumulative bad rate by months on book per cohort',
      table(['cohort', 'originated', ...Array.from({ length: 12 }, (_, i) => `${i + 1} m`)], p.vintages.map((v) => [v.cohort, num(v.originated), ...Array.from({ length: 12 }, (_, i) => pct(v.points.find((pt) => pt.monthsOnBook === i + 1)?.cumulativeBadRate))]), { numeric: Array.from({ length: 13 }, (_, i) => i + 1) }))
    : html`<p class="empty">No loan of these decisions has completed a month on book as of ${p.asOf}: no vintage curve yet.</p>`;
  return [
    section('Estimated versus realised performance', html`${toggle}${perfBody}${timing(perf.ms, 'Performance')}`, 'performance'),
    section('Vintage curves', vintages, 'vintages'),
  ];
}

const rawDay = (ms: number | undefined): string | undefined => (ms === undefined ? undefined : new Date(ms).toISOString().slice(0, 10));

function alertsSection(ctx: UiContext, model: string, q: ModelQuery, computed: number | null): Html {
  const store = new AlertStore(ctx.project.meta.db);
  const total = store.count({ model });
  const pages = Math.max(1, Math.ceil(total / ALERTS_PER_PAGE));
  const pageNo = Math.min(q.alertsPage, pages);
  const rows = store.list({ model, limit: ALERTS_PER_PAGE, offset: (pageNo - 1) * ALERTS_PER_PAGE });
  const keep = { window: q.window, since: rawDay(q.since), until: rawDay(q.until), shift: q.shiftAware ? '1' : undefined };
  const pager = pages > 1
    ? html`<nav class="pager" aria-label="Alert pages">${pageNo > 1 ? link(ctx, `/monitoring/${encodeURIComponent(model)}`, '← newer', { ...keep, alerts: pageNo - 1 }) : ''}<span>page ${pageNo} of ${pages}</span>${pageNo < pages ? link(ctx, `/monitoring/${encodeURIComponent(model)}`, 'older →', { ...keep, alerts: pageNo + 1 }) : ''}</nav>`
    : '';
  const note = computed === null ? '' : html`<p class="note">The windows above raise ${num(computed)} alerts by the config's thresholds; the table lists the alerts stored (kiln monitor status stores them, one per model, version, kind, subject and window).</p>`;
  const body = total
    ? html`${table(['severity', 'window', 'version', 'kind', 'subject', 'value', 'threshold', 'message', 'first seen', 'times seen', 'acknowledged'], rows.map((a) => [
      badge(a.severity, a.severity === 'critical' ? 'bad' : 'warn'), nowrap(a.window), `v${a.version}`, a.kind, a.subject, f4(a.value), f4(a.threshold), a.message, when(a.firstSeen), num(a.timesSeen), a.acknowledgedAt ? when(a.acknowledgedAt) : 'no',
    ]), { numeric: [5, 6, 9], id: 'alerts', caption: `${total} alerts stored, newest window first` })}${pager}`
    : html`<p class="empty">No alerts of ${model} are stored (kiln monitor status ${model} computes and stores them).</p>`;
  return section('Alerts', html`${note}${body}`, 'alerts');
}

function triggersOf(run: LoopRunRecord): string {
  return run.triggers.map((t) => t.kind).join(' + ');
}

function loopSection(ctx: UiContext, model: string, runs: LoopRunRecord[]): Html {
  const moves = ctx.project.registry.listModels().some((m) => m.name === model)
    ? ctx.project.registry.auditLog(model).filter((e) => e.action === 'set_alias' || e.action === 'remove_alias').reverse().slice(0, 20) : [];
  const movesTable = moves.length
    ? table(['at', 'actor', 'action', 'alias', 'version', 'was', 'reason'], moves.map((e) => [when(e.at), e.actor, e.action, e.alias ?? '–', e.version === null ? '–' : `v${e.version}`, e.previousVersion === null ? '–' : `v${e.previousVersion}`, e.reason ?? '–']),
      { id: 'alias-moves', caption: 'Alias moves, newest first (kiln models history): promotions by the loop are by kiln-loop, with the run in the reason' })
    : html`<p class="empty">No alias of ${model} was ever moved.</p>`;
  if (!runs.length) {
    return section("The loop's timeline", html`<p class="empty">No runs of the ${model} retrain loop yet (kiln loop run ${model}, or kiln loop tick ${model} from cron).</p>${movesTable}`, 'loop');
  }
  const out = (r: LoopRunRecord, s: string): Record<string, unknown> => stepOutput(r, s);
  const rows = runs.map((r) => ({
    time: String(r.input.asOf ?? r.createdAt), outcome: r.outcome ?? r.status, id: r.id, status: r.status, triggers: triggersOf(r),
    champion: out(r, 'train').champion !== undefined ? `v${String(out(r, 'train').champion)}` : '–', challenger: out(r, 'train').version !== undefined ? `v${String(out(r, 'train').version)}` : '–',
    summary: String(out(r, 'gate').summary ?? out(r, 'train').reason ?? r.error ?? '–'),
  }));
  return section("The loop's timeline", html`${chart(loopTimeline(rows), `The ${model} loop's runs by as-of time, one row per outcome`)}
${table(['run', 'created', 'as of', 'triggers', 'status', 'outcome', 'champion', 'challenger', 'gates'], runs.map((r, i) => [
    link(ctx, `/monitoring/${encodeURIComponent(model)}/runs/${encodeURIComponent(r.id)}`, r.id), when(r.createdAt), String(r.input.asOf ?? '–').slice(0, 10), rows[i]!.triggers,
    badge(r.status, r.status === 'succeeded' ? 'ok' : r.status === 'failed' ? 'bad' : 'info'), r.outcome ?? '–', rows[i]!.champion, rows[i]!.challenger, rows[i]!.summary,
  ]), { id: 'loop-runs', caption: `The last ${runs.length} runs of retrain:${model}, newest first (kiln loop history ${model})` })}
${movesTable}`, 'loop');
}

export function metricTable(rows: MetricRow[], names: { champion: string; challenger: string }, id?: string): Html {
  return table(['metric', 'slice', 'rows', names.champion, names.challenger, 'change'], rows.map((m) => [m.metric, m.slice, num(m.rows), f4(m.champion), f4(m.challenger), signed(m.delta)]),
    { numeric: [2, 3, 4, 5], ...(id ? { id } : {}) });
}

export function swapTable(s: SwapSet, names: { champion: string; challenger: string }, caption: string, id?: string): Html {
  const cell = (label: string, c: SwapSet['swapIn']): Content[] => [label, num(c.rows), num(c.labelled), num(c.bad), pct(c.badRate)];
  return html`${table(['cell', 'rows', 'with known outcome', 'defaults', 'bad rate'], [
    cell(`swap-in: declined by ${names.champion}, approved by ${names.challenger}`, s.swapIn),
    cell(`swap-out: approved by ${names.champion}, declined by ${names.challenger}`, s.swapOut),
    cell('approved by both', s.keptApproved),
    cell('declined by both', s.keptDeclined),
  ], { numeric: [1, 2, 3, 4], caption, ...(id ? { id } : {}) })}
${facts([
    ['net change in approvals', `${s.netApprovalChange > 0 ? '+' : ''}${num(s.netApprovalChange)}`],
    ['approval rate', `${names.champion} ${pct(s.approvalRate.champion)}, ${names.challenger} ${pct(s.approvalRate.challenger)}`],
    ['bad rate of the approved', `${names.champion} ${pct(s.approvedBadRate.champion)}, ${names.challenger} ${pct(s.approvedBadRate.challenger)}`],
  ])}`;
}

function evaluationSummary(ctx: UiContext, model: string, run: LoopRunRecord, e: Evaluation): Html {
  const names = { champion: `champion v${e.champion}`, challenger: `challenger v${e.challenger}` };
  return html`<h3>The loop's evaluation: ${link(ctx, `/monitoring/${encodeURIComponent(model)}/runs/${encodeURIComponent(run.id)}`, `run ${run.id}`)}</h3>
<p>As of ${String(run.input.asOf ?? run.createdAt)}: both versions scored the ${num(e.rows)} rows of the challenger's test window ${e.window.from} to ${e.window.to}; the gates ${e.gates.passed ? badge('passed', 'ok') : badge('failed', 'bad')} (action ${e.gates.action}): ${e.gates.summary}</p>
${metricTable(e.metrics.filter((m) => m.slice === 'all'), names, 'loop-metrics')}
${e.swap ? swapTable(e.swap, names, "Swap set on the test window (outcomes known at the run's time)", 'loop-swap') : ''}
${e.recent.swap ? swapTable(e.recent.swap, names, `Swap set on the ${num(e.recent.decisions)} recent decisions of the champion (outcomes not yet known)`, 'loop-recent-swap') : html`<p class="note">No recent decisions of the champion before the run: no swap set on live traffic.</p>`}
<p class="note">Every slice and every gate: ${link(ctx, `/monitoring/${encodeURIComponent(model)}/runs/${encodeURIComponent(run.id)}`, 'the run page')}.</p>`;
}

function shadowSummary(c: ShadowComparison): Html {
  const names = { champion: `v${c.decided} (decided)`, challenger: `v${c.beside} (beside)` };
  return html`<h3>Shadow scores in the decision log: v${c.decided} decided, v${c.beside} scored beside it</h3>
<p>${num(c.decisions)} decisions from ${when(c.from)} to ${when(c.to)}, ${num(c.labelled)} with an outcome known now; cutoffs ${f4(c.cutoffs.decided)} and ${f4(c.cutoffs.beside)} on the served scale.</p>
${metricTable(c.metrics.filter((m) => m.slice === 'all'), names, `shadow-metrics-${c.decided}-${c.beside}`)}
${swapTable(c.swap, names, 'Swap set on these decisions', `shadow-swap-${c.decided}-${c.beside}`)}`;
}

function challengerSection(ctx: UiContext, model: string, runs: LoopRunRecord[], shadow: Part<ShadowComparison[]> | null): Html {
  const evaluated = runs.map((r) => ({ r, e: evaluationOf(r) })).find((x) => x.e !== null);
  const parts: Html[] = [];
  if (evaluated) parts.push(evaluationSummary(ctx, model, evaluated.r, evaluated.e!));
  if (shadow && !shadow.ok) parts.push(failed(shadow));
  if (shadow?.ok) for (const c of shadow.value) parts.push(shadowSummary(c));
  if (!parts.length) parts.push(html`<p class="empty">No challenger has been compared with the champion: no run of the loop reached its evaluate step, and no decision in the log carries a shadow score of another version.</p>`);
  return section('Champion versus challenger on the same decisions', html`<p class="note">The gates' metrics (compareModels) and the swap set of the loop, on the rows both versions scored.</p>${parts}${shadow ? timing(shadow.ms, 'The shadow comparison') : ''}`, 'challenger');
}

function backtestSection(ctx: UiContext, model: string): Html {
  const r = backtestReport(ctx.project);
  return section('Backtests', html`<p class="empty">kiln loop backtest keeps no results in the project: it replays a policy in a sandbox copy and writes an HTML report (kiln loop backtest ${model} --from … --to … -o FILE).</p>
${r ? html`<p class="note">A backtest report (${when(r.modified)}) is at ${r.path}.</p>` : ''}`, 'backtests');
}

export async function modelBody(ctx: UiContext, model: string, q: ModelQuery, rawQuery: { since?: string; until?: string }): Promise<Html> {
  const project = ctx.project;
  const range = { ...(q.since !== undefined ? { since: q.since } : {}), ...(q.until !== undefined ? { until: q.until } : {}) };
  const status = await part(() => driftStatus(project, model, { window: q.window as MonitorStatus['window'], ...range }));
  const decided = status.ok && status.value.decisions > 0;
  let perf: Part<RealisedPerformance> | null = null;
  let shadow: Part<ShadowComparison[]> | null = null;
  try {
    perf = decided ? await part(() => modelPerformance(project, model, { ...range, shiftAware: q.shiftAware })) : null;
    shadow = decided ? await part(() => shadowComparisons(project, model, range)) : null;
  } finally {
    project.releaseOffline(); // other kiln processes may use the offline store between pages
  }
  const runs = loopRuns(project, model, 50);
  const versions = project.registry.listModels().find((m) => m.name === model);
  const summary = facts([
    ['decisions', status.ok ? num(status.value.decisions) : '–'],
    ['window', q.window],
    ['deciding versions', status.ok ? status.value.versions.map((v) => `v${v.version}`).join(', ') || '–' : '–'],
    ['registered versions', versions ? num(versions.versions) : 'none'],
    ['aliases', versions ? Object.entries(versions.aliases).map(([a, v]) => `${a} v${v}`).join(', ') || '–' : '–'],
    ['registry', link(ctx, `/models/${encodeURIComponent(model)}`, `${model} in the registry`)],
  ]);
  return html`${filterForm(ctx, model, q, rawQuery)}
${section('Summary', summary, 'summary')}
${driftSections(model, status, q.since !== undefined || q.until !== undefined)}
${performanceSections(ctx, model, perf, q)}
${alertsSection(ctx, model, q, status.ok ? status.value.alerts.length : null)}
${loopSection(ctx, model, runs)}
${challengerSection(ctx, model, runs, shadow)}
${backtestSection(ctx, model)}`;
}

export function runBody(ctx: UiContext, model: string, id: string): Html {
  const run = loopRun(ctx.project, model, id);
  const e = evaluationOf(run);
  const refresh = stepOutput(run, 'refresh');
  const act = stepOutput(run, 'act');
  const train = stepOutput(run, 'train');
  const names = e ? { champion: `champion v${e.champion}`, challenger: `challenger v${e.challenger}` } : { champion: 'champion', challenger: 'challenger' };
  const parts: Html[] = [
    section('Run', facts([
      ['loop', run.loop], ['status', badge(run.status, run.status === 'succeeded' ? 'ok' : run.status === 'failed' ? 'bad' : 'info')], ['outcome', run.outcome ?? '–'],
      ['as of', String(run.input.asOf ?? '–')], ['forced', run.input.force === true ? 'yes' : 'no'], ['created', when(run.createdAt)], ['started', when(run.startedAt)], ['ended', when(run.endedAt)],
      ['runner', run.runner], ['error', run.error ?? '–'],
      ['data as of the run', refresh.rows !== undefined ? `${num(Number(refresh.rows))} spine rows of ${String(refresh.spine)}, ${num(Number(refresh.labelled))} labelled (${String(refresh.label)})` : '–'],
      ['champion', train.champion !== undefined ? `v${String(train.champion)}` : '–'],
      ['challenger', train.version !== undefined ? `v${String(train.version)}${train.reused ? ' (reused after a restart)' : ''}` : String(train.reason ?? '–')],
      ['action', act.action !== undefined ? `${String(act.action)}${act.alias ? ` (alias ${String(act.alias)}${act.moved ? ' moved' : ' already there'})` : ''}` : '–'],
    ]), 'run'),
    section('Triggers', table(['kind', 'at', 'detail'], run.triggers.map((t) => [t.kind, when(t.at), t.detail === undefined ? '–' : JSON.stringify(t.detail)]), { id: 'triggers' }), 'triggers'),
    section('Steps', table(['step', 'status', 'attempts', 'started', 'ended', 'error'], run.steps.map((s) => [s.name, s.status, num(s.attempts), when(s.startedAt), when(s.endedAt), s.error ?? '–']), { numeric: [2], id: 'steps' }), 'steps'),
  ];
  if (e) {
    parts.push(
      section('Gates', html`<p>${e.gates.passed ? badge('passed', 'ok') : badge('failed', 'bad')} action ${e.gates.action}: ${e.gates.summary}</p>
${table(['gate', 'result', 'challenger', 'champion', 'threshold', 'rows', 'why'], e.gates.results.map((g) => [g.gate, g.skipped ? badge('skipped', 'info') : g.passed ? badge('pass', 'ok') : badge('fail', 'bad'), f4(g.value), f4(g.champion), f4(g.threshold), g.rows === null ? '–' : num(g.rows), g.reason]), { numeric: [2, 3, 4, 5], id: 'gates' })}`, 'gates'),
      section('Metrics side by side', html`<p>Both versions on the ${num(e.rows)} rows of the challenger's test window ${e.window.from} to ${e.window.to}, overall and per slice.</p>${metricTable(e.metrics, names, 'metrics')}`, 'metrics'),
      section('Swap sets', html`${e.swap ? swapTable(e.swap, names, 'On the test window', 'swap') : html`<p class="empty">No swap set on the test window.</p>`}
${e.recent.swap ? swapTable(e.recent.swap, names, `On the ${num(e.recent.decisions)} recent decisions of the champion (outcomes not yet known)`, 'recent-swap') : html`<p class="empty">No recent decisions of the champion before the run: no swap set on live traffic.</p>`}`, 'swap'),
      section("Challenger's input drift", e.inputDrift.length
        ? table(['input', 'PSI (training sample vs recent decisions)'], [...e.inputDrift].sort((a, b) => b.psi - a.psi).slice(0, 30).map((d) => [d.feature, f4(d.psi)]), { numeric: [1], id: 'input-drift', caption: 'The 30 inputs that moved most' })
        : html`<p class="empty">No recent decisions to compare the challenger's inputs with.</p>`, 'input-drift'),
    );
  } else {
    parts.push(section('Evaluation', html`<p class="empty">This run has no evaluation: ${run.outcome === 'no_challenger' ? `no challenger was trained (${String(train.reason ?? 'nothing learned')}).` : run.status === 'failed' ? `it failed (${run.error ?? 'see the steps'}).` : 'it has not reached its evaluate step.'}</p>`, 'evaluation'));
  }
  return html`${parts}`;
}
