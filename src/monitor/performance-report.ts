/**
 * The performance part of `kiln monitor report`: by decision-month cohort, the realised AUC, KS and bad
 * rate as labels mature (with each cohort's maturity), beside the label-free estimates (CBPE, and the
 * shift-aware one when computed); the vintage curves.
 */
import { charts, htmlTable, lineChart, renderSvg, type Section } from '../ui/index.js';
import type { ReportPart } from './report.js';
import type { RealisedPerformance } from './realised.js';

const f3 = (x: number | null | undefined): string => (x === null || x === undefined || !Number.isFinite(x) ? '-' : x.toFixed(3));
const pct = (x: number | null | undefined): string => (x === null || x === undefined || !Number.isFinite(x) ? '-' : `${(100 * x).toFixed(1)}%`);

export async function performanceSections(p: RealisedPerformance): Promise<ReportPart> {
  const sections: Section[] = [];
  const shift = new Map<string, { auc: number; badRate: number; classifierAuc: number }>();
  for (const s of p.shiftAware) {
    // one row per cohort: a cohort decided by two versions shows the larger share's estimate
    const prev = shift.get(s.cohort);
    if (!prev) shift.set(s.cohort, s);
  }
  const aucRows = p.cohorts.flatMap((c) => [
    ...(c.auc !== null ? [{ x: c.cohort, y: c.auc, series: 'realised' }] : []),
    ...(c.estimate ? [{ x: c.cohort, y: c.estimate.auc, series: 'CBPE (no labels)' }] : []),
    ...(shift.has(c.cohort) ? [{ x: c.cohort, y: shift.get(c.cohort)!.auc, series: 'shift-aware (no labels)' }] : []),
  ]);
  const badRows = p.cohorts.flatMap((c) => [
    ...(c.badRate !== null ? [{ x: c.cohort, y: c.badRate, series: 'realised' }] : []),
    ...(c.estimate ? [{ x: c.cohort, y: c.estimate.badRate, series: 'expected (mean pd)' }] : []),
  ]);
  const svgs: string[] = [];
  if (aucRows.length) svgs.push(await renderSvg(lineChart({ title: 'AUC by cohort: realised and estimated', x: 'cohort (decision month)', y: 'AUC', rows: aucRows, xType: 'ordinal', width: 460 })));
  if (badRows.length) svgs.push(await renderSvg(lineChart({ title: 'Bad rate by cohort', x: 'cohort (decision month)', y: 'bad rate', rows: badRows, xType: 'ordinal', width: 460 })));
  sections.push({
    id: 'performance', title: 'Performance by cohort',
    html: charts(svgs) + htmlTable(
      ['cohort', 'decisions', 'originated', 'labelled', 'maturity', 'bad rate', 'AUC', 'KS', 'ECE', 'CBPE AUC', 'CBPE bad rate', 'shift-aware AUC', 'shift classifier AUC'],
      p.cohorts.map((c) => [c.cohort, c.decisions, c.originated, c.labelled, pct(c.maturity), pct(c.badRate), f3(c.auc), f3(c.ks), f3(c.ece),
        f3(c.estimate?.auc), pct(c.estimate?.badRate), f3(shift.get(c.cohort)?.auc), f3(shift.get(c.cohort)?.classifierAuc)]),
      { caption: `As of ${p.asOf}: ${p.decisions} decisions, ${p.matched} joined to an outcome. Realised metrics need at least 30 known labels of both classes; labels known after the as-of time are not used. CBPE assumes the calibrated scores stay calibrated; the shift-aware estimate reweights the held-out reference to the cohort's inputs. Neither sees a change in how inputs relate to the outcome.` },
    ),
  });
  const vintageRows = p.vintages.flatMap((v) => v.points.map((pt) => ({ x: pt.monthsOnBook, y: pt.cumulativeBadRate, series: v.cohort })));
  if (vintageRows.length) {
    sections.push({
      id: 'vintages', title: 'Vintage curves',
      html: charts([await renderSvg(lineChart({ title: 'Cumulative bad rate by months on book', x: 'months on book', y: 'cumulative bad rate', rows: vintageRows, width: 520, height: 300 }))]),
    });
  }
  return { sections };
}
