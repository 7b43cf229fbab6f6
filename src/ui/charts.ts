import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';

/** A Vega-Lite spec without the boilerplate: data values inline, a width and a height. */
export type ChartSpec = TopLevelSpec;

const FONT = 'system-ui, -apple-system, "Segoe UI", Roboto, sans-serif';

const THEME = {
  font: FONT,
  axis: { labelFontSize: 11, titleFontSize: 12, gridColor: '#e5e7eb', domainColor: '#9ca3af', tickColor: '#9ca3af' },
  legend: { labelFontSize: 11, titleFontSize: 12 },
  title: { fontSize: 14, anchor: 'start' as const },
  view: { stroke: null },
  range: { category: ['#2563eb', '#dc2626', '#059669', '#d97706', '#7c3aed', '#0891b2', '#db2777', '#65a30d'] },
};

/**
 * Renders a Vega-Lite spec to a standalone SVG string on the server (no browser, no network): the
 * report embeds it inline, so the HTML opens anywhere offline.
 */
export async function renderSvg(spec: ChartSpec): Promise<string> {
  const vl = compile({ ...spec, config: { ...THEME, ...(spec as { config?: object }).config } } as TopLevelSpec).spec;
  const view = new vega.View(vega.parse(vl), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** A line chart of one or more series: rows of { x, y, series }. */
export function lineChart(opts: {
  title: string; x: string; y: string; rows: { x: number | string; y: number; series?: string }[];
  /** 'ordinal' for labelled x values such as months. */
  xType?: 'quantitative' | 'ordinal';
  diagonal?: boolean; width?: number; height?: number; xDomain?: [number, number]; yDomain?: [number, number];
}): ChartSpec {
  const named = opts.rows.some((r) => r.series);
  const layers: object[] = [{
    mark: { type: 'line', point: opts.rows.length <= 40, strokeWidth: 2 },
    encoding: {
      x: { field: 'x', type: opts.xType ?? 'quantitative', title: opts.x, ...(opts.xDomain ? { scale: { domain: opts.xDomain } } : {}), ...(opts.xType === 'ordinal' ? { axis: { labelAngle: 0 } } : {}) },
      y: { field: 'y', type: 'quantitative', title: opts.y, ...(opts.yDomain ? { scale: { domain: opts.yDomain } } : {}) },
      ...(named ? { color: { field: 'series', type: 'nominal', title: null } } : {}),
    },
  }];
  if (opts.diagonal) {
    layers.unshift({ data: { values: [{ x: 0, y: 0 }, { x: 1, y: 1 }] }, mark: { type: 'line', strokeDash: [4, 4], color: '#9ca3af' }, encoding: { x: { field: 'x', type: 'quantitative' }, y: { field: 'y', type: 'quantitative' } } });
  }
  return {
    title: opts.title, width: opts.width ?? 320, height: opts.height ?? 240,
    data: { values: opts.rows.map((r) => ({ series: '', ...r })) }, layer: layers,
  } as ChartSpec;
}

/** Bars of rows { category, value, series? } (grouped when there are series). */
export function barChart(opts: {
  title: string; category: string; value: string; rows: { category: string; value: number; series?: string }[]; horizontal?: boolean; width?: number; height?: number;
  /** Fixed colours per series, e.g. { good: '#2563eb', bad: '#dc2626' }. */
  colors?: Record<string, string>;
}): ChartSpec {
  const cat = { field: 'category', type: 'nominal', title: opts.category, sort: null, axis: { labelLimit: 260 } };
  const val = { field: 'value', type: 'quantitative', title: opts.value };
  const grouped = opts.rows.some((r) => r.series);
  return {
    title: opts.title, width: opts.width ?? 320, height: opts.height ?? 240,
    data: { values: opts.rows },
    mark: { type: 'bar' },
    encoding: {
      ...(opts.horizontal ? { y: cat, x: val } : { x: cat, y: val }),
      ...(grouped ? {
        color: { field: 'series', type: 'nominal', title: null, ...(opts.colors ? { scale: { domain: Object.keys(opts.colors), range: Object.values(opts.colors) } } : {}) },
        [opts.horizontal ? 'yOffset' : 'xOffset']: { field: 'series', ...(opts.colors ? { sort: Object.keys(opts.colors) } : {}) },
      } : {}),
    },
  } as ChartSpec;
}
