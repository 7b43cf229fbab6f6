export { renderSvg, lineChart, barChart, type ChartSpec } from './charts.js';
export { htmlPage, htmlTable, kpis, charts, escapeHtml, type Section, type Cell } from './html.js';
