/**
 * The promotion timeline of a model: which version held each alias when (registry aliasHistory, rebuilt
 * from the audit log), who moved it and why, and for the retrain loop's automatic moves the loop run
 * and the gate results that justified them (the run's evaluate step, as `kiln loop history` reads it).
 */
import type { GateResult, LoopRunRecord, MetricRow } from '../../../../loop/index.js';
import type { AliasInterval } from '../../../../registry/index.js';
import type { Project } from '../../../../store/index.js';
import { badge, chart, html, num, raw, table, when, type Html } from '../../html.js';
import { href, type UiContext } from '../../layout.js';
import { loopRunOf, loopRunPath, sentence, versionLink, VERSION_COLOURS } from './common.js';

/** What the loop recorded for a run: the gates' summary and results, the metrics they were decided on. */
export interface LoopEvidence {
  readonly run: LoopRunRecord;
  readonly summary: string | null;
  readonly action: string | null;
  readonly champion: number | null;
  readonly challenger: number | null;
  readonly results: GateResult[];
  readonly metrics: MetricRow[];
  readonly window: { from: string; to: string } | null;
  readonly rows: number | null;
}

/** The evidence of loop run `id` (null when the run is not in this project: a copied registry, a cleaned store). */
export async function loopEvidence(project: Project, id: string): Promise<LoopEvidence | null> {
  const { LoopStore } = await import('../../../../loop/index.js');
  const run = new LoopStore(project.meta.db).findRun(id);
  if (!run) return null;
  const out = (step: string): Record<string, unknown> => {
    const o = run.steps.find((s) => s.name === step)?.output;
    return o && typeof o === 'object' ? o as Record<string, unknown> : {};
  };
  const ev = out('evaluate');
  const gates = (ev.gates ?? {}) as { summary?: string; action?: string; results?: GateResult[] };
  const g = out('gate');
  const n = (v: unknown): number | null => (typeof v === 'number' ? v : null);
  return {
    run,
    summary: typeof g.summary === 'string' ? g.summary : gates.summary ?? null,
    action: typeof g.action === 'string' ? g.action : gates.action ?? null,
    champion: n(ev.champion ?? out('train').champion),
    challenger: n(ev.challenger ?? out('train').version),
    results: Array.isArray(gates.results) ? gates.results : [],
    metrics: Array.isArray(ev.metrics) ? ev.metrics as MetricRow[] : [],
    window: ev.window && typeof ev.window === 'object' ? ev.window as { from: string; to: string } : null,
    rows: n(ev.rows),
  };
}

/** Evidence of the loop runs these audit reasons name (the first `max` distinct ones), read once each. */
export async function evidenceOf(project: Project, reasons: (string | null)[], max = 40): Promise<Map<string, LoopEvidence | null>> {
  const ids = [...new Set(reasons.map(loopRunOf).filter((x): x is string => x !== null))].slice(0, max);
  const out = new Map<string, LoopEvidence | null>();
  for (const id of ids) out.set(id, await loopEvidence(project, id));
  return out;
}

/** The loop run of an audit reason as a link with the gates' one-line outcome; '–' for a move by hand. */
export function evidenceCell(ctx: UiContext, model: string, reason: string | null, evidence: Map<string, LoopEvidence | null>): Html {
  const id = loopRunOf(reason);
  if (!id) return raw('by hand');
  // Not read for this page (an old move of a long history): the link alone.
  if (!evidence.has(id)) return html`<a href="${href(ctx, loopRunPath(model, id))}">loop run ${id}</a>`;
  const e = evidence.get(id);
  if (!e) return html`loop run ${id} <span class="note">(not in this project)</span>`;
  const failed = e.results.filter((r) => !r.passed).length;
  return html`<a href="${href(ctx, loopRunPath(model, id))}">loop run ${id}</a> ${e.results.length ? badge(failed ? `${failed} of ${e.results.length} gates failed` : `passed ${e.results.length} gates`, failed ? 'warn' : 'ok') : ''}`;
}

const utcText = (iso: string | null): string => (iso === null ? 'now (still holds)' : iso.replace('T', ' ').replace(/\.\d+Z$|Z$/, ' UTC'));

/**
 * Alias intervals as bars over time, one row per alias, each bar labelled with its version (the colour
 * repeats it, it is not the only cue); tooltip: alias, version, from, to, who and why.
 */
