/**
 * The model card, GET /models/:name/versions/:version: the version's facts (as `kiln models show`
 * prints them), its training run's metrics, the lineage (training set, tables, features and their
 * definition versions), the evaluation the training pipeline wrote (the run's evaluation.json; its
 * report.html and model-card.md linked where the Runs screen serves a run's files) and the reason codes
 * it measured.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { KilnError } from '../../../../core/errors.js';
import type { Evaluation } from '../../../../pipelines/index.js';
import { describeSignature, type ModelVersion, type RunDetail } from '../../../../registry/index.js';
import { badge, chart, facts, html, num, raw, section, table, when, type Html } from '../../html.js';
import { href, type UiContext } from '../../layout.js';
import { loopRunPath, modelPath, runPath, versionLink } from './common.js';

/** The run artifacts the card reads and links to (file names the training pipelines write). */
export const CARD_FILES = { report: 'report.html', card: 'model-card.md', evaluation: 'evaluation.json' } as const;
/** An evaluation.json larger than this is linked, not read into the page. */
const MAX_EVALUATION_BYTES = 32 * 1024 * 1024;

/** The training run of a version, or why there is none here (an imported version, a run deleted). */
function runOf(ctx: UiContext, v: ModelVersion): { run: RunDetail | null; why: string | null } {
  if (!v.runId) return { run: null, why: 'This version was registered without a training run (imported, or registered by hand).' };
  try {
    return { run: ctx.project.tracker.getRun(v.runId), why: null };
  } catch (e) {
    if (e instanceof KilnError && e.code === 'RUN_NOT_FOUND') return { run: null, why: `Its training run ${v.runId} is not in this project (the version was imported from another one, or the run was removed).` };
    throw e;
  }
}

/** The path of a run artifact the run recorded, or null. */
export function artifactFile(ctx: UiContext, run: RunDetail | null, file: string): string | null {
  if (!run || !run.artifacts.some((a) => a.path === file)) return null;
  const p = join(ctx.project.paths.artifactsDir, run.id, file);
  return existsSync(p) ? p : null;
}

function evaluationOf(ctx: UiContext, run: RunDetail | null): Evaluation | null {
  const p = artifactFile(ctx, run, CARD_FILES.evaluation);
  const a = run?.artifacts.find((x) => x.path === CARD_FILES.evaluation);
  if (!p || !a || a.bytes > MAX_EVALUATION_BYTES) return null;
  const ev = JSON.parse(readFileSync(p, 'utf8')) as Partial<Evaluation>;
  return ev && typeof ev === 'object' && ev.metrics ? ev as Evaluation : null;
}

export function cardBody(ctx: UiContext, name: string, version: number): Html {
  const v = ctx.project.registry.getVersion(name, version);
  const { run, why } = runOf(ctx, v);
  const ev = evaluationOf(ctx, run);
  const loopRun = run?.tags.loop_run ?? null;
  const report = artifactFile(ctx, run, CARD_FILES.report);
  const card = artifactFile(ctx, run, CARD_FILES.card);
  // The run's files are served by the Runs screen (/runs/:id/artifacts/*).
  const artifact = (file: string): string => href(ctx, `${runPath(run!.id)}/artifacts/${file}`);
  return html`${facts([
    ['Model', html`<a href="${href(ctx, modelPath(name))}">${name}</a>`],
    ['Version', `v${v.version}`],
    ['Aliases', v.aliases.length ? v.aliases.map((a) => badge(a, 'info')) : 'none'],
    ['Created', html`${when(v.createdAt)} by ${v.createdBy}`],
    ['Training run', v.runId ? (run ? html`<a href="${href(ctx, runPath(v.runId))}">${v.runId}</a>` : v.runId) : null],
    ['Trained as of', run?.tags.as_of ?? null],
    ['Loop run', loopRun ? html`<a href="${href(ctx, loopRunPath(name, loopRun))}">${loopRun}</a> (a challenger the retrain loop trained)` : null],
    ['Description', v.description],
    ['Output', v.signature.output ?? null],
    ['Signature', describeSignature(v.signature, 12)],
    ['Artifact', v.artifactPath ? html`<code>${v.artifactPath}</code>` : null],
    ['Reports', report || card ? html`${report ? html`<a href="${artifact(CARD_FILES.report)}">evaluation report (HTML)</a>` : ''}${report && card ? ' · ' : ''}${card ? html`<a href="${artifact(CARD_FILES.card)}">model card (Markdown)</a>` : ''}` : null],
  ])}
${section('Training run', run ? runSection(ctx, run) : html`<p class="empty">${why}</p>`, 'run')}
${section('Lineage', run ? lineageSection(ctx, run) : html`<p class="empty">${why}</p>`, 'lineage')}
${section('Evaluation', ev ? evaluationSection(ev, report ? artifact(CARD_FILES.report) : null) : html`<p class="empty">${run ? `Run ${run.id} wrote no evaluation (evaluation.json)${report ? '; the HTML report is linked above' : ''}.` : why}</p>`, 'evaluation')}
${section('Reason codes', reasonsSection(ev), 'reasons')}
<p class="note">Other versions: ${versionLink(ctx, name, version > 1 ? version - 1 : null)} · <a href="${href(ctx, modelPath(name))}">all versions of ${name}</a></p>`;
}

