/**
 * `kiln monitor status`: a model's decisions, window by window, against the reference of the version
 * that made them. Reads the decision log (no lock: a running server keeps writing), the bundle's
 * reference profile and the reference sample beside it; raises alerts by the configured thresholds.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { KilnError } from '../core/errors.js';
import { REFERENCE_SAMPLE_FILE, versionBundle, type ReferenceProfile, type ReferenceSample } from '../pipelines/index.js';
import { decisionLogOf, readDecisions, type DecisionRecord } from '../serve/index.js';
import type { Project } from '../store/index.js';
import { AlertStore } from './alerts.js';
import { alertsOfWindow, type AlertDraft, type AlertThresholds } from './alert-rules.js';
import { windowDrift, type ReferenceValues, type WindowDrift } from './drift-report.js';
import { windowsOf, type WindowSize } from './windows.js';

export interface MonitorOptions {
  /** Window size (default: the config's monitor.window, else 'week'). */
  readonly window?: WindowSize;
  /** Decisions made at or after / before (epoch ms). */
  readonly since?: number;
  readonly until?: number;
  /** Only decisions of this version (default: every version, each against its own reference). */
  readonly version?: number;
  readonly thresholds?: Partial<AlertThresholds>;
  /** Store the alerts (de-duplicated) in meta.sqlite (default true). */
  readonly persist?: boolean;
}

export interface VersionReference {
  readonly version: number;
  readonly profile: ReferenceProfile | null;
  readonly values: ReferenceValues | null;
  readonly sample: ReferenceSample | null;
  /** The version's category dictionaries (code = index) by input. */
  readonly categories: Readonly<Record<string, string[]>>;
}

export interface MonitorStatus {
  readonly model: string;
  readonly window: WindowSize;
  readonly decisions: number;
  /** Per deciding version: its windows' drift (a version without a profile is listed with a note). */
  readonly versions: { version: number; windows: WindowDrift[]; note: string | null }[];
  readonly alerts: AlertDraft[];
  /** Alerts not seen before (stored now); 0 when not persisted. */
  readonly newAlerts: number;
}

/** The reference of a version: its bundle's profile and the labelled sample beside the bundle. */
export function versionReference(project: Project, model: string, version: number): VersionReference {
  const mv = project.registry.getVersion(model, version);
  const bundle = versionBundle(mv);
  const profile = bundle.profile;
  let sample: ReferenceSample | null = null;
  if (mv.artifactPath) {
    const file = join(dirname(mv.artifactPath), REFERENCE_SAMPLE_FILE);
    if (existsSync(file)) {
      try {
        sample = JSON.parse(readFileSync(file, 'utf8')) as ReferenceSample;
      } catch (e) {
        throw new KilnError('FILE_INVALID', `${file}: not a readable reference sample (${(e as Error).message}); retrain the version or delete the file to monitor without the raw-value tests`, { path: [file] });
      }
    }
  }
  let values: ReferenceValues | null = null;
  if (sample) {
    const cats = bundle.json.categories;
    const numeric: Record<string, Float64Array> = {};
    const text: Record<string, (string | null)[]> = {};
    sample.inputs.forEach((name, j) => {
      const col = sample!.columns[j]!;
      const dict = cats[name];
      if (dict) text[name] = col.map((v) => (v === null ? null : dict[v] ?? null));
      else numeric[name] = Float64Array.from(col, (v) => (v === null ? NaN : v));
    });
    values = { numeric, text, raw: Float64Array.from(sample.probability) };
  }
  return { version, profile, values, sample, categories: bundle.json.categories };
}

/** A model's decisions (of one version, or all) in [since, until), oldest first. */
export async function modelDecisions(project: Project, model: string, opts: { since?: number; until?: number; version?: number } = {}): Promise<DecisionRecord[]> {
  const out: DecisionRecord[] = [];
  for await (const r of readDecisions(decisionLogOf(project), {
    model, ...(opts.version !== undefined ? { version: opts.version } : {}),
    ...(opts.since !== undefined ? { since: opts.since } : {}), ...(opts.until !== undefined ? { until: opts.until } : {}),
  })) out.push(r);
  return out;
}

export async function monitorStatus(project: Project, model: string, opts: MonitorOptions = {}): Promise<MonitorStatus> {
  if (!project.registry.listVersions(model).length) {
    throw new KilnError('MODEL_NOT_FOUND', `no registered versions of model '${model}': train one first (kiln train ${model})`, { path: ['model'] });
  }
  const cfg = project.config.monitor;
  const size = opts.window ?? cfg?.window ?? 'week';
  const thresholds = { ...cfg?.thresholds, ...opts.thresholds };
  const records = await modelDecisions(project, model, opts);
  const byVersion = new Map<number, DecisionRecord[]>();
  for (const r of records) {
    const list = byVersion.get(r.version);
    if (list) list.push(r); else byVersion.set(r.version, [r]);
  }
  const versions: MonitorStatus['versions'] = [];
  const alerts: AlertDraft[] = [];
  for (const [version, recs] of [...byVersion].sort((a, b) => a[0] - b[0])) {
    const ref = versionReference(project, model, version);
    if (!ref.profile) {
      versions.push({ version, windows: [], note: `version ${version} has no reference profile (trained before kiln stored one, or imported): retrain it to monitor its drift` });
      continue;
    }
    const windows: WindowDrift[] = [];
    const counts: number[] = [];
    for (const w of windowsOf(recs, size)) {
      const d = windowDrift(ref.profile, ref.values, w, counts.slice(-8));
      counts.push(w.rows);
      windows.push(d);
      alerts.push(...alertsOfWindow(model, version, d, thresholds));
    }
    versions.push({ version, windows, note: null });
  }
  const newAlerts = opts.persist === false ? 0 : new AlertStore(project.meta.db).record(alerts).length;
  return { model, window: size, decisions: records.length, versions, alerts, newAlerts };
}

/** Writes `kiln monitor report` (atomically: a temporary file renamed over the target). */
export async function monitorReport(project: Project, model: string, output: string, opts: MonitorOptions & { asOf?: number; performance?: boolean; shiftAware?: boolean } = {}): Promise<{ output: string; decisions: number; windows: number; alerts: number }> {
  const { renderMonitorReport } = await import('./report.js');
  const status = await monitorStatus(project, model, opts);
  const parts = [];
  if (opts.performance !== false && status.decisions) {
    const { realisedPerformance } = await import('./realised.js');
    const { performanceSections } = await import('./performance-report.js');
    const perf = await realisedPerformance(project, model, { ...opts, ...(opts.shiftAware !== undefined ? { shiftAware: opts.shiftAware } : { shiftAware: true }) });
    parts.push(await performanceSections(perf));
  }
  const html = await renderMonitorReport(status, parts, { generatedAt: new Date().toISOString() });
  const target = resolve(output);
  mkdirSync(dirname(target), { recursive: true });
  const tmp = `${target}.tmp-${process.pid}`;
  writeFileSync(tmp, html);
  renameSync(tmp, target);
  return { output: target, decisions: status.decisions, windows: status.versions.reduce((n, v) => n + v.windows.length, 0), alerts: status.alerts.length };
}