export function timelineSpec(intervals: AliasInterval[], now: string): Record<string, unknown> {
  const aliases = [...new Set(intervals.map((i) => i.alias))];
  const versions = [...new Set(intervals.map((i) => i.version))].sort((a, b) => a - b).map((v) => `v${v}`);
  const values = intervals.map((i) => ({
    alias: i.alias, version: `v${i.version}`, from: i.from, to: i.to ?? now,
    fromText: utcText(i.from), toText: utcText(i.to), actor: i.setBy, reason: i.reason ?? '–',
  }));
  const y = { field: 'alias', type: 'nominal', title: 'Alias', sort: aliases };
  // Axis labels as precise as the span needs: moves minutes apart (a test, a rollback) or years apart.
  const times = values.flatMap((v) => [Date.parse(v.from), Date.parse(v.to)]).filter(Number.isFinite);
  const span = times.length ? Math.max(...times) - Math.min(...times) : 0;
  const format = span < 2 * 86_400_000 ? '%m-%d %H:%M:%S' : span < 400 * 86_400_000 ? '%Y-%m-%d' : '%Y-%m';
  const x = { field: 'from', type: 'temporal', title: 'Time (UTC)', scale: { type: 'utc' }, axis: { format, labelOverlap: true, labelFlush: true } };
  return {
    height: Math.max(70, 38 * aliases.length),
    data: { values },
    layer: [
      {
        mark: { type: 'bar', stroke: '#ffffff', strokeWidth: 1, cornerRadius: 2 },
        encoding: {
          y, x, x2: { field: 'to' },
          color: { field: 'version', type: 'nominal', title: 'Version', scale: { domain: versions, range: VERSION_COLOURS } },
          tooltip: [
            { field: 'alias', type: 'nominal', title: 'Alias' },
            { field: 'version', type: 'nominal', title: 'Version' },
            { field: 'fromText', type: 'nominal', title: 'From' },
            { field: 'toText', type: 'nominal', title: 'To' },
            { field: 'actor', type: 'nominal', title: 'Moved by' },
            { field: 'reason', type: 'nominal', title: 'Reason' },
          ],
        },
      },
      {
        mark: { type: 'text', align: 'left', baseline: 'middle', dx: 4, color: '#111827', fontWeight: 600 },
        encoding: { y, x, text: { field: 'version', type: 'nominal' } },
      },
    ],
  };
}

/** The timeline as a chart and as a table (the same rows), newest move first in the table. */
export function timelineSection(ctx: UiContext, model: string, intervals: AliasInterval[], evidence: Map<string, LoopEvidence | null>): Html {
  if (intervals.length === 0) return html`<p class="empty">No alias has ever been set on ${model}. The form above sets one.</p>`;
  const rows = [...intervals].reverse().map((i) => [
    i.alias, versionLink(ctx, model, i.version), when(i.from), i.to === null ? badge('holds now', 'ok') : when(i.to), i.setBy, i.reason ?? '–', evidenceCell(ctx, model, i.reason, evidence),
  ]);
  const tbl = table(['Alias', 'Version', 'From (UTC)', 'To (UTC)', 'Moved by', 'Reason', 'Evidence'], rows, { id: 'timeline' });
  return html`${chart(timelineSpec(intervals, new Date().toISOString()), `Which version held each alias of ${model} over time`)}${tbl}`;
}

const fmt = (v: number | null): string => num(v, 4);

/** The gate results of a loop run: each threshold, the figures, passed / failed / skipped (in words, not only colour). */
export function gateTable(results: GateResult[], id: string): Html {
  return table(['Gate', 'Slice', 'Outcome', 'Challenger', 'Champion', 'Threshold', 'Rows', 'Why'], results.map((r) => [
    r.gate, r.slice, r.skipped ? badge('skipped', 'info') : r.passed ? badge('passed', 'ok') : badge('failed', 'bad'),
    fmt(r.value), fmt(r.champion), fmt(r.threshold), r.rows === null ? '–' : num(r.rows), r.reason,
  ]), { id, numeric: [3, 4, 5, 6], empty: 'The run recorded no gate results.' });
}

/** The automatic promotions' evidence, newest first: one block per loop run (the gate table, a link to the run). */
export function promotionEvidence(ctx: UiContext, model: string, moves: { alias: string; version: number; at: string; reason: string | null }[], evidence: Map<string, LoopEvidence | null>, shown = 5): Html {
  const auto = moves.filter((m) => loopRunOf(m.reason) !== null).reverse();
  if (auto.length === 0) return html`<p class="empty">No alias of ${model} was moved by the retrain loop; every move so far was made by hand (see the audit log).</p>`;
  const blocks = auto.slice(0, shown).map((m) => {
    const id = loopRunOf(m.reason)!;
    const e = evidence.get(id);
    if (!e) return html`<h3>${m.alias} → v${m.version} at ${when(m.at)}</h3><p class="note">Loop run ${id} is not in this project's loop store; the audit reason is all that is kept: ${m.reason}</p>`;
    return html`<h3>${m.alias} → ${versionLink(ctx, model, m.version)} at ${when(m.at)} by <a href="${href(ctx, loopRunPath(model, id))}">loop run ${id}</a></h3>
<p>${e.action ? html`Decision: <strong>${e.action}</strong>. ` : ''}${sentence(e.summary)}${e.window ? html`Evaluated on ${e.window.from} .. ${e.window.to}${e.rows !== null ? html` (${num(e.rows)} rows)` : ''}, champion v${e.champion ?? '?'} against challenger v${e.challenger ?? '?'}.` : ''}</p>
${gateTable(e.results, `gates-${id}`)}`;
  });
  const more = auto.length - shown;
  return html`${blocks}${more > 0 ? html`<p class="note">${more} earlier automatic move${more > 1 ? 's' : ''}: the timeline above links each loop run.</p>` : ''}`;
}
