/**
 * `kiln features discover`: proposes candidate features over one source, computes them point in time on
 * a model's training spine (the same spine, label, label availability and split as `kiln train`, through
 * the training-set engine), and ranks them by what they add on the validation window.
 *
 * Steps: candidates (candidates.ts, over the source's declared columns and its data, minus any equal to a
 * current feature of the model) → the first `budget` of them computed with the model's features →
 * univariate IV and binned AUC on the train window → leak rules → a screening GBDT with every candidate
 * (gain shares) → add-one GBDTs for the `confirm` best-screened (validation AUC over the current features')
 * → monthly PSI against the train window and the online state cost. Selected: the best `top` candidates
 * with a positive AUC gain that are neither leaks nor unstable.
 */
import { KilnError, didYouMean } from '../core/errors.js';
import { isOutOfTime, type ModelSpec } from '../config/index.js';
import { loadProjectFeatures } from '../features/training/index.js';
import { checkModelSpec, loadModelDataset, type Split } from '../pipelines/index.js';
import type { Project } from '../store/index.js';
import { generateCandidates, planInputs, planKey, type Candidate } from './candidates.js';
import { stateBytes } from './cost.js';
import { planDefinitions, registryKeys } from './definitions.js';
import { validAuc } from './gain.js';
import { profileSource } from './profile.js';
import { monthlyPsi, monthOf, univariate } from './stats.js';

/** A candidate whose univariate AUC reaches this bar, and beats every other input by LEAK_MARGIN, is a leak. */
export const LEAK_AUC = 0.85;
export const LEAK_MARGIN = 0.1;
/** A candidate whose PSI (above sampling noise) in some month after training reaches this (the "significant" band) is not selected. */
export const UNSTABLE_PSI = 0.25;

export interface DiscoverOptions {
  /** The source to propose candidates over (a source name of the config). */
  source: string;
  /** The model whose spine, label, split and current features discovery works with. */
  model: string;
  /** At most this many candidates are computed and evaluated: the first ones in the families' interleaved order (default 80). */
  budget?: number;
  /** How many candidates to select (default 8). */
  top?: number;
  /** How many of the best-screened candidates get an add-one model (default 2 × top). */
  confirm?: number;
  /** Values per categorical column (default 12). */
  maxValues?: number;
  seed?: number;
  /** The model spec to use instead of the config's (e.g. another split seed, for the variance of a run). */
  spec?: ModelSpec;
  /** Progress lines on stderr. */
  quiet?: boolean;
}

export type CandidateStatus = 'selected' | 'ranked' | 'rejected';

export interface CandidateResult {
  name: string;
  family: Candidate['family'];
  text: string;
  candidate: Candidate;
  /** Already defined in the config under this name (not a feature of the model): add it to the model rather than redefine it. */
  defined: boolean;
  status: CandidateStatus;
  /** Why a candidate was rejected (leak), or why a ranked one was not selected. */
  reason: string | null;
  iv: number | null;
  auc: number | null;
  missing: number | null;
  /** Share of the screening model's total gain. */
  gain: number | null;
  /** Validation AUC of current features + this candidate minus that of the current features (add-one model). */
  deltaAuc: number | null;
  /** PSI of each spine month (with enough rows) against the train window. */
  psi: { month: string; rows: number; psi: number; excess: number }[];
  /** The largest monthly PSI excess over sampling noise from the validation window on (every month for a random or declared split). */
  psiMax: number | null;
  stateBytes: number;
}

export interface DiscoverResult {
  model: string;
  source: string;
  generated: number;
  /** Candidates left out because they equal a current feature of the model (same meaning, any name). */
  skipped: { name: string; equals: string }[];
  /** Candidate and input names the config already defines with the same meaning (read from it, not redefined). */
  defined: string[];
  budget: number;
  rows: Record<'train' | 'valid' | 'test', { rows: number; positives: number }>;
  splitText: string;
  current: { features: number; bestAuc: number; bestName: string | null; validAuc: number };
  /** Validation AUC of current features + every selected candidate. */
  selectedValidAuc: number | null;
  candidates: CandidateResult[];
  seconds: number;
}

function log(opts: DiscoverOptions, line: string): void {
  if (!opts.quiet) process.stderr.write(`discover: ${line}\n`);
}

/**
 * Proposes, computes and ranks candidate features of `opts.source` for model `opts.model`.
 * @example const r = await discoverFeatures(project, { source: 'transactions', model: 'credit', budget: 60 });
 */
