import { DEFAULT_TOP, describeInputs, groupFigures, topWithRest } from '../eval/index.js';
import type { Evaluation } from './evaluate.js';
import { originsOf, type ReportMeta } from './report.js';

const pct = (x: number | null | undefined): string => (x === null || x === undefined ? '-' : `${(x * 100).toFixed(1)}%`);

/**
 * The most influential declared features (mean |SHAP| on the test window, else total gain, summed over
 * each feature's columns): the top N rows and one for the rest, so a 1,800-input model stays one screen.
 */
function topFeatures(meta: ReportMeta, ev: Evaluation): string[] {
  const origins = originsOf(meta);
  const shap = ev.shapSummary;
  const values = shap ? Object.fromEntries(shap.map((x) => [x.feature, x.meanAbs])) : Object.fromEntries(meta.importance.map((i) => [i.feature, i.gain]));
  const label = shap ? 'mean \\|SHAP\\|' : 'total gain';
  const groups = groupFigures(values, origins, 'feature');
  const total = groups.reduce((a, g) => a + g.value, 0) || 1;
  const { top, rest } = topWithRest(groups, meta.top ?? DEFAULT_TOP);
  return [
    `${describeInputs(origins)}; the bundle's signature lists every input.`, '',
    `| feature | columns | ${label} | share |`, '| --- | --- | --- | --- |',
    ...top.map((g) => `| ${g.name} | ${g.columns} | ${g.value.toPrecision(4)} | ${pct(g.value / total)} |`),
    ...(rest ? [`| (${rest.count.toLocaleString('en-US')} more features) | | ${rest.value.toPrecision(4)} | ${pct(rest.value / total)} |`] : []),
  ];
}

/** The model card in Markdown: intended use, data and lineage, inputs, metrics, limitations, fairness. */
export function modelCard(meta: ReportMeta, ev: Evaluation): string {
  const s = meta.spec;
  const sp = meta.data.splits;
  const split = s.split;
  const at = s.spine.timestamp ? ` at \`${s.spine.timestamp}\`` : ' (a plain table: no time)';
  const inputs = [
    s.features !== undefined ? (typeof s.features === 'string' ? `set \`${s.features}\`` : s.features.map((f) => `\`${f}\``).join(', ')) + ' (computed point in time by the feature store)' : null,
    s.columns !== undefined ? `the spine's own columns (${s.columns === 'all' ? 'all' : Array.isArray(s.columns) ? s.columns.map((c) => `\`${c}\``).join(', ') : `all but ${s.columns.exclude.map((c) => `\`${c}\``).join(', ')}`})` : null,
  ].filter(Boolean).join(' and ');
  const windows = 'testFrom' in split
    ? `- Windows (out of time): train ${split.trainFrom ?? 'start'} .. ${split.validFrom} (${sp.train?.rows} rows, ${sp.train?.positives} bads), validation ${split.validFrom} .. ${split.testFrom} (${sp.valid?.rows}, ${sp.valid?.positives}), test ${split.testFrom} .. ${split.testTo} (${sp.test?.rows}, ${sp.test?.positives}).`
    : `- Split: ${'random' in split ? `random split, seed ${split.random.seed}` : `declared by column \`${split.column}\``}: train ${sp.train?.rows} rows (${sp.train?.positives} bads), validation ${sp.valid?.rows} (${sp.valid?.positives}), test ${sp.test?.rows} (${sp.test?.positives}).`;
  const range = meta.data.fingerprint.from !== null ? `, ${meta.data.fingerprint.from} .. ${meta.data.fingerprint.to}` : '';
  const lines = [
    `# Model card: ${meta.model} v${meta.version}`,
    '',
    `Run \`${meta.runId}\`. ${s.description ?? ''}`,
    '',
    '## Intended use',
    s.intendedUse ?? `Scores the probability of \`${s.label.column}\` for each \`${s.spine.table}\` row${at}. Not validated for other populations or decisions.`,
    '',
    '## Data and lineage',
    `- Spine: \`${s.spine.table}\`${at}; label \`${s.label.column}\`${s.label.positive ? ` (1 = ${s.label.positive.join(' or ')})` : ''}${s.label.availableAt ? ` known at \`${s.label.availableAt}\`` : ''}.`,
    `- Inputs: ${inputs}; ${meta.data.inputs.length} model inputs.`,
    `- Training set: ${meta.data.fingerprint.rows} rows${range}, checksum \`${meta.data.fingerprint.checksum}\`; ${meta.data.unlabelled} rows without a known label left out.`,
    windows,
    `- Monotone constraints: ${Object.keys(s.monotone).length ? Object.entries(s.monotone).map(([f, d]) => `${f} ${d > 0 ? '↑' : d < 0 ? '↓' : '·'}`).join(', ') : 'none'}.`,
    '',
    '## Inputs',
    '',
    ...topFeatures(meta, ev),
    '',
    '## Metrics (test window)',
    '',
    '| metric | value |', '| --- | --- |',
    ...Object.entries(ev.metrics).map(([k, v]) => `| ${k} | ${v === null ? '-' : v.toFixed(4)} |`),
    '',
    `Cutoff: decline when PD ≥ ${ev.cutoff.toFixed(4)} (${ev.scaling.pointsAtCutoff} points).`,
    '',
    (ev.rankOrderBreaks ?? []).length
      ? `**Rank order breaks** at decile(s) ${ev.rankOrderBreaks.join(', ')} (1 = riskiest): a riskier score band has a lower bad rate than the next safer one.`
      : 'Rank order holds: the bad rate falls from each score decile to the next.',
    '',
    ...(meta.data.warnings?.length ? ['## Warnings', '', ...meta.data.warnings.map((w) => `- ${w}`), ''] : []),
    '## Fairness',
    ev.fairness
      ? [`Attribute \`${ev.fairness.feature}\` (prohibited basis; not a model input). Reference group ${ev.fairness.reference}.`, '',
        '| group | applicants | approval rate | adverse impact ratio |', '| --- | --- | --- | --- |',
        ...ev.fairness.groups.map((g) => `| ${g.group} | ${g.count} | ${pct(g.approvalRate)} | ${g.adverseImpactRatio?.toFixed(3) ?? '-'} |`), '',
        ev.fairness.flagged.length ? `**Below the four-fifths rule:** ${ev.fairness.flagged.join(', ')}.` : 'All groups pass the four-fifths rule at this cutoff.'].join('\n')
      : 'No fairness attribute configured for this model.',
    '',
    '## Limitations',
    'testFrom' in split
      ? `- Performance is measured on one out-of-time window (${split.testFrom} .. ${split.testTo}); monitor it as the population drifts.`
      : `- Performance is measured on a ${'random' in split ? 'random' : 'declared'} hold-out of the same period as training, not out of time: expect it to be optimistic once the population drifts.`,
    `- Rows whose label was not yet known were left out, which can under-represent the most recent vintages.`,
    ...(meta.data.skipped.length ? [`- Not used as inputs: ${meta.data.skipped.map((x) => x.column).join(', ')}.`] : []),
    ...(ev.reasonCodes ? [] : ['- Reason codes need TreeSHAP contributions, which this engine build did not provide.']),
    '',
  ];
  return lines.join('\n');
}
