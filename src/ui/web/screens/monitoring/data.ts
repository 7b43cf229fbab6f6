/**
 * What the monitoring screens read, through the same code as `kiln monitor` and `kiln loop`: the drift
 * of the decision log against each version's reference (monitorStatus, never persisting from a page),
 * realised and label-free performance by cohort (realisedPerformance), the stored alerts (AlertStore), the
 * loop's runs (LoopStore), and champion against challenger on the same decisions: the loop's own
 * evaluation (its evaluate step's metrics and swap set) and the shadow scores the server logged beside
 * the deciding version (compareModels and swapSet of the loop's gates on those decisions, with the
 * outcomes known now).
 */
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { KilnError } from '../../../../core/errors.js';
import {
  compareModels, LoopStore, retrainLoopName, swapSet,
  type LoopRunRecord, type MetricRow, type SwapSet,
} from '../../../../loop/index.js';
import {
  AlertStore, joinOutcomes, modelDecisions, monitorStatus, outcomeSource, readOutcomes, realisedPerformance,
  type MonitorStatus, type RealisedPerformance, type WindowSize,
} from '../../../../monitor/index.js';
import { versionBundle } from '../../../../pipelines/index.js';
import type { DecisionRecord } from '../../../../serve/index.js';
import type { Project } from '../../../../store/index.js';

/** A part of the page computed on its own: its value, or the reason it could not be computed, and how long it took. */
export type Part<T> = { ok: true; value: T; ms: number } | { ok: false; error: string; ms: number };

/** Runs `fn`, timing it; a KilnError (bad config, missing data) becomes the part's message, anything else is a bug and is thrown. */
export async function part<T>(fn: () => Promise<T> | T): Promise<Part<T>> {
  const t0 = performance.now();
  try {
    const value = await fn();
    return { ok: true, value, ms: performance.now() - t0 };
  } catch (e) {
    if (e instanceof KilnError) return { ok: false, error: e.message, ms: performance.now() - t0 };
    throw e;
  }
}

/** The models the monitoring screens know: declared in the config, or registered (imported), sorted. */
export function monitoredModels(project: Project): string[] {
  const registered = project.registry.listModels().map((m) => m.name);
  return [...new Set([...Object.keys(project.config.models), ...registered])].sort();
}

/** Throws MODEL_NOT_FOUND (404) unless the model is declared or registered. */
export function requireMonitoredModel(project: Project, model: string): void {
  if (monitoredModels(project).includes(model)) return;
  throw new KilnError('MODEL_NOT_FOUND', `no model '${model}' in this project (models: ${monitoredModels(project).join(', ') || 'none'})`, { path: ['model'] });
}

export interface ModelOverview {
  readonly model: string;
  readonly declared: boolean;
  readonly versions: number;
  readonly aliases: Record<string, number>;
  readonly alerts: { alerts: number; critical: number; open: number; latestWindow: string; lastSeen: string } | null;
  readonly lastRun: LoopRunRecord | null;
}

/** The list page: per model, its versions and aliases, its stored alerts and the loop's last run (SQL only; the decision log is not read). */
export function modelOverviews(project: Project): ModelOverview[] {
  const alerts = new Map(new AlertStore(project.meta.db).summary().map((s) => [s.model, s]));
  const registered = new Map(project.registry.listModels().map((m) => [m.name, m]));
  const loops = new LoopStore(project.meta.db);
  return monitoredModels(project).map((model) => {
    const m = registered.get(model);
    return {
      model, declared: model in project.config.models, versions: m?.versions ?? 0, aliases: m?.aliases ?? {},
      alerts: alerts.get(model) ?? null,
      lastRun: loops.listRuns({ loop: retrainLoopName(model), limit: 1 })[0] ?? null,
    };
  });
}

export interface MonitorQuery {
  readonly window?: WindowSize;
  readonly since?: number;
  readonly until?: number;
}

/** `kiln monitor status MODEL --window W --json`, without storing the alerts (a page only reads). */
export function driftStatus(project: Project, model: string, q: MonitorQuery): Promise<MonitorStatus> {
  return monitorStatus(project, model, { ...q, persist: false });
}

/** The performance part of `kiln monitor report`: cohorts, CBPE, vintages, and the shift-aware estimate when asked. Reads the offline store: the caller releases it. */
export async function modelPerformance(project: Project, model: string, q: MonitorQuery & { shiftAware: boolean }): Promise<RealisedPerformance> {
  return realisedPerformance(project, model, {
    ...(q.since !== undefined ? { since: q.since } : {}), ...(q.until !== undefined ? { until: q.until } : {}), shiftAware: q.shiftAware,
  });
}

/** The runs of the model's retrain loop, newest first (`kiln loop history`). */
export function loopRuns(project: Project, model: string, limit = 50): LoopRunRecord[] {
  return new LoopStore(project.meta.db).listRuns({ loop: retrainLoopName(model), limit });
}

/** One run of the model's loop; RUN_NOT_FOUND (404) for another model's run or an unknown id. */
export function loopRun(project: Project, model: string, id: string): LoopRunRecord {
  const run = new LoopStore(project.meta.db).findRun(id);
  if (!run || run.loop !== retrainLoopName(model)) throw new KilnError('RUN_NOT_FOUND', `no run '${id}' of the ${model} loop (kiln loop history ${model} lists them)`, { path: ['run'] });
  return run;
}

