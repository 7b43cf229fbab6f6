import type { ModelSpec } from '../config/index.js';
import { DEFAULT_TOP, groupFigures, originsFromNames, topWithRest, describeInputs, type InputOrigin } from '../eval/index.js';
import { barChart, charts, escapeHtml, htmlPage, htmlTable, kpis, lineChart, renderSvg, type ChartSpec, type Section } from '../ui/index.js';
import type { ModelDataset } from './dataset.js';
import type { Evaluation } from './evaluate.js';

export interface ReportMeta {
  model: string;
  version: number;
  runId: string;
  spec: ModelSpec;
  data: Pick<ModelDataset, 'splits' | 'inputs' | 'skipped' | 'fingerprint' | 'unlabelled'> & Partial<Pick<ModelDataset, 'splitText' | 'warnings'>> | { splits: Record<string, { rows: number; positives: number }>; inputs: { name: string }[]; skipped: { column: string; reason: string }[]; fingerprint: { rows: number; from: string | null; to: string | null; checksum: string }; unlabelled: number; splitText?: string; warnings?: string[] };
  bestIteration: number | null;
  /** Total gain (over all splits) of every input, largest first. */
  importance: { feature: string; gain: number }[];
  /** Where each input comes from (feature, family, source), from the feature registry; by column name when absent. */
  origins?: InputOrigin[];
  /** Rows a per-input list shows before one row sums the rest (default 25). */
  top?: number;
}

const num = (x: number): string => (x === 0 ? '0' : Math.abs(x) >= 1000 ? Math.round(x).toLocaleString('en-US') : x.toPrecision(4));

/** The model's input origins: the given ones, or read from the column names. */
export function originsOf(meta: Pick<ReportMeta, 'origins' | 'data'>): InputOrigin[] {
  return meta.origins ?? originsFromNames(meta.data.inputs.map((i) => i.name));
}

/**
 * The per-input figures of a wide model as readable tables: the top N inputs, then the same figure
 * summed by declared feature (and by family when families group several features), each with one row
 * for the rest. Narrow models (no more inputs than N, one column per feature) get the first table only.
 */
export function figureTables(values: Readonly<Record<string, number>>, origins: readonly InputOrigin[], label: string, top = DEFAULT_TOP): string {
  const total = Object.values(values).reduce((a, b) => a + b, 0) || 1;
  const share = (v: number): string => pct(v / total);
  const byInput = topWithRest(origins.map((o) => ({ name: o.column, value: values[o.column] ?? 0, feature: o.feature })).sort((a, b) => b.value - a.value), top);
  const restRow = (r: { count: number; value: number } | null, what: string): (string | number)[][] => (r ? [[`(${r.count.toLocaleString('en-US')} more ${what})`, '', num(r.value), share(r.value)]] : []);
  let html = htmlTable(['input', 'feature', label, 'share'], [...byInput.top.map((r) => [r.name, r.feature, num(r.value), share(r.value)]), ...restRow(byInput.rest, 'inputs')],
    { caption: `Top ${Math.min(top, origins.length)} of ${describeInputs(origins)}` });
  const features = groupFigures(values, origins, 'feature');
  if (features.length < origins.length) {
    const g = topWithRest(features, top);
    html += htmlTable(['declared feature', 'columns', `${label} (summed)`, 'share', 'largest column'], [...g.top.map((r) => [r.name, r.columns, num(r.value), share(r.value), r.top]),
      ...restRow(g.rest, 'features').map((r) => [r[0]!, '', r[2]!, r[3]!, ''])], { caption: 'By declared feature: the columns of a bucketed feature summed under its name' });
  }
  const families = groupFigures(values, origins, 'family');
  if (families.length < features.length) {
    const g = topWithRest(families, top);
    html += htmlTable(['family', 'columns', `${label} (summed)`, 'share', 'largest column'], [...g.top.map((r) => [r.name, r.columns, num(r.value), share(r.value), r.top]),
      ...restRow(g.rest, 'families').map((r) => [r[0]!, '', r[2]!, r[3]!, ''])], { caption: 'By family: one aggregate over all its windows (the window starred)' });
  }
  return html;
}

