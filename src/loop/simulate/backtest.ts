/**
 * `kiln loop backtest`: what a retraining policy would have done over the stored history, before it is
 * switched on. A policy is the model's loop settings (triggers, gates, windows, label: its label delay),
 * optionally overridden by a named entry of `loop.<model>.policies`. Over [from, to), month by month,
 * the model's spine rows of the month (the applicants of the time, with the inputs they had) are decided
 * by the policy's champion of the month, monitoring and triggers run, and runs of the retrain loop train
 * and gate as of each month's end: nothing after it is used (replay.ts).
 *
 * Every policy runs in a sandbox: a copy of the project (meta.sqlite by SQLite's backup, the offline
 * store and the rest by file copy; not the decision log), so the real registry, aliases and decision
 * log are never touched. All policies start from the same first champion, trained as of `from`. Beside
 * the policy: never retraining, and a fixed quarterly schedule. Performance that would have followed:
 * AUC by month on the labels known at the end of the stored history, pooled over the period, and the
 * retraining cost (runs, their seconds).
 */
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, sep } from 'node:path';
import { KilnError } from '../../core/errors.js';
import { monthStartUtc } from '../../core/time.js';
import type { LoopModelSpec } from '../../config/index.js';
import { auc } from '../../eval/index.js';
import { joinOutcomes, modelDecisions, outcomeSource, readOutcomes } from '../../monitor/index.js';
import { trainModel } from '../../pipelines/index.js';
import { copyMetadata, MetaStore, Project } from '../../store/index.js';
import { challengerSpec, loopSpecOf } from '../retrain/windows.js';
import { parseTriggerSpec, type TriggerSpec } from '../triggers/index.js';
import { spineRowsByMonth } from './applications.js';
import { replayMonths, type MonthRow } from './replay.js';

export interface BacktestOptions {
  readonly model: string;
  /** First and end month (ISO dates; each rounded down to its month). */
  readonly from: string;
  readonly to: string;
  /** A named policy of loop.<model>.policies (default: the loop's own settings). */
  readonly policy?: string;
  readonly quiet?: boolean;
  readonly signal?: AbortSignal;
}

export interface PolicyResult {
  readonly name: string;
  readonly timeline: MonthRow[];
  readonly runs: number;
  readonly promotions: string[];
  readonly trainingSeconds: number;
  /** AUC by month of the deciding champion, on labels known at the end of the history (null: too few). */
  readonly auc: { month: string; labelled: number; auc: number | null }[];
  readonly pooledAuc: number | null;
  readonly labelled: number;
}

export interface BacktestResult {
  readonly model: string;
  readonly from: string;
  readonly to: string;
  readonly firstChampion: number;
  readonly policies: PolicyResult[];
  readonly seconds: number;
}

export const FIXED_SCHEDULE: TriggerSpec = parseTriggerSpec({ schedule: '0 0 1 */3 *' });

const monthOf = (iso: string, field: string): number => {
  const ms = Date.parse(iso);
  if (!Number.isFinite(ms)) throw new KilnError('USAGE', `--${field} ${iso}: expected an ISO date (2025-01-01)`, { path: [field] });
  return monthStartUtc(ms);
};

/** A sandbox copy of the project: a consistent meta.sqlite, the offline store, config and artifacts. */
export async function sandbox(project: Project, into: string): Promise<void> {
  const root = project.paths.root;
  const data = project.paths.dataDir;
  project.releaseOffline();
  const skip = new Set([project.paths.metaDb, `${project.paths.metaDb}-wal`, `${project.paths.metaDb}-shm`, join(data, 'decisions')]);
  cpSync(root, into, {
    recursive: true,
    filter: (src) => ![...skip].some((s) => src === s || src.startsWith(`${s}${sep}`)) && !src.startsWith(`${into}${sep}`),
  });
  const target = join(into, relative(root, project.paths.metaDb));
  if (project.meta.db === project.meta.local) {
    await project.meta.local.raw.backup(target);
    return;
  }
  // Shared metadata (PostgreSQL) is copied into the sandbox's own meta.sqlite, beside this machine's
  // tables and ingest log: a sandbox never writes to the shared database.
  const copy = MetaStore.open(target);
  try {
    copy.db.transaction(() => {
      for (const t of ['tables', 'ingests']) {
        for (const row of project.meta.local.prepare(`SELECT * FROM ${t}`).all() as Record<string, unknown>[]) {
          const cols = Object.keys(row);
          copy.db.prepare(`INSERT INTO ${t} (${cols.join(', ')}) VALUES (${cols.map(() => '?').join(', ')})`).run(...cols.map((c) => row[c]));
        }
      }
    })();
    copyMetadata(project.meta.db, copy.db);
  } finally {
    copy.close();
  }
}

export function policySpec(loop: LoopModelSpec, name: string | undefined, model: string): LoopModelSpec {
  if (name === undefined) return loop;
  const p = loop.policies?.[name];
  if (!p) throw new KilnError('USAGE', `--policy ${name}: loop.${model}.policies has no such policy (${Object.keys(loop.policies ?? {}).join(', ') || 'none declared'})`, { path: ['policy'] });
  return { ...loop, ...p, windows: { ...loop.windows, ...p.windows } } as LoopModelSpec;
}

