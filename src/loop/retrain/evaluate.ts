/**
 * Champion against challenger for the gates: both versions score the rows of the challenger's test
 * window as of the loop's time (labels known by then), with the model's slices and fairness attribute;
 * the challenger's inputs are compared with recent decisions (CSI on its own reference bins), and the
 * recent decisions are re-scored by the challenger for the swap set of live traffic (labels unknown).
 */
import { KilnError } from '../../core/errors.js';
import type { ModelSpec } from '../../config/index.js';
import { loadProjectFeatures } from '../../features/training/index.js';
import { windowDrift, windowsOf, modelDecisions } from '../../monitor/index.js';
import { checkModelSpec, loadModelDataset, versionBundle, type ModelBundle, type ScoreRow } from '../../pipelines/index.js';
import type { Project } from '../../store/index.js';
import { swapSet, type EvalSet, type SwapSet } from '../gates/index.js';

/** Probabilities as served (calibrated when the version has a calibrator) and the cutoff on that scale. */
function served(bundle: ModelBundle, rows: readonly ScoreRow[]): { pd: Float64Array; cutoff: number } {
  const s = bundle.score(rows);
  const cal = bundle.calibrator;
  return { pd: s.calibrated ?? s.probability, cutoff: cal ? cal.apply([bundle.json.cutoff])[0]! : bundle.json.cutoff };
}

export interface Comparison {
  readonly set: EvalSet;
  readonly rows: number;
  readonly window: { from: string; to: string };
  readonly inputDrift: { feature: string; psi: number }[];
  readonly recent: { decisions: number; swap: SwapSet | null };
}

export async function compareOnWindow(project: Project, model: string, spec: ModelSpec, asOf: string, championVersion: number, challengerVersion: number, recentDays: number): Promise<Comparison> {
  const registry = await loadProjectFeatures(project);
  const checked = await checkModelSpec(project, model, spec, registry);
  const data = await loadModelDataset(project, model, spec, checked, { asOf });
  project.releaseOffline();
  const test = data.splits.test;
  if (test.rows === 0) {
    const s = spec.split as { testFrom?: string; testTo?: string };
    throw new KilnError('SPLIT_EMPTY', `model '${model}': no labelled rows in the evaluation window ${s.testFrom} .. ${s.testTo} as of ${asOf}`, { path: ['loop', model, 'windows'] });
  }
  const rows: ScoreRow[] = [];
  for (let i = 0; i < test.rows; i++) {
    const row: Record<string, number | string | null> = {};
    data.inputs.forEach((c, j) => {
      const v = test.features[j]![i]!;
      row[c.name] = Number.isNaN(v) ? null : c.kind === 'categorical' ? c.categories![v] ?? null : v;
    });
    rows.push(row);
  }
  const champion = versionBundle(project.registry.getVersion(model, championVersion));
  const challenger = versionBundle(project.registry.getVersion(model, challengerVersion));
  const a = served(champion, rows);
  const b = served(challenger, rows);
  const fairness = spec.fairness?.feature;
  const set: EvalSet = {
    label: test.label, championPd: a.pd, challengerPd: b.pd, championCutoff: a.cutoff, challengerCutoff: b.cutoff,
    slices: Object.fromEntries(spec.slices.filter((s) => test.extra[s]).map((s) => [s, test.extra[s]!])),
    ...(fairness && test.extra[fairness] ? { group: { column: fairness, values: test.extra[fairness]!, ...(spec.fairness?.reference ? { reference: String(spec.fairness.reference) } : {}) } } : {}),
  };
  // Recent decisions: the challenger's inputs against its reference, and who would flip.
  const until = Date.parse(asOf);
  const recent = await modelDecisions(project, model, { since: until - recentDays * 86_400_000, until, version: championVersion });
  let inputDrift: Comparison['inputDrift'] = [];
  let swap: SwapSet | null = null;
  if (recent.length) {
    const profile = challenger.profile;
    if (profile) {
      // one window holding them all: month windows merged by summing is not PSI, so rebuild one
      const [w] = windowsOf(recent.map((r) => ({ ...r, time: new Date(until - 1).toISOString() })), 'day');
      inputDrift = windowDrift(profile, null, w!, []).features.filter((f) => f.csi !== null).map((f) => ({ feature: f.name, psi: f.csi! }));
    }
    const recentRows = recent.map((r) => r.features as ScoreRow);
    const names = new Set(challenger.json.signature.features.map((f) => f.name));
    if (recentRows.every((r) => [...names].every((n) => n in r))) {
      const c = served(challenger, recentRows);
      const championPd = Float64Array.from(recent, (r) => r.score.calibrated ?? r.score.raw);
      swap = swapSet({ label: new Float64Array(recent.length).fill(NaN), championPd, challengerPd: c.pd, championCutoff: a.cutoff, challengerCutoff: c.cutoff });
    }
  }
  const s = spec.split as { testFrom: string; testTo: string };
  return { set, rows: test.rows, window: { from: s.testFrom, to: s.testTo }, inputDrift, recent: { decisions: recent.length, swap } };
}
