/**
 * GET /models/:name/loop-runs/:id: one run of the model's retrain loop, as `kiln loop history --json`
 * holds it: triggers, steps, the decision and the gates that made it, champion against challenger on the
 * evaluation window (every metric, every slice), input drift and the swap set.
 */
import { KilnError } from '../../../../core/errors.js';
import type { SwapSet } from '../../../../loop/index.js';
import { badge, chart, facts, html, num, section, table, when, type Html } from '../../html.js';
import { href, type UiContext } from '../../layout.js';
import { modelPath, sentence, versionLink } from './common.js';
import { gateTable, loopEvidence, type LoopEvidence } from './timeline.js';

export async function loopRunBody(ctx: UiContext, name: string, id: string): Promise<Html> {
  ctx.project.registry.requireModel(name);
  const { retrainLoopName } = await import('../../../../loop/index.js');
  const e = await loopEvidence(ctx.project, id);
  if (!e || e.run.loop !== retrainLoopName(name)) {
    throw new KilnError('RUN_NOT_FOUND', `no run '${id}' of the retrain loop of '${name}' in this project; 'kiln loop history ${name}' lists them`);
  }
  const r = e.run;
  const tone = r.status === 'succeeded' ? 'ok' : r.status === 'failed' ? 'bad' : r.status === 'cancelled' ? 'warn' : 'info';
  const act = (r.steps.find((s) => s.name === 'act')?.output ?? null) as { alias?: string; version?: number; previous?: number; moved?: boolean } | null;
  const ev = (r.steps.find((s) => s.name === 'evaluate')?.output ?? {}) as { inputDrift?: { feature: string; psi: number }[]; swap?: SwapSet | null };
  return html`${facts([
    ['Model', html`<a href="${href(ctx, modelPath(name))}">${name}</a>`],
    ['Loop', r.loop],
    ['Status', badge(r.status, tone)],
    ['Outcome', r.outcome],
    ['As of', typeof r.input.asOf === 'string' ? r.input.asOf : null],
    ['Triggers', r.triggers.map((t, i) => html`${i ? '; ' : ''}${t.kind} at ${when(t.at)}`)],
    ['Created', when(r.createdAt)],
    ['Started', when(r.startedAt)],
    ['Ended', when(r.endedAt)],
    ['Runner', r.runner],
    ['Error', r.error],
    ['Alias moved', act?.alias && act.version !== undefined ? html`${act.alias} → ${versionLink(ctx, name, act.version)}${act.previous !== undefined ? html` (was ${versionLink(ctx, name, act.previous)})` : ''}${act.moved === false ? ' — already there, not moved again' : ''}` : null],
  ])}
${section('Decision', decision(ctx, name, e), 'decision')}
${section('Steps', table(['Step', 'Status', 'Attempts', 'Started (UTC)', 'Ended (UTC)', 'Error'], r.steps.map((s) => [
    s.name, badge(s.status, s.status === 'done' ? 'ok' : s.status === 'failed' ? 'bad' : 'info'), s.attempts, when(s.startedAt), when(s.endedAt), s.error ?? '–',
  ]), { id: 'steps', numeric: [2] }), 'steps')}
${section('Champion against challenger', comparison(e), 'comparison')}
${section('Input drift and swap set', drift(ev.inputDrift ?? [], ev.swap ?? null), 'drift')}`;
}

function decision(ctx: UiContext, name: string, e: LoopEvidence): Html {
  if (!e.results.length && !e.summary) {
    const train = (e.run.steps.find((s) => s.name === 'train')?.output ?? {}) as { reason?: string };
    return html`<p class="empty">The run reached no gate decision${train.reason ? `: ${train.reason}` : e.run.error ? `: ${e.run.error}` : ''}.</p>`;
  }
  return html`<p>${e.action ? html`Decision: <strong>${e.action}</strong>. ` : ''}${sentence(e.summary)}${e.challenger !== null ? html`Challenger ${versionLink(ctx, name, e.challenger)} against champion ${versionLink(ctx, name, e.champion)}` : ''}${e.window ? html` on ${e.window.from} .. ${e.window.to}${e.rows !== null ? ` (${num(e.rows)} rows)` : ''}` : ''}.</p>
${gateTable(e.results, 'gates')}`;
}

