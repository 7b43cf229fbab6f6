/**
 * Parity with scikit-learn 1.2.1 / numpy / scipy on the fixtures in fixtures/sklearn.json (made once by
 * fixtures/make_fixtures.py). Tolerance 1e-12 relative unless stated: the same arithmetic, summed in a
 * different order. Platt is compared to `_sigmoid_calibration` on logit(score) with a looser
 * tolerance, because scikit-learn's BFGS stops at gradient norm 1e-5 while kiln's Newton goes on to
 * ~1e-11; kiln's loss must be no worse than scikit-learn's.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  auc, brier, calibrationTable, fitIsotonic, fitPlatt, ks, logLoss, prAuc, prCurve, rocCurve, scoreDistribution,
} from '../../src/eval/index.js';
import { expectAllClose, expectClose, expectKilnError } from './helpers.js';

interface Outputs {
  roc_auc?: number;
  average_precision?: number;
  log_loss?: number;
  brier: number;
  ks_2samp?: number;
  roc_curve?: { fpr: number[]; tpr: number[]; thresholds_after_first: number[] };
  roc_curve_all?: { fpr: number[]; tpr: number[]; thresholds_after_first: number[] };
  pr_curve?: { precision: number[]; recall: number[]; thresholds: number[] };
  platt?: { slope: number; intercept: number; loss: number; predict: number[] };
  isotonic: { x: number[]; y: number[]; predict: number[] };
  histogram20: { '0': number[]; '1': number[]; edges: number[] };
  calibration_curve?: Record<string, { prob_true: number[]; prob_pred: number[]; edges: number[] }>;
}
interface Case { name: string; y: number[]; score: number[]; weight?: number[]; unweighted: Outputs; weighted?: Outputs }
interface Fixtures {
  versions: { sklearn: string };
  query: number[];
  cases: Case[];
  errors: { roc_auc_one_class: { y: number[]; score: number[]; sklearn_message: string } };
}

const fx = JSON.parse(readFileSync(new URL('./fixtures/sklearn.json', import.meta.url), 'utf8')) as Fixtures;

/** Platt's smoothed-target objective, as fixtures/make_fixtures.py computes it. */
function plattLoss(slope: number, intercept: number, score: number[], y: number[], w?: number[]): number {
  let P = 0, N = 0;
  y.forEach((v, i) => { if (v === 1) P += w ? w[i]! : 1; else N += w ? w[i]! : 1; });
  let loss = 0;
  score.forEach((s, i) => {
    const p0 = Math.min(Math.max(s, 1e-15), 1 - 1e-15);
    const e = slope * (Math.log(p0) - Math.log1p(-p0)) + intercept;
    const t = y[i] === 1 ? (P + 1) / (P + 2) : 1 / (N + 2);
    const softplus = e > 0 ? e + Math.log1p(Math.exp(-e)) : Math.log1p(Math.exp(e));
    loss += (w ? w[i]! : 1) * (softplus - t * e);
  });
  return loss;
}

describe('fixtures', () => {
  it('were made by scikit-learn 1.2.1 and cover the required cases', () => {
    expect(fx.versions.sklearn).toBe('1.2.1');
    expect(fx.cases.map((c) => c.name)).toEqual(expect.arrayContaining(['small_ties', 'tiny_tied', 'perfect', 'inverted', 'rounded_weighted', 'continuous']));
  });
});