function runSection(ctx: UiContext, run: RunDetail): Html {
  const tone = run.status === 'finished' ? 'ok' : run.status === 'running' ? 'info' : 'bad';
  const metrics = Object.entries(run.metrics);
  const params = Object.entries(run.params);
  const tags = Object.entries(run.tags);
  return html`${facts([
    ['Run', html`<a href="${href(ctx, runPath(run.id))}">${run.id}</a>${run.name ? ` (${run.name})` : ''}`],
    ['Experiment', run.experiment],
    ['Status', badge(run.status, tone)],
    ['Started', when(run.startedAt)],
    ['Ended', when(run.endedAt)],
    ['Git commit', run.gitCommit],
    ['Config hash', run.configHash],
    ['Error', run.error],
  ])}
${table(['Metric', 'Value'], metrics.map(([k, val]) => [k, num(val)]), { id: 'run-metrics', numeric: [1], caption: 'Final value of each metric the run logged', empty: 'The run logged no metrics.' })}
${params.length ? html`<details><summary>Parameters (${params.length})</summary>${table(['Parameter', 'Value'], params.map(([k, val]) => [k, val]), { id: 'run-params' })}</details>` : ''}
${tags.length ? html`<details><summary>Tags (${tags.length})</summary>${table(['Tag', 'Value'], tags.map(([k, val]) => [k, val]), { id: 'run-tags' })}</details>` : ''}`;
}

function lineageSection(ctx: UiContext, run: RunDetail): Html {
  if (run.lineage.length === 0) return html`<p class="empty">Run ${run.id} recorded no lineage.</p>`;
  const sets = run.lineage.filter((l) => l.kind === 'training_set');
  const features = run.lineage.filter((l) => l.kind === 'feature');
  const others = run.lineage.filter((l) => l.kind !== 'training_set' && l.kind !== 'feature');
  const setBlocks = sets.map((s) => {
    const d = (s.details ?? {}) as { rows?: number; from?: string | null; to?: string | null; checksum?: string; unlabelled?: number; split?: unknown; skipped?: { column: string; reason: string }[] };
    return html`<h3>Training set ${s.name}</h3>${facts([
      ['Rows', d.rows === undefined ? null : num(d.rows)],
      ['Time range', d.from || d.to ? `${d.from ?? '…'} .. ${d.to ?? '…'}` : null],
      ['Checksum', s.version ? html`<code>${s.version}</code>` : null],
      ['Rows without a known label (left out)', d.unlabelled === undefined ? null : num(d.unlabelled)],
      ['Split', d.split === undefined ? null : html`<code>${JSON.stringify(d.split)}</code>`],
      ['Columns left out', d.skipped?.length ? d.skipped.map((x) => `${x.column}: ${x.reason}`).join('; ') : null],
    ])}`;
  });
  return html`${setBlocks}
${features.length ? html`<h3>Features (${features.length})</h3>${table(['Feature', 'Definition version'], features.map((f) => [html`<a href="${href(ctx, `/features/${encodeURIComponent(f.name)}`)}">${f.name}</a>`, f.version ? html`<code>${f.version}</code>` : '–']), { id: 'lineage-features' })}` : ''}
${others.length ? html`<h3>Other inputs</h3>${table(['Kind', 'Name', 'Version', 'Details'], others.map((o) => [o.kind.replace('_', ' '), o.name, o.version ?? '–', o.details == null ? '–' : html`<code>${JSON.stringify(o.details).slice(0, 300)}</code>`]), { id: 'lineage-other' })}` : ''}`;
}