/** Champion and challenger side by side on the whole window, one bar pair per metric. */
export function comparisonSpec(rows: { metric: string; champion: number | null; challenger: number | null; rows: number }[]): Record<string, unknown> {
  const values = rows.flatMap((r) => [
    { metric: r.metric, model: 'champion', value: r.champion, rows: r.rows },
    { metric: r.metric, model: 'challenger', value: r.challenger, rows: r.rows },
  ]).filter((v) => v.value !== null);
  return {
    // Two bars of 13 px per metric (a fixed height: a discrete height step would not fit a page-wide chart).
    height: Math.max(60, 30 * rows.length),
    data: { values },
    mark: { type: 'bar' },
    encoding: {
      y: { field: 'metric', type: 'nominal', title: null },
      yOffset: { field: 'model', type: 'nominal', sort: ['champion', 'challenger'] },
      x: { field: 'value', type: 'quantitative', title: 'Value on the evaluation window (all rows)' },
      color: { field: 'model', type: 'nominal', title: 'Model', sort: ['champion', 'challenger'], scale: { range: ['#6b7280', '#1d4ed8'] } },
      tooltip: [{ field: 'metric', type: 'nominal', title: 'Metric' }, { field: 'model', type: 'nominal', title: 'Model' }, { field: 'value', type: 'quantitative', title: 'Value', format: '.4f' }, { field: 'rows', type: 'quantitative', title: 'Rows' }],
    },
  };
}

function comparison(e: LoopEvidence): Html {
  if (!e.metrics.length) return html`<p class="empty">The run recorded no comparison.</p>`;
  const all = e.metrics.filter((m) => m.slice === 'all');
  const rows = e.metrics.map((m) => [m.metric, m.slice, num(m.rows), num(m.champion), num(m.challenger), m.delta === null ? '–' : `${m.delta > 0 ? '+' : ''}${num(m.delta)}`]);
  const fallback = table(['Metric', 'Champion', 'Challenger'], all.map((m) => [m.metric, num(m.champion), num(m.challenger)]), { numeric: [1, 2] });
  return html`${all.length ? chart(comparisonSpec(all), 'Champion and challenger on the evaluation window, every metric (all rows)', fallback) : ''}
${table(['Metric', 'Slice', 'Rows', 'Champion', 'Challenger', 'Change'], rows, { id: 'comparison', numeric: [2, 3, 4, 5], caption: 'Change is challenger − champion.' })}`;
}

function drift(inputDrift: { feature: string; psi: number }[], swap: SwapSet | null): Html {
  const top = [...inputDrift].sort((a, b) => b.psi - a.psi).slice(0, 20);
  const pct = (x: number | null): string => (x === null ? '–' : `${(x * 100).toFixed(1)}%`);
  return html`${top.length
    ? table(['Input', 'PSI (training sample against recent decisions)'], top.map((d) => [d.feature, num(d.psi)]), { id: 'input-drift', numeric: [1], caption: inputDrift.length > top.length ? `The ${top.length} most drifted of ${inputDrift.length} inputs` : undefined })
    : html`<p class="empty">No input drift figures: there were no recent decisions to compare the challenger's inputs with.</p>`}
${swap ? html`<h3>Swap set</h3>${facts([
    ['Swap-in (champion declines, challenger approves)', num(swap.swapIn.rows)],
    ['Swap-out (champion approves, challenger declines)', num(swap.swapOut.rows)],
    ['Net approval change', num(swap.netApprovalChange)],
    ['Approval rate', `champion ${pct(swap.approvalRate.champion)}, challenger ${pct(swap.approvalRate.challenger)}`],
    ['Bad rate among approved', `champion ${pct(swap.approvedBadRate.champion)}, challenger ${pct(swap.approvedBadRate.challenger)}`],
  ])}` : ''}`;
}
