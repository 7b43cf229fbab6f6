/**
 * Alerts raised by a window's drift: the rules and their thresholds (config `monitor.thresholds`).
 * An alert is keyed by (model, version, kind, subject, window), so computing the same window twice
 * raises the same alert, which the alert store de-duplicates (alerts.ts).
 */
import type { WindowDrift } from './drift-report.js';

export interface AlertThresholds {
  /** Score PSI: warning at or above, critical at or above (the credit bands 0.1 and 0.25). */
  readonly scorePsiWarning: number;
  readonly scorePsiCritical: number;
  /** Input CSI, same bands. */
  readonly csiWarning: number;
  readonly csiCritical: number;
  /** Share of values outside the reference range that raises an alert. */
  readonly outOfRange: number;
  /** Share of values in unseen categories that raises an alert. */
  readonly newCategoryRate: number;
}

export const DEFAULT_THRESHOLDS: AlertThresholds = {
  scorePsiWarning: 0.1, scorePsiCritical: 0.25, csiWarning: 0.1, csiCritical: 0.25, outOfRange: 0.01, newCategoryRate: 0.01,
};

export const ALERT_KINDS = ['score_drift', 'feature_drift', 'null_spike', 'out_of_range', 'new_categories', 'schema_change', 'volume'] as const;
export type AlertKind = (typeof ALERT_KINDS)[number];
export type AlertSeverity = 'warning' | 'critical';

export interface AlertDraft {
  readonly model: string;
  readonly version: number;
  readonly kind: AlertKind;
  /** The input, or 'score', 'schema', 'volume'. */
  readonly subject: string;
  /** The window label (a day, the Monday of a week, or a month). */
  readonly window: string;
  readonly severity: AlertSeverity;
  readonly value: number;
  readonly threshold: number;
  readonly message: string;
  /** The figures behind it (JSON). */
  readonly evidence: Record<string, unknown>;
}

const f3 = (x: number): string => x.toFixed(3);

export function alertsOfWindow(model: string, version: number, d: WindowDrift, partial: Partial<AlertThresholds> = {}): AlertDraft[] {
  const t = { ...DEFAULT_THRESHOLDS, ...partial };
  const out: AlertDraft[] = [];
  const at = { model, version, window: d.window };
  if (d.score.psi >= t.scorePsiWarning) {
    const critical = d.score.psi >= t.scorePsiCritical;
    out.push({ ...at, kind: 'score_drift', subject: 'score', severity: critical ? 'critical' : 'warning', value: d.score.psi, threshold: critical ? t.scorePsiCritical : t.scorePsiWarning,
      message: `score PSI ${f3(d.score.psi)} in ${d.window} (${d.rows} decisions; mean probability ${f3(d.score.mean)} against ${d.score.referenceMean === null ? '-' : f3(d.score.referenceMean)} at training)`,
      evidence: { psi: d.score.psi, band: d.score.band, mean: d.score.mean, referenceMean: d.score.referenceMean, test: d.score.test, rows: d.rows } });
  }
  for (const f of d.features) {
    if (f.csi !== null && f.csi >= t.csiWarning) {
      const critical = f.csi >= t.csiCritical;
      out.push({ ...at, kind: 'feature_drift', subject: f.name, severity: critical ? 'critical' : 'warning', value: f.csi, threshold: critical ? t.csiCritical : t.csiWarning,
        message: `input ${f.name}: CSI ${f3(f.csi)} in ${d.window}${f.test ? ` (${f.test.method} ${f3(f.test.value)})` : ''}`, evidence: { ...f } });
    }
    if (f.nullSpike) {
      out.push({ ...at, kind: 'null_spike', subject: f.name, severity: f.nullRate >= 0.5 ? 'critical' : 'warning', value: f.nullRate, threshold: f.referenceNullRate,
        message: `input ${f.name}: ${(100 * f.nullRate).toFixed(1)}% missing in ${d.window} against ${(100 * f.referenceNullRate).toFixed(1)}% at training`, evidence: { nullRate: f.nullRate, referenceNullRate: f.referenceNullRate, rows: f.rows } });
    }
    if (f.outOfRange !== null && f.outOfRange >= t.outOfRange) {
      out.push({ ...at, kind: 'out_of_range', subject: f.name, severity: 'warning', value: f.outOfRange, threshold: t.outOfRange,
        message: `input ${f.name}: ${(100 * f.outOfRange).toFixed(1)}% of values outside the training range in ${d.window}`, evidence: { outOfRange: f.outOfRange, rows: f.rows } });
    }
    if (f.newCategoryRate !== null && f.newCategoryRate >= t.newCategoryRate) {
      out.push({ ...at, kind: 'new_categories', subject: f.name, severity: f.newCategoryRate >= 0.1 ? 'critical' : 'warning', value: f.newCategoryRate, threshold: t.newCategoryRate,
        message: `input ${f.name}: ${(100 * f.newCategoryRate).toFixed(1)}% of values in categories unseen at training, in ${d.window}`, evidence: { newCategoryRate: f.newCategoryRate, rows: f.rows } });
    }
  }
  const s = d.schema;
  if (s.added.length || s.removed.length || s.retyped.length) {
    const n = s.added.length + s.removed.length + s.retyped.length;
    out.push({ ...at, kind: 'schema_change', subject: 'schema', severity: s.removed.length || s.retyped.length ? 'critical' : 'warning', value: n, threshold: 0,
      message: `inputs changed in ${d.window}: ${[s.removed.length ? `missing ${s.removed.join(', ')}` : '', s.added.length ? `new ${s.added.join(', ')}` : '', s.retyped.length ? `retyped ${s.retyped.map((r) => `${r.name} (${r.from} -> ${r.to})`).join(', ')}` : ''].filter(Boolean).join('; ')}`,
      evidence: { ...s } });
  }
  if (d.volume?.anomaly) {
    out.push({ ...at, kind: 'volume', subject: 'volume', severity: 'warning', value: d.rows, threshold: d.volume.expected,
      message: `${d.rows} decisions in ${d.window} against ~${Math.round(d.volume.expected)} expected (z ${d.volume.z.toFixed(1)})`, evidence: { ...d.volume, rows: d.rows } });
  }
  return out;
}