for (const c of fx.cases) {
  const variants: [string, Outputs, number[] | undefined][] = [['unweighted', c.unweighted, undefined]];
  if (c.weighted) variants.push(['weighted', c.weighted, c.weight]);
  for (const [variant, ref, weight] of variants) {
    const opts = { weight };
    describe(`${c.name} (${variant}, n=${c.y.length})`, () => {
      it('auc, prAuc, logLoss, brier match roc_auc_score, average_precision_score, log_loss, brier_score_loss', () => {
        expectClose(auc(c.y, c.score, opts), ref.roc_auc!);
        expectClose(prAuc(c.y, c.score, opts), ref.average_precision!);
        expectClose(logLoss(c.y, c.score, opts), ref.log_loss!);
        expectClose(brier(c.y, c.score, opts), ref.brier, 1e-14);
      });

      it('rocCurve matches roc_curve (with and without drop_intermediate); prCurve matches precision_recall_curve', () => {
        const r = rocCurve(c.y, c.score, opts);
        expectAllClose(r.fpr, ref.roc_curve!.fpr);
        expectAllClose(r.tpr, ref.roc_curve!.tpr);
        expect(r.thresholds[0]).toBe(Infinity);
        expect(Array.from(r.thresholds.subarray(1))).toEqual(ref.roc_curve!.thresholds_after_first);
        const all = rocCurve(c.y, c.score, { ...opts, dropIntermediate: false });
        expectAllClose(all.fpr, ref.roc_curve_all!.fpr);
        expectAllClose(all.tpr, ref.roc_curve_all!.tpr);
        expect(Array.from(all.thresholds.subarray(1))).toEqual(ref.roc_curve_all!.thresholds_after_first);
        const p = prCurve(c.y, c.score, opts);
        expectAllClose(p.precision, ref.pr_curve!.precision);
        expectAllClose(p.recall, ref.pr_curve!.recall);
        expect(Array.from(p.thresholds)).toEqual(ref.pr_curve!.thresholds);
      });

      if (ref.ks_2samp !== undefined) {
        it('ks matches scipy.stats.ks_2samp', () => {
          expectClose(ks(c.y, c.score, opts).statistic, ref.ks_2samp!);
        });
      }

      it('fitIsotonic matches IsotonicRegression(out_of_bounds="clip"): breakpoints and predictions', () => {
        const cal = fitIsotonic(c.score, c.y, opts);
        if (cal.kind !== 'isotonic') throw new Error('kind');
        expect(cal.params.x).toEqual(ref.isotonic.x);
        expectAllClose(cal.params.y, ref.isotonic.y);
        expectAllClose(cal.apply(fx.query), ref.isotonic.predict);
      });

      it('fitPlatt matches _sigmoid_calibration on logit(score) (predictions to 1e-5, loss no worse)', () => {
        const cal = fitPlatt(c.score, c.y, opts);
        if (cal.kind !== 'platt') throw new Error('kind');
        const ours = plattLoss(cal.params.slope, cal.params.intercept, c.score, c.y, weight);
        expect(ours).toBeLessThanOrEqual(ref.platt!.loss * (1 + 1e-12));
        expectClose(ours, ref.platt!.loss, 1e-8);
        const pred = cal.apply(fx.query);
        // With a single distinct score the slope is not identified: only predictions at that score are.
        const identified = new Set(c.score).size > 1;
        for (let i = 0; i < pred.length; i++) {
          if (identified || c.score.includes(fx.query[i]!)) expect(Math.abs(pred[i]! - ref.platt!.predict[i]!)).toBeLessThan(1e-5);
        }
        if (identified) expect(Math.abs(cal.params.slope - ref.platt!.slope)).toBeLessThan(1e-3 * Math.max(1, Math.abs(ref.platt!.slope)));
      });

      it('scoreDistribution matches numpy.histogram on 20 bins over [0, 1]', () => {
        const d = scoreDistribution(c.y, c.score, { ...opts, bins: 20, range: [0, 1] });
        expect(d.edges).toEqual(ref.histogram20.edges);
        expectAllClose(d.negative, ref.histogram20['0']);
        expectAllClose(d.positive, ref.histogram20['1']);
      });

      if (ref.calibration_curve) {
        it('calibrationTable matches calibration_curve (uniform and quantile, 5 and 10 bins): edges and non-empty bins', () => {
          for (const [key, cc] of Object.entries(ref.calibration_curve!)) {
            const [strategy, bins] = key.split('_') as ['uniform' | 'quantile', string];
            const t = calibrationTable(c.y, c.score, { strategy, bins: Number(bins) });
            expect(t.edges).toEqual(cc.edges);
            const nonEmpty = t.bins.filter((b) => b.count > 0);
            expectAllClose(nonEmpty.map((b) => b.observedRate!), cc.prob_true);
            expectAllClose(nonEmpty.map((b) => b.meanPredicted!), cc.prob_pred);
          }
        });
      }
    });
  }
}

describe('one-class windows', () => {
  it('auc throws where roc_auc_score raises', () => {
    const e = fx.errors.roc_auc_one_class;
    expect(e.sklearn_message).toContain('Only one class present');
    expectKilnError(() => auc(e.y, e.score), 'auc: y has only one class (all 0); AUC is undefined — evaluate on a window with both outcomes');
  });
});
