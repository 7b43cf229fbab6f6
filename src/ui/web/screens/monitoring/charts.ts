/**
 * Vega-Lite specs of the monitoring screens (rendered in the page by chart(); tooltips on every mark).
 * The drift heat map is the monitor report's own (driftHeatMap); the others are the report's line charts
 * with points, tooltips and a shape per series, so no line is told apart by colour alone.
 */
import { driftHeatMap } from '../../../../monitor/index.js';
import type { MonitorStatus } from '../../../../monitor/index.js';

export type Spec = Record<string, unknown>;

export interface LineRow { x: string | number; y: number; series: string; /** Shown in the tooltip (e.g. how many labels a point rests on). */ note?: string }

/**
 * Lines of series over x (ordinal labels such as windows or months, or whole numbers), points with
 * tooltips; the series keep the order they first appear in (legend included).
 */
export function lines(opts: { title: string; x: string; y: string; rows: LineRow[]; xType?: 'ordinal' | 'quantitative'; yFormat?: string; height?: number }): Spec {
  const fmt = opts.yFormat ?? '.4f';
  const order = [...new Set(opts.rows.map((r) => r.series))];
  const series = (channel: object = {}) => ({ field: 'series', type: 'nominal', title: null, sort: order, ...channel });
  const noted = opts.rows.some((r) => r.note);
  return {
    title: opts.title, height: opts.height ?? 240,
    data: { values: noted ? opts.rows.map((r) => ({ note: '', ...r })) : opts.rows },
    mark: { type: 'line', point: { filled: true, size: 40 }, strokeWidth: 2 },
    encoding: {
      x: opts.xType === 'quantitative'
        ? { field: 'x', type: 'quantitative', title: opts.x, axis: { tickMinStep: 1, format: 'd' } }
        : { field: 'x', type: 'ordinal', title: opts.x, sort: null, axis: { labelAngle: -45 } },
      y: { field: 'y', type: 'quantitative', title: opts.y, scale: { zero: false } },
      color: series(),
      shape: series(),
      strokeDash: series(),
      tooltip: [{ field: 'series', title: 'series' }, { field: 'x', title: opts.x }, { field: 'y', title: opts.y, format: fmt }, ...(noted ? [{ field: 'note', title: 'note' }] : [])],
    },
  };
}

/** The windows of every version, labelled `<window> v<version>` as in the monitor report. */
export function windowsOf(status: MonitorStatus): (MonitorStatus['versions'][number]['windows'][number] & { version: number; label: string })[] {
  return status.versions.flatMap((v) => v.windows.map((w) => ({ ...w, version: v.version, label: `${w.window} v${v.version}` })));
}

/** The inputs that moved most anywhere (peak CSI), so the heat map stays readable for wide models. */
export function topInputs(status: MonitorStatus, top: number): string[] {
  const peak = new Map<string, number>();
  for (const w of windowsOf(status)) for (const f of w.features) if (f.csi !== null) peak.set(f.name, Math.max(peak.get(f.name) ?? 0, f.csi));
  return [...peak].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).slice(0, top).map(([k]) => k);
}

/** CSI of the shown inputs by window: the report's heat map, with the PSI bands as colour and the value in the tooltip. */
export function heatMap(status: MonitorStatus, shown: string[]): Spec {
  const keep = new Set(shown);
  const rows = windowsOf(status).flatMap((w) => w.features.filter((f) => f.csi !== null && keep.has(f.name)).map((f) => ({ window: w.label, input: f.name, csi: f.csi! })));
  const spec = driftHeatMap(rows, `CSI by ${status.window}: the ${shown.length} inputs that moved most`) as unknown as Spec;
  return { ...spec, width: { step: 22 }, height: { step: 16 } };
}

export function scoreQuantiles(status: MonitorStatus): Spec {
  const rows: LineRow[] = windowsOf(status).flatMap((w) => [
    ...['p10', 'p25', 'median', 'p75', 'p90'].map((q, i) => ({ x: w.label, y: w.score.quantiles[i]!, series: q })).filter((r) => Number.isFinite(r.y)),
    ...(w.score.referenceMean !== null ? [{ x: w.label, y: w.score.referenceMean, series: 'mean at training' }] : []),
  ]);
  return lines({ title: 'Score distribution by window (percentiles of the probability of default)', x: status.window, y: 'probability of default', rows });
}

export function scorePsi(status: MonitorStatus): Spec {
  const rows = windowsOf(status).map((w) => ({ x: w.label, y: w.score.psi, series: 'score PSI' }));
  const spec = lines({ title: 'Score PSI by window (bands 0.1 and 0.25 dashed)', x: status.window, y: 'PSI', rows });
  const { data, mark, encoding, ...rest } = spec;
  return {
    ...rest,
    layer: [
      { data: { values: [{ band: 0.1, name: 'moderate from 0.1' }, { band: 0.25, name: 'significant from 0.25' }] }, mark: { type: 'rule', strokeDash: [4, 4], color: '#9ca3af' },
        encoding: { y: { field: 'band', type: 'quantitative' }, tooltip: [{ field: 'name', title: 'band' }] } },
      { data, mark, encoding },
    ],
  };
}

export interface TimelineRow { time: string; outcome: string; id: string; status: string; triggers: string; champion: string; challenger: string; summary: string }

/** The loop's runs on a time axis (the run's as-of time), one lane per outcome, a shape per outcome. */
export function loopTimeline(rows: TimelineRow[]): Spec {
  return {
    title: "The loop's runs by as-of time",
    height: 40 * new Set(rows.map((r) => r.outcome)).size,
    data: { values: rows },
    mark: { type: 'point', filled: true, size: 120 },
    encoding: {
      x: { field: 'time', type: 'temporal', title: 'as of (UTC)' },
      y: { field: 'outcome', type: 'nominal', title: null },
      color: { field: 'outcome', type: 'nominal', title: 'outcome', scale: { domain: ['promoted', 'shadowed', 'rejected', 'no_challenger', 'completed', 'running', 'failed', 'cancelled', 'pending'], range: ['#15803d', '#2563eb', '#b91c1c', '#6b7280', '#0891b2', '#d97706', '#7f1d1d', '#374151', '#a16207'] } },
      shape: { field: 'outcome', type: 'nominal', title: 'outcome' },
      tooltip: [{ field: 'id', title: 'run' }, { field: 'time', type: 'temporal', title: 'as of', format: '%Y-%m-%d %H:%M' }, { field: 'status' }, { field: 'outcome' }, { field: 'triggers' },
        { field: 'champion' }, { field: 'challenger' }, { field: 'summary', title: 'gates' }],
    },
  };
}

export function vintageChart(rows: LineRow[]): Spec {
  return lines({ title: 'Cumulative bad rate by months on book, one line per decision-month cohort', x: 'months on book', y: 'cumulative bad rate', rows, xType: 'quantitative', yFormat: '.2%', height: 300 });
}
