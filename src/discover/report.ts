/**
 * The discovery report: one self-contained HTML page (src/ui) with the ranking, each candidate's monthly
 * PSI as a sparkline (the PSI bands 0.1 / 0.25 drawn as lines), the rejected candidates with the reason,
 * and the candidates skipped as equal to current features.
 */
import { PSI_BANDS } from '../monitor/index.js';
import { escapeHtml, htmlPage, htmlTable, kpis, type Section } from '../ui/index.js';
import type { CandidateResult, DiscoverResult } from './discover.js';

const W = 120, H = 24;

/** Monthly PSI as an inline SVG polyline on a 0 .. max(0.3, max PSI) scale, with the band lines. */
export function psiSparkline(points: readonly { month: string; psi: number }[]): string {
  if (points.length === 0) return '<span class="note">too few rows</span>';
  const top = Math.max(0.3, ...points.map((p) => p.psi));
  const x = (i: number): number => (points.length === 1 ? W / 2 : (i / (points.length - 1)) * (W - 4) + 2);
  const y = (v: number): number => H - 2 - (v / top) * (H - 4);
  const band = (v: number, color: string): string => `<line x1="0" x2="${W}" y1="${y(v).toFixed(1)}" y2="${y(v).toFixed(1)}" stroke="${color}" stroke-dasharray="2,2"/>`;
  const line = points.map((p, i) => `${x(i).toFixed(1)},${y(p.psi).toFixed(1)}`).join(' ');
  const title = points.map((p) => `${p.month}: ${p.psi.toFixed(3)}`).join('\n');
  return `<svg width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" role="img"><title>${escapeHtml(title)}</title>${band(PSI_BANDS.moderate, '#f59e0b')}${band(PSI_BANDS.significant, '#ef4444')}<polyline fill="none" stroke="#2563eb" stroke-width="1.5" points="${line}"/></svg>`;
}

const num = (x: number | null, d: number, signed = false): string => (x === null ? '-' : `${signed && x >= 0 ? '+' : ''}${x.toFixed(d)}`);

function rankingTable(rows: readonly CandidateResult[]): string {
  const head = ['#', 'candidate', 'family', 'computes', 'status', 'Δ valid AUC', 'screen gain', 'IV', 'AUC', 'missing', 'PSI excess', 'monthly PSI', 'online state', 'note'];
  const body = rows.map((r, i) => {
    const cells = [
      String(i + 1), r.name, r.family, r.text, r.status, num(r.deltaAuc, 4, true), r.gain === null ? '-' : `${(r.gain * 100).toFixed(1)}%`,
      num(r.iv, 3), num(r.auc, 3), r.missing === null ? '-' : `${(r.missing * 100).toFixed(0)}%`, num(r.psiMax, 3),
    ].map((c) => `<td${/^[-+\d]/.test(c) ? ' class="num"' : ''}>${escapeHtml(c)}</td>`);
    cells.push(`<td>${psiSparkline(r.psi)}</td>`, `<td class="num">${r.stateBytes.toLocaleString('en-US')} B</td>`, `<td>${escapeHtml(r.reason ?? '')}</td>`);
    return `<tr${r.status === 'rejected' ? ' class="flag"' : ''}>${cells.join('')}</tr>`;
  });
  return `<table><thead><tr>${head.map((h) => `<th>${escapeHtml(h)}</th>`).join('')}</tr></thead><tbody>${body.join('')}</tbody></table>`;
}

/**
 * The report page of a discovery run.
 * @example writeFileSync('discover.html', discoverReport(result, 'kiln features discover --source transactions --label credit'))
 */
export function discoverReport(r: DiscoverResult, command: string): string {
  const selected = r.candidates.filter((c) => c.status === 'selected');
  const rejected = r.candidates.filter((c) => c.status === 'rejected');
  const sections: Section[] = [
    {
      id: 'summary', title: 'Summary',
      html: kpis([
        { label: 'candidates generated', value: String(r.generated) },
        { label: `evaluated (budget ${r.budget})`, value: String(r.candidates.length) },
        { label: 'selected', value: String(selected.length) },
        { label: 'rejected as leaks', value: String(rejected.length) },
        { label: 'validation AUC, current features', value: r.current.validAuc.toFixed(4) },
        { label: 'validation AUC, + selected', value: r.selectedValidAuc === null ? '-' : r.selectedValidAuc.toFixed(4) },
      ]) + htmlTable(['window', 'rows', 'positives'], (['train', 'valid', 'test'] as const).map((w) => [w, r.rows[w].rows, r.rows[w].positives]), { caption: r.splitText })
        + `<p class="note">${escapeHtml(command)}. ${r.current.features} current features; best univariate AUC among them ${r.current.bestAuc.toFixed(3)}${r.current.bestName ? ` (${escapeHtml(r.current.bestName)})` : ''}. `
        + 'Δ valid AUC: a fast GBDT on the current features plus the candidate, against the current features alone, on the validation window. '
        + 'Screen gain: the candidate\'s share of the split gain of one GBDT with every candidate. IV and AUC: univariate, train window, decile bins. '
        + `Monthly PSI: each spine month against the train window (bands ${PSI_BANDS.moderate} and ${PSI_BANDS.significant}); PSI excess: the largest monthly PSI above sampling noise after training. Online state: estimated bytes per entity.</p>`,
    },
    { id: 'ranking', title: 'Ranking', html: rankingTable(r.candidates) },
  ];
  if (rejected.length) {
    sections.push({ id: 'rejected', title: 'Rejected', html: htmlTable(['candidate', 'reason'], rejected.map((c) => [c.name, c.reason ?? ''])) });
  }
  if (r.skipped.length) {
    sections.push({ id: 'skipped', title: 'Already features', html: htmlTable(['candidate', 'equals current feature'], r.skipped.map((s) => [s.name, s.equals])) });
  }
  return htmlPage({ title: `Feature discovery: ${r.source} for ${r.model}`, subtitle: `${selected.length} selected of ${r.candidates.length} evaluated in ${r.seconds.toFixed(1)} s`, sections, generatedAt: new Date().toISOString() });
}