export async function discoverFeatures(project: Project, opts: DiscoverOptions): Promise<DiscoverResult> {
  const t0 = performance.now();
  const budget = opts.budget ?? 80, top = opts.top ?? 8, confirm = opts.confirm ?? 2 * top, seed = opts.seed ?? 7;
  for (const [k, v] of [['budget', budget], ['top', top], ['confirm', confirm], ['maxValues', opts.maxValues ?? 12]] as const) {
    if (!Number.isInteger(v) || v < 1) throw new KilnError('USAGE', `--${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)} ${String(v)}: expected a whole number >= 1`);
  }
  const spec = opts.spec ?? project.config.models[opts.model];
  if (!spec) {
    const names = Object.keys(project.config.models);
    const hint = didYouMean(opts.model, names);
    throw new KilnError('MODEL_NOT_FOUND', `no model '${opts.model}' in ${project.paths.configFile}${hint ? `; did you mean '${hint}'?` : ''} (models: ${names.join(', ') || 'none'})`);
  }
  const registry = await loadProjectFeatures(project);
  const source = registry.sources.get(opts.source);
  if (!source) {
    const hint = didYouMean(opts.source, registry.sources.keys());
    throw new KilnError('FEATURE_NOT_FOUND', `no source '${opts.source}' in the config's features${hint ? `; did you mean '${hint}'?` : ''} (sources: ${[...registry.sources.keys()].join(', ') || 'none'})`);
  }
  const checked = await checkModelSpec(project, opts.model, spec, registry);
  const modelEntity = checked.features.length ? registry.features.get(checked.features[0]!)!.entity : [...registry.entities.values()].find((e) => e.key === (spec.spine.key ?? ''));
  if (modelEntity && modelEntity.name !== source.entity) {
    throw new KilnError('CONFIG_INVALID', `source '${source.name}' describes entity '${source.entity}', but model '${opts.model}' scores '${modelEntity.name}' (its spine '${spec.spine.table}'); discover over a source of '${modelEntity.name}'`);
  }
  if (!spec.spine.timestamp) throw new KilnError('CONFIG_INVALID', `model '${opts.model}': discovery computes features point in time and needs spine.timestamp`, { path: ['models', opts.model, 'spine', 'timestamp'] });

  log(opts, `profiling source '${source.name}' (table ${source.table})`);
  const profile = await profileSource(project, source, opts.maxValues ?? 12);
  const taken = new Set([...registry.features.keys(), ...registry.sources.keys(), ...registry.entities.keys(), ...registry.sets.keys()]);
  const configKeys = registryKeys(registry, source.name);
  // A config feature of the same name and meaning is reused (e.g. after DISCOVERED was added); another meaning renames the candidate.
  const defined = new Set<string>();
  const all = generateCandidates(source, profile).map((c) => {
    for (const p of planInputs(c.plan)) if (configKeys.get(p.name) === planKey(p)) defined.add(p.name);
    if (!taken.has(c.name)) return c;
    if (configKeys.get(c.name) === planKey(c.plan)) { defined.add(c.name); return c; }
    const name = `${c.name}_2`;
    return { ...c, name, plan: { ...c.plan, name } };
  });
  const currentKeys = new Map<string, string>();
  const modelFeatures = new Set(checked.features);
  for (const [name, key] of configKeys) if (modelFeatures.has(name)) currentKeys.set(key, name);
  const skipped: DiscoverResult['skipped'] = [];
  const fresh = all.filter((c) => {
    const same = currentKeys.get(planKey(c.plan));
    if (same) skipped.push({ name: c.name, equals: same });
    return !same;
  });
  const chosen = fresh.slice(0, budget);
  const results: CandidateResult[] = chosen.map((c) => ({
    name: c.name, family: c.family, text: c.text, candidate: c, defined: defined.has(c.name), status: 'ranked', reason: null, iv: null, auc: null, missing: null,
    gain: null, deltaAuc: null, psi: [], psiMax: null, stateBytes: stateBytes(c.plan, profile.eventsPerEntityDay),
  }));
  log(opts, `${all.length} candidates, ${skipped.length} equal to current features, ${chosen.length} within --budget ${budget}`);

  const base = {
    model: opts.model, source: source.name, generated: all.length, skipped, defined: [...defined].sort(), budget,
  };
  if (source.table === spec.spine.table) {
    // The label's own table: rows at or after the spine time carry the outcome. Nothing is computed.
    for (const r of results) { r.status = 'rejected'; r.reason = `built from '${source.table}', the table the label comes from (label leakage)`; }
    const empty = { rows: 0, positives: 0 };
    return { ...base, rows: { train: empty, valid: empty, test: empty }, splitText: '', current: { features: checked.features.length, bestAuc: 0.5, bestName: null, validAuc: 0.5 }, selectedValidAuc: null, candidates: results, seconds: (performance.now() - t0) / 1000 };
  }

  log(opts, `computing ${chosen.length} candidates point in time on '${spec.spine.table}' with the model's ${checked.features.length} features`);
  const definitions = [...project.config.features, ...planDefinitions(chosen.map((c) => c.plan), source, defined)];
  const data = await loadModelDataset(project, opts.model, spec, { ...checked, features: [...checked.features, ...chosen.map((c) => c.name)], extra: [], sources: [] }, { definitions });
  const { train, valid, test } = data.splits;
  for (const [name, s] of [['train', train], ['validation', valid]] as const) {
    if (s.rows === 0 || s.positives === 0 || s.positives === s.rows) {
      throw new KilnError('SPINE_INVALID', `model '${opts.model}': the ${name} window has ${s.rows} labelled rows with ${s.positives} positives; discovery needs both outcomes in train and validation (${data.splitText})`);
    }
  }
  const col = new Map(data.inputs.map((c, j) => [c.feature, j]));
  const candidateCols = new Set(chosen.map((c) => col.get(c.name)!));
  const currentCols = data.inputs.map((_, j) => j).filter((j) => !candidateCols.has(j));

  log(opts, `univariate IV and AUC on ${train.rows} train rows`);
  const uni = data.inputs.map((_, j) => univariate(train.features[j]!, train.label));
  let bestAuc = 0.5, bestName: string | null = null;
  for (const j of currentCols) if (uni[j]!.auc > bestAuc) { bestAuc = uni[j]!.auc; bestName = data.inputs[j]!.name; }
  const belowBar = Math.max(bestAuc, ...results.map((r) => uni[col.get(r.name)!]!.auc).filter((a) => a < LEAK_AUC));
  for (const r of results) {
    const u = uni[col.get(r.name)!]!;
    Object.assign(r, { iv: u.iv, auc: u.auc, missing: u.missing });
    if (u.auc >= LEAK_AUC && u.auc - belowBar >= LEAK_MARGIN) {
      r.status = 'rejected';
      r.reason = `too good to be true: univariate AUC ${u.auc.toFixed(3)} against at most ${belowBar.toFixed(3)} for every other input (look-ahead or label leak?)`;
    }
  }
  const live = results.filter((r) => r.status !== 'rejected');

  log(opts, `screening GBDT on ${currentCols.length} current + ${live.length} candidate columns`);
  const gd = { inputs: data.inputs, train, valid };
  const baseline = await validAuc(gd, currentCols, seed);
  const screen = await validAuc(gd, [...currentCols, ...live.map((r) => col.get(r.name)!)], seed);
  for (const r of live) r.gain = screen.gain.get(col.get(r.name)!) ?? 0;
  const toConfirm = [...live].sort((a, b) => b.gain! - a.gain! || b.iv! - a.iv!).slice(0, confirm);
  log(opts, `add-one models for ${toConfirm.length} candidates (baseline validation AUC ${baseline.auc.toFixed(4)})`);
  for (const r of toConfirm) r.deltaAuc = (await validAuc(gd, [...currentCols, col.get(r.name)!], seed)).auc - baseline.auc;

  const months = concat([train, valid, test]);
  // Stability is judged on the months after training (what a deployed model meets); the report shows all.
  const fromMonth = isOutOfTime(spec.split) && valid.timeMs?.length ? monthOf(valid.timeMs[0]!) : '';
  for (const r of results) {
    const j = col.get(r.name)!;
    r.psi = monthlyPsi(train.features[j]!, months.features(j), months.timeMs);
    const later = r.psi.filter((p) => p.month >= fromMonth);
    r.psiMax = later.length ? Math.max(...later.map((p) => p.excess)) : null;
  }
  results.sort((a, b) => rankOrder(a) - rankOrder(b) || (b.deltaAuc ?? -1) - (a.deltaAuc ?? -1) || (b.gain ?? -1) - (a.gain ?? -1) || (b.iv ?? 0) - (a.iv ?? 0) || a.name.localeCompare(b.name));
  let picked = 0;
  for (const r of results) {
    if (r.status === 'rejected') continue;
    if (r.deltaAuc === null) r.reason = 'not among the best-screened (no add-one model)';
    else if (r.deltaAuc <= 0) r.reason = 'adds nothing on the validation window';
    else if (r.psiMax !== null && r.psiMax >= UNSTABLE_PSI) r.reason = `unstable: PSI ${r.psiMax.toFixed(2)} above sampling noise in a month after training`;
    else if (picked >= top) r.reason = `beyond --top ${top}`;
    else { r.status = 'selected'; picked++; }
  }
  const selected = results.filter((r) => r.status === 'selected').map((r) => col.get(r.name)!);
  const selectedValidAuc = selected.length ? (await validAuc(gd, [...currentCols, ...selected], seed)).auc : null;
  await project.offline.dropIfExists(data.table);
  log(opts, `selected ${selected.length}: ${results.filter((r) => r.status === 'selected').map((r) => r.name).join(', ') || 'none'}`);
  return {
    ...base,
    rows: { train: pick(train), valid: pick(valid), test: pick(test) }, splitText: data.splitText,
    current: { features: checked.features.length, bestAuc, bestName, validAuc: baseline.auc },
    selectedValidAuc, candidates: results, seconds: (performance.now() - t0) / 1000,
  };
}

const rankOrder = (r: CandidateResult): number => (r.status === 'rejected' ? 2 : r.deltaAuc === null ? 1 : 0);
const pick = (s: Split): { rows: number; positives: number } => ({ rows: s.rows, positives: s.positives });

function concat(splits: Split[]): { timeMs: Float64Array; features: (j: number) => Float64Array } {
  const n = splits.reduce((a, s) => a + s.rows, 0);
  const timeMs = new Float64Array(n);
  let o = 0;
  for (const s of splits) { timeMs.set(s.timeMs ?? new Float64Array(s.rows), o); o += s.rows; }
  return {
    timeMs,
    features: (j) => {
      const out = new Float64Array(n);
      let k = 0;
      for (const s of splits) { out.set(s.features[j]!, k); k += s.rows; }
      return out;
    },
  };
}
