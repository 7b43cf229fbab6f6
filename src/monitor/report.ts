/**
 * `kiln monitor report -o file.html`: one self-contained page (inline SVG, no scripts, no network) with
 * the drift heat map (inputs by window, CSI), the score's distribution over time (mean probability and
 * PSI by window), realised and estimated performance by cohort, vintage curves, and the alerts.
 */
import { charts, escapeHtml, htmlPage, htmlTable, kpis, lineChart, renderSvg, type ChartSpec, type Section } from '../ui/index.js';
import type { MonitorStatus } from './status.js';

/** Extra sections (performance, loop) rendered by their owners. */
export interface ReportPart { readonly sections: Section[] }

/** A heat map of CSI: inputs (rows) by window (columns), coloured by the PSI bands. */
export function driftHeatMap(rows: { window: string; input: string; csi: number }[], title: string): ChartSpec {
  const inputs = [...new Set(rows.map((r) => r.input))];
  return {
    title, width: Math.max(240, 22 * new Set(rows.map((r) => r.window)).size), height: Math.max(120, 14 * inputs.length),
    data: { values: rows.map((r) => ({ ...r, csi: Math.min(r.csi, 1) })) },
    mark: { type: 'rect' },
    encoding: {
      x: { field: 'window', type: 'ordinal', title: 'window', axis: { labelAngle: -45 } },
      y: { field: 'input', type: 'nominal', title: null, sort: inputs },
      color: { field: 'csi', type: 'quantitative', title: 'CSI', scale: { domain: [0, 0.1, 0.25, 1], range: ['#f0fdf4', '#fde68a', '#f97316', '#7f1d1d'] } },
      tooltip: [{ field: 'input' }, { field: 'window' }, { field: 'csi', format: '.3f' }],
    },
  } as ChartSpec;
}

const f3 = (x: number | null | undefined): string => (x === null || x === undefined || !Number.isFinite(x) ? '-' : x.toFixed(3));

export async function renderMonitorReport(status: MonitorStatus, extra: ReportPart[] = [], opts: { generatedAt?: string; topInputs?: number } = {}): Promise<string> {
  const sections: Section[] = [];
  const windows = status.versions.flatMap((v) => v.windows.map((w) => ({ ...w, version: v.version })));
  const critical = status.alerts.filter((a) => a.severity === 'critical').length;
  sections.push({
    id: 'summary', title: 'Summary',
    html: kpis([
      { label: 'decisions', value: String(status.decisions) },
      { label: `${status.window}s`, value: String(windows.length) },
      { label: 'versions', value: status.versions.map((v) => v.version).join(', ') || '-' },
      { label: 'alerts (critical)', value: `${status.alerts.length} (${critical})` },
    ]) + status.versions.filter((v) => v.note).map((v) => `<div class="warning"><p>${escapeHtml(v.note!)}</p></div>`).join(''),
  });
  if (windows.length) {
    // The inputs that moved most anywhere, so the map stays readable for wide models.
    const top = opts.topInputs ?? 25;
    const peak = new Map<string, number>();
    for (const w of windows) for (const f of w.features) if (f.csi !== null) peak.set(f.name, Math.max(peak.get(f.name) ?? 0, f.csi));
    const shown = [...peak].sort((a, b) => b[1] - a[1]).slice(0, top).map(([k]) => k);
    const heat = windows.flatMap((w) => w.features.filter((f) => f.csi !== null && shown.includes(f.name)).map((f) => ({ window: `${w.window} v${w.version}`, input: f.name, csi: f.csi! })));
    const scoreRows = windows.flatMap((w) => [
      ...['p10', 'p25', 'median', 'p75', 'p90'].map((q, i) => ({ x: `${w.window} v${w.version}`, y: w.score.quantiles[i]!, series: q })).filter((r) => Number.isFinite(r.y)),
      ...(w.score.referenceMean !== null ? [{ x: `${w.window} v${w.version}`, y: w.score.referenceMean, series: 'mean at training' }] : []),
    ]);
    const psiRows = windows.map((w) => ({ x: `${w.window} v${w.version}`, y: w.score.psi, series: 'score PSI' }));
    sections.push({
      id: 'drift', title: 'Drift',
      html: charts(await Promise.all([
        renderSvg(driftHeatMap(heat, `CSI by ${status.window} (${shown.length} inputs that moved most)`)),
        renderSvg(lineChart({ title: 'Score distribution over time (percentiles)', x: status.window, y: 'probability of default', rows: scoreRows, xType: 'ordinal', width: 420 })),
        renderSvg(lineChart({ title: 'Score PSI (bands 0.1, 0.25)', x: status.window, y: 'PSI', rows: psiRows, xType: 'ordinal', width: 420 })),
      ])) + htmlTable(['window', 'version', 'decisions', 'score PSI', 'band', 'mean pd', 'inputs moderate', 'inputs significant', 'null spikes', 'schema', 'volume'],
        windows.map((w) => [w.window, w.version, w.rows, f3(w.score.psi), w.score.band, f3(w.score.mean), w.moderate, w.significant,
          w.features.filter((f) => f.nullSpike).length,
          w.schema.added.length + w.schema.removed.length + w.schema.retyped.length ? 'changed' : 'ok',
          w.volume ? (w.volume.anomaly ? `anomaly (z ${w.volume.z.toFixed(1)})` : 'ok') : '-']),
      { caption: `Each window against the reference of the version that decided (the development sample's deciles)` }),
    });
  }
  for (const part of extra) sections.push(...part.sections);
  sections.push({
    id: 'alerts', title: 'Alerts',
    html: status.alerts.length
      ? htmlTable(['severity', 'window', 'version', 'kind', 'subject', 'value', 'threshold', 'message'],
        status.alerts.map((a) => [a.severity, a.window, a.version, a.kind, a.subject, f3(a.value), f3(a.threshold), a.message]), { highlight: (r) => r[0] === 'critical' })
      : '<p>No alerts.</p>',
  });
  return htmlPage({ title: `Monitoring: ${status.model}`, subtitle: `${status.decisions} decisions by ${status.window}`, sections, ...(opts.generatedAt ? { generatedAt: opts.generatedAt } : {}) });
}