const pct = (x: number | null | undefined): string => (x === null || x === undefined ? '–' : `${(x * 100).toFixed(1)}%`);

/** A ROC curve (the test window) against the chance diagonal. */
export function rocSpec(ev: Evaluation): Record<string, unknown> {
  const values = ev.roc.fpr.map((f, i) => ({ fpr: f, tpr: ev.roc.tpr[i] ?? null }));
  return {
    height: 260,
    layer: [
      { data: { values: [{ fpr: 0, tpr: 0 }, { fpr: 1, tpr: 1 }] }, mark: { type: 'line', strokeDash: [4, 4], color: '#6b7280' }, encoding: { x: { field: 'fpr', type: 'quantitative' }, y: { field: 'tpr', type: 'quantitative' } } },
      {
        data: { values }, mark: { type: 'line', color: '#1d4ed8', strokeWidth: 2, point: { size: 12, color: '#1d4ed8' } },
        encoding: {
          x: { field: 'fpr', type: 'quantitative', title: 'False positive rate', scale: { domain: [0, 1] } },
          y: { field: 'tpr', type: 'quantitative', title: 'True positive rate', scale: { domain: [0, 1] } },
          tooltip: [{ field: 'fpr', type: 'quantitative', title: 'FPR', format: '.3f' }, { field: 'tpr', type: 'quantitative', title: 'TPR', format: '.3f' }],
        },
      },
    ],
  };
}

/** Mean predicted PD against the observed bad rate per bin (before and, with a calibrator, after calibration). */
export function calibrationSpec(ev: Evaluation): Record<string, unknown> {
  const rows = (bins: Evaluation['calibration'], series: string) => bins.filter((b) => b.meanPredicted !== null && b.observedRate !== null).map((b) => ({ predicted: b.meanPredicted, observed: b.observedRate, count: b.count, series }));
  const values = [...rows(ev.calibration, 'raw score'), ...(ev.calibrationAfter ? rows(ev.calibrationAfter, 'calibrated') : [])];
  const top = Math.min(1, Math.max(0.05, ...values.map((v) => Math.max(v.predicted!, v.observed!))) * 1.05);
  return {
    height: 260,
    layer: [
      { data: { values: [{ predicted: 0, observed: 0 }, { predicted: top, observed: top }] }, mark: { type: 'line', strokeDash: [4, 4], color: '#6b7280' }, encoding: { x: { field: 'predicted', type: 'quantitative' }, y: { field: 'observed', type: 'quantitative' } } },
      {
        data: { values }, mark: { type: 'line', point: true, strokeWidth: 2 },
        encoding: {
          x: { field: 'predicted', type: 'quantitative', title: 'Mean predicted PD', scale: { domain: [0, top] } },
          y: { field: 'observed', type: 'quantitative', title: 'Observed bad rate', scale: { domain: [0, top] } },
          color: { field: 'series', type: 'nominal', title: null, scale: { range: ['#1d4ed8', '#b91c1c'] } },
          shape: { field: 'series', type: 'nominal', title: null },
          tooltip: [{ field: 'series', type: 'nominal', title: 'Scores' }, { field: 'predicted', type: 'quantitative', title: 'Predicted', format: '.4f' }, { field: 'observed', type: 'quantitative', title: 'Observed', format: '.4f' }, { field: 'count', type: 'quantitative', title: 'Rows' }],
        },
      },
    ],
  };
}

