import type { Evaluation } from './evaluate.js';
import type { ReportMeta } from './report.js';

const pct = (x: number | null | undefined): string => (x === null || x === undefined ? '-' : `${(x * 100).toFixed(1)}%`);

/** The model card in Markdown: intended use, data and lineage, metrics, limitations, fairness. */
export function modelCard(meta: ReportMeta, ev: Evaluation): string {
  const s = meta.spec;
  const sp = meta.data.splits;
  const lines = [
    `# Model card: ${meta.model} v${meta.version}`,
    '',
    `Run \`${meta.runId}\`. ${s.description ?? ''}`,
    '',
    '## Intended use',
    s.intendedUse ?? `Scores the probability of \`${s.label.column}\` for each \`${s.spine.table}\` row at \`${s.spine.timestamp}\`. Not validated for other populations or decisions.`,
    '',
    '## Data and lineage',
    `- Spine: \`${s.spine.table}\` at \`${s.spine.timestamp}\`; label \`${s.label.column}\`${s.label.availableAt ? ` known at \`${s.label.availableAt}\`` : ''}.`,
    `- Features: ${typeof s.features === 'string' ? `set \`${s.features}\`` : s.features.map((f) => `\`${f}\``).join(', ')}; ${meta.data.inputs.length} model inputs, computed point in time by the feature store.`,
    `- Training set: ${meta.data.fingerprint.rows} rows, ${meta.data.fingerprint.from ?? '?'} .. ${meta.data.fingerprint.to ?? '?'}, checksum \`${meta.data.fingerprint.checksum}\`; ${meta.data.unlabelled} rows without a known label left out.`,
    `- Windows (out of time): train ${s.split.trainFrom ?? 'start'} .. ${s.split.validFrom} (${sp.train?.rows} rows, ${sp.train?.positives} bads), validation ${s.split.validFrom} .. ${s.split.testFrom} (${sp.valid?.rows}, ${sp.valid?.positives}), test ${s.split.testFrom} .. ${s.split.testTo} (${sp.test?.rows}, ${sp.test?.positives}).`,
    `- Monotone constraints: ${Object.keys(s.monotone).length ? Object.entries(s.monotone).map(([f, d]) => `${f} ${d > 0 ? '↑' : d < 0 ? '↓' : '·'}`).join(', ') : 'none'}.`,
    '',
    '## Metrics (test window)',
    '',
    '| metric | value |', '| --- | --- |',
    ...Object.entries(ev.metrics).map(([k, v]) => `| ${k} | ${v === null ? '-' : v.toFixed(4)} |`),
    '',
    `Cutoff: decline when PD ≥ ${ev.cutoff.toFixed(4)} (${ev.scaling.pointsAtCutoff} points).`,
    '',
    '## Fairness',
    ev.fairness
      ? [`Attribute \`${ev.fairness.feature}\` (prohibited basis; not a model input). Reference group ${ev.fairness.reference}.`, '',
        '| group | applicants | approval rate | adverse impact ratio |', '| --- | --- | --- | --- |',
        ...ev.fairness.groups.map((g) => `| ${g.group} | ${g.count} | ${pct(g.approvalRate)} | ${g.adverseImpactRatio?.toFixed(3) ?? '-'} |`), '',
        ev.fairness.flagged.length ? `**Below the four-fifths rule:** ${ev.fairness.flagged.join(', ')}.` : 'All groups pass the four-fifths rule at this cutoff.'].join('\n')
      : 'No fairness attribute configured for this model.',
    '',
    '## Limitations',
    `- Performance is measured on one out-of-time window (${s.split.testFrom} .. ${s.split.testTo}); monitor it as the population drifts.`,
    `- Rows whose label was not yet known were left out, which can under-represent the most recent vintages.`,
    ...(meta.data.skipped.length ? [`- Not used as inputs: ${meta.data.skipped.map((x) => x.column).join(', ')}.`] : []),
    ...(ev.reasonCodes ? [] : ['- Reason codes need TreeSHAP contributions, which this engine build did not provide.']),
    '',
  ];
  return lines.join('\n');
}