/** Each outcome's score histogram as shares of that outcome, so the rare bad outcome stays visible. */
function scoreShares(ev: Evaluation): { lower: number; good: number; bad: number }[] {
  const g = ev.scoreDistribution.reduce((a, b) => a + b.good, 0) || 1;
  const b = ev.scoreDistribution.reduce((a, x) => a + x.bad, 0) || 1;
  // Bins past the highest score are noise in a chart; keep up to the last non-empty one.
  let last = ev.scoreDistribution.length - 1;
  while (last > 0 && ev.scoreDistribution[last]!.good + ev.scoreDistribution[last]!.bad === 0) last--;
  return ev.scoreDistribution.slice(0, last + 1).map((x) => ({ lower: x.lower, good: x.good / g, bad: x.bad / b }));
}

const pct = (x: number | null | undefined, d = 1): string => (x === null || x === undefined ? '-' : `${(x * 100).toFixed(d)}%`);

/** Rows, positives and bad rate per split: by window for an out-of-time split, else with the split in words. */
function splitTable(meta: ReportMeta): string {
  const split = meta.spec.split;
  const splits = meta.data.splits as Record<string, { rows: number; positives: number }>;
  const rate = (w: string): string => pct(splits[w]!.positives / Math.max(1, splits[w]!.rows), 2);
  if ('testFrom' in split) {
    return htmlTable(['window', 'from', 'to', 'rows', 'positives', 'bad rate'], (['train', 'valid', 'test'] as const).map((w) => {
      const s = splits[w]!;
      const from = w === 'train' ? split.trainFrom ?? '(start)' : w === 'valid' ? split.validFrom : split.testFrom;
      const to = w === 'train' ? split.validFrom : w === 'valid' ? split.testFrom : split.testTo;
      return [w, from, to, s.rows, s.positives, rate(w)];
    }), { caption: 'Out-of-time windows by spine time' });
  }
  const caption = 'random' in split ? `random split, seed ${split.random.seed}` : `split declared by column '${split.column}'`;
  return htmlTable(['split', 'rows', 'positives', 'bad rate'], (['train', 'valid', 'test'] as const).map((w) => [w, splits[w]!.rows, splits[w]!.positives, rate(w)]), { caption });
}

/** Reason frequencies: the top N reasons, then one row for the rest (a wide model has hundreds of reasons). */
function reasonTable(frequency: { reason: string; text: string | null; count: number }[], top: number): string {
  const t = topWithRest(frequency.map((f) => ({ ...f, value: f.count })), top);
  return htmlTable(['reason', 'text', 'declined applicants citing it'], [...t.top.map((f) => [f.reason, f.text ?? '(no reason text declared)', f.count]),
    ...(t.rest ? [[`(${t.rest.count} more reasons)`, '', t.rest.value]] : [])]);
}