function evaluationSection(ev: Evaluation, reportHref: string | null): Html {
  const metricRows = Object.entries(ev.metrics).map(([k, v]) => [k, num(v)]);
  const charts = html`<div class="grid">${ev.roc?.fpr?.length ? chart(rocSpec(ev), 'ROC curve on the test window', table(['FPR', 'TPR'], ev.roc.fpr.map((f, i) => [num(f), num(ev.roc.tpr[i] ?? null)]), { numeric: [0, 1] })) : ''}
${ev.calibration?.length ? chart(calibrationSpec(ev), 'Calibration on the test window: mean predicted PD against the observed bad rate', table(['Mean predicted', 'Observed', 'Rows'], ev.calibration.map((b) => [num(b.meanPredicted), num(b.observedRate), num(b.count)]), { numeric: [0, 1, 2] })) : ''}</div>`;
  const fair = ev.fairness;
  return html`<p>Test window: ${num(ev.rows)} rows, ${num(ev.positives)} bads. Cutoff: decline when PD ≥ ${num(ev.cutoff)}${ev.scaling ? ` (${ev.scaling.pointsAtCutoff} points)` : ''}.
${ev.rankOrderBreaks?.length ? html`${badge('rank order breaks', 'warn')} at decile(s) ${ev.rankOrderBreaks.join(', ')} (1 = riskiest).` : ev.rankOrderBreaks ? 'Rank order holds across the score deciles.' : ''}
${reportHref ? html` <a href="${reportHref}">The full evaluation report</a> has every chart and table.` : ''}</p>
${table(['Metric (test window)', 'Value'], metricRows, { id: 'evaluation-metrics', numeric: [1] })}
${charts}
${fair ? html`<h3>Fairness: ${fair.feature}</h3><p>Reference group ${fair.reference}; overall approval rate ${pct(fair.overallApprovalRate)}. ${fair.flagged.length ? html`${badge('below four-fifths', 'bad')} ${fair.flagged.join(', ')}` : badge('all groups pass the four-fifths rule', 'ok')}</p>
${table(['Group', 'Applicants', 'Approval rate', 'Adverse impact ratio'], fair.groups.map((g) => [g.group, num(g.count), pct(g.approvalRate), num(g.adverseImpactRatio, 3)]), { id: 'fairness', numeric: [1, 2, 3] })}` : ''}`;
}

function reasonsSection(ev: Evaluation | null): Html {
  const rc = ev?.reasonCodes;
  if (!rc) return html`<p class="empty">${ev ? 'The evaluation measured no reason codes (no declined rows were explained, or the model gives none).' : 'No evaluation to read reason codes from.'}</p>`;
  return html`<p>${num(rc.declined)} test rows declined at the cutoff; the reasons below were counted on the ${num(rc.explainedDeclined)} of them that SHAP explained${ev!.shapRows ? ` (${num(ev!.shapRows.explained)} of ${num(ev!.shapRows.of)} test rows explained)` : ''}.</p>
${table(['Reason', 'Text given', 'Declines citing it', 'Share of explained declines'], rc.frequency.map((f) => [f.reason, f.text ?? '–', num(f.count), pct(rc.explainedDeclined ? f.count / rc.explainedDeclined : null)]), { id: 'reason-codes', numeric: [2, 3], empty: 'No declined row was explained.' })}
${rc.examples?.length ? html`<details><summary>Examples (${rc.examples.length} declined rows)</summary>${table(['Row', 'Score', 'Reasons'], rc.examples.map((x) => [x.row, num(x.score), x.reasons.map((r) => `${r.text ?? r.reason} (${r.contribution.toFixed(3)})`).join('; ')]), { numeric: [0, 1] })}</details>` : raw('')}`;
}
