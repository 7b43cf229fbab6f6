/**
 * The report of `kiln loop simulate`: the timeline (decisions, the champion, score PSI, alerts, runs and
 * their outcome each month), the realised AUC of the deciding champion against the stale first champion
 * and CBPE's estimate by cohort, the delays, and the recovery target.
 */
import { charts, escapeHtml, htmlPage, htmlTable, kpis, lineChart, renderSvg, type Section } from '../../ui/index.js';
import type { LoopSimOutcome } from './outcome.js';
import type { LoopSimResult } from './run.js';

const f3 = (x: number | null | undefined): string => (x === null || x === undefined || !Number.isFinite(x) ? '-' : x.toFixed(3));

/** Recovery target of issue 14: the promoted model wins back at least this share of the AUC lost. */
export const RECOVERY_TARGET = 0.8;

export async function renderLoopSimReport(r: LoopSimResult, o: LoopSimOutcome, extra: Section[] = []): Promise<string> {
  const sections: Section[] = [];
  const met = o.recovery !== null && o.recovery >= RECOVERY_TARGET;
  sections.push({
    id: 'summary', title: 'Summary',
    html: kpis([
      { label: 'shock', value: r.shock ?? 'none' },
      { label: 'detection delay (months to a score PSI >= 0.1)', value: o.detectionDelayMonths === null ? '-' : String(o.detectionDelayMonths) },
      { label: 'promotion delay (months)', value: o.promotionDelayMonths === null ? '-' : String(o.promotionDelayMonths) },
      { label: 'AUC pre-shock / stale after / promoted after', value: `${f3(o.preShockAuc)} / ${f3(o.stalePostAuc)} / ${f3(o.promotedPostAuc)}` },
      { label: `recovery (target >= ${RECOVERY_TARGET})`, value: o.recovery === null ? '-' : `${(100 * o.recovery).toFixed(0)}%` },
    ]) + `<p>${escapeHtml(met
      ? `The promoted model recovered ${(100 * o.recovery!).toFixed(0)}% of the AUC the stale champion lost after the shock (target ${100 * RECOVERY_TARGET}%), on ${o.postRows} applicants with matured labels decided after the first post-shock promotion (${o.firstPromotion}). No step was taken by a person.`
      : o.recovery === null
        ? 'The recovery could not be measured: no promotion after the shock, no matured labels after it within the horizon, or no AUC lost.'
        : `The promoted model recovered ${(100 * o.recovery).toFixed(0)}% of the lost AUC: below the target of ${100 * RECOVERY_TARGET}%.`)}</p>`
      + htmlTable(['label-free estimate of the AUC', 'mean |error| before the shock', 'after the shock', 'what it cannot see'], [
        ['CBPE (calibrated scores taken at their word)', f3(o.cbpeErrorPre), f3(o.cbpeErrorPost), 'covariate shift that breaks calibration, and any change in how inputs relate to the outcome'],
        ['shift-aware (reference reweighted by density ratio)', f3(o.shiftErrorPre), f3(o.shiftErrorPost), 'a change in how inputs relate to the outcome (the shock here), and inputs never seen in the reference'],
      ], { caption: 'Errors against the realised AUC of the champion of each month, on labels matured within the horizon' }),
  });
  if (r.comparison) {
    const c = r.comparison;
    const row = (name: string, lbl: string, x: LoopSimOutcome, res: LoopSimResult): (string | number)[] => [name, lbl, x.promotionDelayMonths ?? '-', x.firstPromotion ?? '-',
      res.timeline.filter((m) => m.run).length, res.timeline.filter((m) => m.run?.outcome === 'promoted').length, f3(x.preShockAuc), f3(x.stalePostAuc), f3(x.promotedPostAuc), x.recovery === null ? '-' : `${(100 * x.recovery).toFixed(0)}%`, x.postRows];
    sections.push({
      id: 'labels', title: 'Label choices: what each buys in delay and accuracy',
      html: htmlTable(['policy', 'label', 'promotion delay (months)', 'first answering promotion', 'runs', 'promoted', 'AUC pre-shock', 'stale after', 'promoted after', 'recovery', 'applicants'],
        [row('the loop', r.timeline.length ? (r.label ?? '-') : '-', o, r), row(c.policy, c.label, c.outcome, c.result)],
        { caption: 'The same world walked twice from the same month, each policy from its own first champion; AUC on the 12-month outcome matured within the horizon. A faster label answers the shock sooner; its models may rank the real outcome worse.' }),
    });
  }
  const aucRows = o.cohorts.flatMap((c) => [
    ...(c.decided !== null ? [{ x: c.month, y: c.decided, series: 'champion of the month (realised)' }] : []),
    ...(c.stale !== null ? [{ x: c.month, y: c.stale, series: 'first champion, never retrained' }] : []),
    ...(c.estimated !== null ? [{ x: c.month, y: c.estimated, series: 'CBPE estimate (no labels)' }] : []),
    ...(c.shiftAware !== null ? [{ x: c.month, y: c.shiftAware, series: 'shift-aware estimate (no labels)' }] : []),
  ]);
  const psiRows = r.timeline.filter((m) => m.scorePsi !== null).map((m) => ({ x: m.month, y: m.scorePsi!, series: 'score PSI' }));
  sections.push({
    id: 'performance', title: 'Performance through the shock',
    html: charts([
      await renderSvg(lineChart({ title: 'AUC by decision month (labels matured within the horizon)', x: 'month', y: 'AUC', rows: aucRows, xType: 'ordinal', width: 560, height: 280 })),
      await renderSvg(lineChart({ title: "Score PSI of the month's decisions against the champion's reference", x: 'month', y: 'PSI', rows: psiRows, xType: 'ordinal', width: 560, height: 220 })),
    ]),
  });
  sections.push({
    id: 'timeline', title: 'Timeline',
    html: htmlTable(['month', 'decisions', 'champion', 'score PSI', 'inputs significant', 'alerts (critical score)', 'events', 'run', 'challenger', 'gates', 'labelled', 'AUC champion', 'AUC stale', 'CBPE', 'shift-aware'],
      r.timeline.map((m, i) => {
        const c = o.cohorts[i]!;
        return [m.month + (m.month === r.shock ? ' (shock)' : ''), m.decisions, `v${m.champion}`, f3(m.scorePsi), m.significantInputs, `${m.alerts} (${m.critical})`, m.events.join(', ') || '-',
          m.run ? m.run.outcome ?? '-' : '-', m.run?.challenger ? `v${m.run.challenger}` : '-', (m.run?.summary ?? '-').slice(0, 80), c.labelled, f3(c.decided), f3(c.stale), f3(c.estimated), f3(c.shiftAware)];
      }), { highlight: (row) => String(row[7]) === 'promoted' }),
  });
  sections.push(...extra);
  return htmlPage({ title: `Loop simulation: ${r.model}`, subtitle: `world from ${r.start}, shock ${r.shock ?? 'none'}, loop from month ${r.fromMonth}; ${r.seconds.toFixed(0)} s`, sections, generatedAt: new Date().toISOString() });
}