/** The model's self-contained HTML report: every chart is inline SVG rendered with Vega-Lite. */
export async function renderReport(meta: ReportMeta, ev: Evaluation): Promise<string> {
  const svg = (spec: ChartSpec): Promise<string> => renderSvg(spec);
  const m = ev.metrics;
  const splits = meta.data.splits;
  const sections: Section[] = [];
  const breaks = new Set(ev.rankOrderBreaks ?? []);
  sections.push({
    id: 'summary', title: 'Summary',
    html: kpis([
      { label: 'test AUC', value: m.auc.toFixed(4) }, { label: 'Gini', value: m.gini.toFixed(4) }, { label: 'KS', value: m.ks.toFixed(4) },
      { label: 'log loss', value: m.logLoss.toFixed(4) }, { label: 'Brier', value: m.brier.toFixed(4) }, { label: 'PR-AUC', value: m.prAuc.toFixed(4) },
      { label: 'ECE (raw / calibrated)', value: `${m.ece.toFixed(4)} / ${m.eceCalibrated?.toFixed(4) ?? '-'}` },
      { label: 'valid AUC', value: ev.validMetrics.auc.toFixed(4) },
    ]) + splitTable(meta) +
      (meta.data.warnings?.length ? `<div class="warning"><p><b>Warnings</b></p><ul>${meta.data.warnings.map((w) => `<li>${escapeHtml(w)}</li>`).join('')}</ul></div>` : '') +
      `<p class="note">Model ${escapeHtml(meta.model)} version ${meta.version}, run ${escapeHtml(meta.runId)}; ${meta.data.inputs.length} inputs; best iteration ${meta.bestIteration ?? '-'}; training set ${meta.data.fingerprint.rows} rows ${escapeHtml(meta.data.fingerprint.from ?? '')} .. ${escapeHtml(meta.data.fingerprint.to ?? '')} (checksum ${escapeHtml(meta.data.fingerprint.checksum)}); ${meta.data.unlabelled} rows without a known label left out.</p>`,
  });
  const roc = ev.roc.fpr.map((x, i) => ({ x, y: ev.roc.tpr[i]!, series: `AUC ${m.auc.toFixed(3)}` }));
  const calRows = [
    ...ev.calibration.filter((b) => b.meanPredicted !== null).map((b) => ({ x: b.meanPredicted!, y: b.observedRate ?? 0, series: 'raw score' })),
    ...(ev.calibrationAfter ?? []).filter((b) => b.meanPredicted !== null).map((b) => ({ x: b.meanPredicted!, y: b.observedRate ?? 0, series: `calibrated (${meta.spec.calibration})` })),
  ];
  sections.push({
    id: 'discrimination', title: 'Discrimination and calibration',
    html: charts(await Promise.all([
      svg(lineChart({ title: 'ROC (test window)', x: 'false positive rate', y: 'true positive rate', rows: roc, diagonal: true, xDomain: [0, 1], yDomain: [0, 1] })),
      svg(lineChart({ title: 'Calibration (deciles of score)', x: 'mean predicted PD', y: 'observed bad rate', rows: calRows, diagonal: true })),
    ])),
  });
  sections.push({
    id: 'lift', title: 'Lift, gain and score distributions',
    html: charts(await Promise.all([
      svg(barChart({ title: 'Bad rate by score decile (1 = riskiest)', category: 'decile', value: 'bad rate', rows: ev.lift.map((r) => ({ category: String(r.group), value: r.rate ?? 0 })) })),
      svg(lineChart({ title: 'Cumulative gain', x: 'share of population (riskiest first)', y: 'share of bads captured', rows: [{ x: 0, y: 0 }, ...ev.lift.map((r) => ({ x: r.group / ev.lift.length, y: r.captureRate }))], diagonal: true })),
      svg(barChart({
        title: 'Score distribution by outcome', category: 'PD from', value: 'share of the outcome', colors: { good: '#2563eb', bad: '#dc2626' },
        rows: scoreShares(ev).flatMap((b) => [{ category: b.lower.toFixed(2), value: b.good, series: 'good' }, { category: b.lower.toFixed(2), value: b.bad, series: 'bad' }]),
      })),
    ])) + htmlTable(['decile', 'rows', 'bads', 'bad rate', 'lift', 'cumulative capture', 'rank order'], ev.lift.map((r) => [r.group, r.count, r.positives, pct(r.rate, 2), r.lift, pct(r.captureRate), breaks.has(r.group) ? `breaks: below decile ${r.group + 1}` : 'ok']), { highlight: (r) => breaks.has(r[0] as number) }) +
      (breaks.size ? `<p class="warning"><b>Rank order breaks</b> at decile${breaks.size > 1 ? 's' : ''} ${[...breaks].join(', ')}: a riskier score band has a lower bad rate than the next safer one; check the score's ordering there before setting cutoffs.</p>` : '<p>The bad rate falls from each decile to the next (rank order holds).</p>'),
  });
  sections.push({
    id: 'cutoff', title: 'Approval rate versus bad rate',
    html: charts([await svg(lineChart({ title: 'Bad rate among approved, by approval rate', x: 'approval rate', y: 'bad rate of approved', rows: ev.approval.map((a) => ({ x: a.approvalRate, y: a.badRate })) }))]) +
      `<p>Cutoff: decline when PD ≥ ${ev.cutoff.toFixed(4)} (${ev.scaling.pointsAtCutoff} points on a scale of ${ev.scaling.basePoints} points at ${ev.scaling.baseOdds}:1 good:bad odds, ${ev.scaling.pdo} points to double the odds).</p>`,
  });
  sections.push({
    id: 'time', title: ev.byMonth.length ? 'Metrics over time and by slice' : 'Metrics by slice',
    html: (ev.byMonth.length ? charts([await svg(lineChart({ title: 'AUC and bad rate by month (test window)', x: 'month', y: 'value', xType: 'ordinal', rows: ev.byMonth.flatMap((r) => [{ x: r.slice, y: r.auc ?? NaN, series: 'AUC' }, { x: r.slice, y: r.rate ?? NaN, series: 'bad rate' }]).filter((r) => Number.isFinite(r.y)) }))]) +
      htmlTable(['month', 'rows', 'bad rate', 'AUC'], ev.byMonth.map((r) => [r.slice, r.count, pct(r.rate, 2), r.auc])) : `<p class="note">No month slices: the spine has no time (${escapeHtml(meta.data.splitText ?? 'not split by time')}).</p>`) +
      Object.entries(ev.slices).map(([name, rows]) => htmlTable([name, 'rows', 'bad rate', 'AUC'], rows.map((r) => [r.slice, r.count, pct(r.rate, 2), r.auc]), { caption: `By ${name}` })).join(''),
  });
  if (ev.fairness) {
    const f = ev.fairness;
    sections.push({
      id: 'fairness', title: 'Fairness at the cutoff',
      html: htmlTable(['group', 'applicants', 'approval rate', 'adverse impact ratio', 'approval-rate difference'], f.groups.map((g) => [g.group, g.count, pct(g.approvalRate), g.adverseImpactRatio, g.approvalRateDifference]), { highlight: (r) => typeof r[3] === 'number' && r[3] < 0.8 }) +
        `<p>Attribute '${escapeHtml(f.feature)}' (a prohibited basis: tested here, never a model input); reference group ${escapeHtml(f.reference)}; overall approval ${pct(f.overallApprovalRate)}. Minimum adverse impact ratio ${f.minAdverseImpactRatio?.toFixed(3) ?? '-'}: ${f.flagged.length ? `<b>below the four-fifths rule for ${escapeHtml(f.flagged.join(', '))}</b>` : 'passes the four-fifths rule'}.</p>`,
    });
  }
  const shap = ev.shapSummary;
  const top = meta.top ?? DEFAULT_TOP;
  const origins = originsOf(meta);
  const figures: Record<string, number> = shap ? Object.fromEntries(shap.map((s) => [s.feature, s.meanAbs])) : Object.fromEntries(meta.importance.map((i) => [i.feature, i.gain]));
  const ranked = shap ? shap.map((s) => ({ category: s.feature, value: s.meanAbs })) : meta.importance.map((i) => ({ category: i.feature, value: i.gain }));
  sections.push({
    id: 'explain', title: shap ? 'SHAP summary' : 'Feature importance',
    html: charts([await svg(barChart({
      title: `${shap ? 'Mean |SHAP contribution| (test window, margin)' : 'Total gain'}${ranked.length > 20 ? `: top 20 of ${ranked.length.toLocaleString('en-US')} inputs` : ''}`, category: 'feature', value: shap ? 'mean |SHAP|' : 'total gain', horizontal: true, height: 360,
      rows: ranked.slice(0, 20),
    }))]) + figureTables(figures, origins, shap ? 'mean |SHAP|' : 'total gain', top) +
      (meta.data.skipped.length ? `<p class="note">Not model inputs: ${escapeHtml(meta.data.skipped.map((s) => `${s.column} (${s.reason})`).join('; '))}</p>` : ''),
  });
  if (ev.reasonCodes) {
    const rc = ev.reasonCodes;
    sections.push({
      id: 'reasons', title: 'Adverse-action reason codes',
      html: `<p>${rc.declined} declined applicants in the test window; up to ${meta.spec.maxReasons} reasons each, only features pushing toward decline.${ev.shapRows && ev.shapRows.explained < ev.shapRows.of ? ` Reason counts and the SHAP summary come from a seeded sample of ${ev.shapRows.explained} of the ${ev.shapRows.of} test rows (${rc.explainedDeclined} of them declined).` : ''}</p>` +
        reasonTable(rc.frequency, top) +
        htmlTable(['row', 'PD', 'reasons'], rc.examples.map((e) => [e.row, e.score, e.reasons.map((r) => r.text ?? r.reason).join(' · ')]), { caption: 'Examples' }),
    });
  }
  return htmlPage({ title: `${meta.model} v${meta.version}: model report`, subtitle: meta.spec.description ?? `run ${meta.runId}`, sections, generatedAt: new Date().toISOString() });
}