export async function backtestLoop(project: Project, opts: BacktestOptions): Promise<BacktestResult> {
  const t0 = performance.now();
  const spec = project.config.models[opts.model];
  if (!spec) throw new KilnError('MODEL_NOT_FOUND', `no model '${opts.model}' in the config`, { path: ['model'] });
  const from = monthOf(opts.from, 'from');
  const to = monthOf(opts.to, 'to');
  if (to <= from) throw new KilnError('USAGE', `--to ${opts.to} must be at least a month after --from ${opts.from}`, { path: ['to'] });
  const base = loopSpecOf(project.config, opts.model);
  const named = policySpec(base, opts.policy, opts.model);
  const months: number[] = [];
  for (let m = from; m < to; m = monthStartUtc(m, 1)) months.push(m);
  const work = mkdtempSync(join(tmpdir(), 'kiln-backtest-'));
  try {
    // The first champion, as of `from`, in a sandbox all policies start from.
    const seed = join(work, 'seed');
    await sandbox(project, seed);
    let first: number;
    {
      const p = await Project.open({ project: seed, embeddedMetadata: true });
      try {
        const asOf = new Date(from).toISOString();
        const v = await trainModel(p, opts.model, { asOf, spec: challengerSpec(opts.model, spec, named, from), quiet: true, force: true, tags: { loop_backtest: 'initial' }, reason: `kiln loop backtest: first champion as of ${asOf}` });
        p.registry.setAlias(opts.model, named.alias ?? 'champion', v.version, { reason: `kiln loop backtest: first champion as of ${asOf}`, actor: 'kiln-loop' });
        first = v.version;
      } finally {
        p.close();
      }
    }
    const policies: { name: string; loop: LoopModelSpec; triggers: TriggerSpec | null }[] = [
      { name: opts.policy ?? 'policy', loop: named, triggers: parseTriggerSpec(named.triggers ?? FIXED_SCHEDULE, `loop.${opts.model}.triggers`) },
      { name: 'quarterly', loop: named, triggers: FIXED_SCHEDULE },
      { name: 'never', loop: named, triggers: null },
    ];
    const results: PolicyResult[] = [];
    for (const pol of policies) {
      const dir = join(work, pol.name);
      cpSync(seed, dir, { recursive: true });
      const p = await Project.open({ project: dir, embeddedMetadata: true });
      try {
        const rows = await spineRowsByMonth(p, opts.model, spec, from, to);
        const timeline = await replayMonths(p, { model: opts.model, spec, loop: pol.loop, months, rows, triggers: pol.triggers, label: `backtest ${pol.name}`, ...(opts.quiet ? { quiet: true } : {}), ...(opts.signal ? { signal: opts.signal } : {}) });
        results.push({ name: pol.name, timeline, ...(await realised(p, opts.model, timeline)) });
      } finally {
        p.close();
      }
    }
    return { model: opts.model, from: new Date(from).toISOString().slice(0, 10), to: new Date(to).toISOString().slice(0, 10), firstChampion: first, policies: results, seconds: (performance.now() - t0) / 1000 };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** AUC by month and pooled, on the labels known at the end of the stored history; the runs' cost. */
async function realised(p: Project, model: string, timeline: MonthRow[]): Promise<Omit<PolicyResult, 'name' | 'timeline'>> {
  const records = await modelDecisions(p, model);
  const outcomes = await readOutcomes(p, outcomeSource(p, model));
  p.releaseOffline();
  const joined = joinOutcomes(records.filter((r) => r.entityId !== null).map((r) => ({ id: r.id, entityId: r.entityId!, time: Date.parse(r.time), pd: r.score.calibrated ?? r.score.raw, version: r.version })), outcomes, { maxLagMs: 0 });
  const by = new Map<string, { y: number[]; s: number[] }>();
  const ally: number[] = [];
  const alls: number[] = [];
  for (const j of joined) {
    if (!j.outcome || j.outcome.label === null) continue;
    const m = new Date(j.time).toISOString().slice(0, 7);
    let g = by.get(m);
    if (!g) by.set(m, (g = { y: [], s: [] }));
    g.y.push(j.outcome.label); g.s.push(j.pd); ally.push(j.outcome.label); alls.push(j.pd);
  }
  const aucOf = (y: number[], s: number[]): number | null => {
    const pos = y.reduce((a, b) => a + b, 0);
    return y.length >= 30 && pos > 0 && pos < y.length ? auc(Float64Array.from(y), Float64Array.from(s)) : null;
  };
  const runs = timeline.filter((m) => m.run);
  return {
    runs: runs.length, promotions: runs.filter((m) => m.run!.outcome === 'promoted').map((m) => m.month),
    trainingSeconds: runs.reduce((a, m) => a + (m.run!.seconds ?? 0), 0),
    auc: timeline.map((m) => { const g = by.get(m.month); return { month: m.month, labelled: g?.y.length ?? 0, auc: g ? aucOf(g.y, g.s) : null }; }),
    pooledAuc: aucOf(ally, alls), labelled: ally.length,
  };
}
