import { describe, expect, it } from 'vitest';
import { barChart, charts, htmlPage, htmlTable, kpis, lineChart, renderSvg } from '../../src/ui/index.js';

describe('report building blocks', () => {
  it('renders a Vega-Lite line chart to a standalone SVG on the server', async () => {
    const svg = await renderSvg(lineChart({ title: 'ROC', x: 'false positive rate', y: 'true positive rate', diagonal: true, rows: [{ x: 0, y: 0 }, { x: 0.2, y: 0.6 }, { x: 1, y: 1 }] }));
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg).toContain('ROC');
    expect(svg).toContain('false positive rate');
    expect(svg).not.toMatch(/https?:\/\/(?!www\.w3\.org)/); // nothing fetched from the network
  });

  it('renders grouped bars', async () => {
    const svg = await renderSvg(barChart({ title: 'Approval by group', category: 'group', value: 'approval rate', rows: [{ category: 'A', value: 0.6, series: 'model' }, { category: 'B', value: 0.5, series: 'model' }] }));
    expect(svg).toContain('Approval by group');
  });

  it('builds a self-contained page with escaped text and flagged rows', () => {
    const page = htmlPage({
      title: 'Model <credit>',
      subtitle: 'run 123',
      sections: [
        { id: 'summary', title: 'Summary', html: kpis([{ label: 'AUC', value: '0.781' }]) },
        { id: 'fair', title: 'Fairness', html: htmlTable(['group', 'AIR'], [['A', 1], ['B', 0.72]], { highlight: (r) => (r[1] as number) < 0.8 }) },
        { id: 'charts', title: 'Charts', html: charts(['<svg></svg>']) },
      ],
    });
    expect(page).toContain('<title>Model &lt;credit&gt;</title>');
    expect(page).toContain('<tr class="flag"><td>B</td><td class="num">0.7200</td></tr>');
    expect(page).toContain('<a href="#fair">Fairness</a>');
    expect(page).not.toContain('<script');
  });
});