/** The report of `kiln loop backtest`: the policy against never retraining and a quarterly schedule. */
export async function renderBacktestReport(r: import('./backtest.js').BacktestResult): Promise<string> {
  const rows = r.policies.flatMap((p) => p.auc.filter((a) => a.auc !== null).map((a) => ({ x: a.month, y: a.auc!, series: p.name })));
  const sections: Section[] = [
    {
      id: 'summary', title: 'Policies',
      html: htmlTable(['policy', 'runs', 'promotions', 'training (s)', 'pooled AUC', 'labelled'],
        r.policies.map((p) => [p.name, p.runs, p.promotions.join(', ') || '-', p.trainingSeconds.toFixed(0), f3(p.pooledAuc), p.labelled]),
        { caption: `Each policy replayed in a sandbox copy of the project from the same first champion (v${r.firstChampion}, trained as of ${r.from}); AUC on the labels known at the end of the stored history.` }),
    },
    { id: 'auc', title: 'AUC by month', html: charts([await renderSvg(lineChart({ title: 'AUC of the deciding champion by month', x: 'month', y: 'AUC', rows, xType: 'ordinal', width: 560, height: 280 }))]) },
    ...r.policies.filter((p) => p.runs).map((p) => ({
      id: `runs-${p.name}`, title: `Runs of ${p.name}`,
      html: htmlTable(['month', 'events', 'outcome', 'challenger', 'gates', 'seconds'], p.timeline.filter((m) => m.run).map((m) => [m.month, m.events.join(', '), m.run!.outcome ?? '-', m.run!.challenger ? `v${m.run!.challenger}` : '-', (m.run!.summary ?? '-').slice(0, 100), m.run!.seconds.toFixed(1)])),
    })),
  ];
  return htmlPage({ title: `Loop backtest: ${r.model}`, subtitle: `${r.from} .. ${r.to}; ${r.seconds.toFixed(0)} s`, sections, generatedAt: new Date().toISOString() });
}