/** The evaluate step's output of a retrain run (src/loop/retrain/loop.ts), as stored. */
export interface Evaluation {
  champion: number;
  challenger: number;
  window: { from: string; to: string };
  rows: number;
  metrics: MetricRow[];
  swap: SwapSet | null;
  recent: { decisions: number; swap: SwapSet | null };
  inputDrift: { feature: string; psi: number }[];
  gates: { passed: boolean; action: string; summary: string; results: GateRow[] };
}

export interface GateRow { gate: string; metric: string; slice: string; passed: boolean; skipped: boolean; value: number | null; champion: number | null; threshold: number; rows: number | null; reason: string }

export function evaluationOf(run: LoopRunRecord): Evaluation | null {
  const step = run.steps.find((s) => s.name === 'evaluate' && s.status === 'done');
  const out = step?.output as Partial<Evaluation> | undefined;
  if (!out || !Array.isArray(out.metrics) || typeof out.champion !== 'number' || typeof out.challenger !== 'number') return null;
  return out as Evaluation;
}

export function stepOutput(run: LoopRunRecord, name: string): Record<string, unknown> {
  const o = run.steps.find((s) => s.name === name)?.output;
  return o && typeof o === 'object' ? o as Record<string, unknown> : {};
}

/** Champion against challenger on the decisions where the server scored a second version beside the deciding one. */
export interface ShadowComparison {
  /** The version that decided, and the version scored beside it (shadow challenger; the primary when a canary decided). */
  readonly decided: number;
  readonly beside: number;
  readonly decisions: number;
  /** Decisions joined to an outcome whose label is known now. */
  readonly labelled: number;
  readonly from: string;
  readonly to: string;
  readonly cutoffs: { decided: number; beside: number };
  readonly metrics: MetricRow[];
  readonly swap: SwapSet;
}

/** A version's cutoff on the scale it serves (calibrated when it has a calibrator), as the loop's evaluation uses. */
function servedCutoff(project: Project, model: string, version: number): number {
  const bundle = versionBundle(project.registry.getVersion(model, version));
  return bundle.calibrator ? bundle.calibrator.apply([bundle.json.cutoff])[0]! : bundle.json.cutoff;
}

const pdOf = (s: { calibrated: number | null; raw: number }): number => s.calibrated ?? s.raw;

/**
 * For each pair (deciding version, version scored beside it) in the decision log: the gates' metrics
 * (compareModels) and the swap set on those very decisions, labels joined from the outcomes as known now.
 * Empty when no decision carries a shadow score. Reads the offline store: the caller releases it.
 */
export async function shadowComparisons(project: Project, model: string, q: MonitorQuery, asOf = Date.now()): Promise<ShadowComparison[]> {
  const records = (await modelDecisions(project, model, q)).filter((r) => r.shadow.length > 0 && r.shadow.some((s) => s.version !== r.version));
  if (!records.length) return [];
  const pairs = new Map<string, DecisionRecord[]>();
  for (const r of records) {
    for (const s of r.shadow) {
      if (s.version === r.version) continue;
      const k = `${r.version}|${s.version}`;
      (pairs.get(k) ?? pairs.set(k, []).get(k)!).push(r);
    }
  }
  let labels: Map<string, number> | null = null;
  try {
    const src = outcomeSource(project, model);
    const outcomes = await readOutcomes(project, src);
    const scored = records.filter((r) => r.entityId !== null).map((r) => ({ id: r.id, entityId: r.entityId!, time: Date.parse(r.time), pd: pdOf(r.score), version: r.version }));
    labels = new Map();
    for (const j of joinOutcomes(scored, outcomes, { maxLagMs: src.maxLagDays * 86_400_000 })) {
      const o = j.outcome;
      if (o && o.label !== null && o.originatedAt <= asOf && o.labelAvailableAt !== null && o.labelAvailableAt <= asOf) labels.set(j.id, o.label);
    }
  } catch (e) {
    if (!(e instanceof KilnError)) throw e; // no outcome source: approval metrics and the swap set's rows only
  }
  const out: ShadowComparison[] = [];
  for (const [k, recs] of [...pairs].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const [decided, beside] = k.split('|').map(Number) as [number, number];
    const label = Float64Array.from(recs, (r) => labels?.get(r.id) ?? NaN);
    const cutoffs = { decided: servedCutoff(project, model, decided), beside: servedCutoff(project, model, beside) };
    const set = {
      label, championPd: Float64Array.from(recs, (r) => pdOf(r.score)), challengerPd: Float64Array.from(recs, (r) => pdOf(r.shadow.find((s) => s.version === beside)!)),
      championCutoff: cutoffs.decided, challengerCutoff: cutoffs.beside,
    };
    let labelled = 0;
    for (const y of label) if (y === y) labelled++;
    out.push({ decided, beside, decisions: recs.length, labelled, from: recs[0]!.time, to: recs[recs.length - 1]!.time, cutoffs, metrics: compareModels(set), swap: swapSet(set) });
  }
  return out;
}

/** `kiln loop backtest` keeps no results in the project: its report file, when one was written at the default place. */
export function backtestReport(project: Project): { path: string; modified: string } | null {
  const path = join(project.paths.root, 'reports', 'loop-backtest.html');
  if (!existsSync(path)) return null;
  return { path, modified: statSync(path).mtime.toISOString() };
}
