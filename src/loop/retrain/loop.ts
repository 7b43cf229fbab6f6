/**
 * The retrain-evaluate-promote loop of one model, as durable steps (runner/): each step is idempotent,
 * so a run killed anywhere resumes from the step it was in and ends with at most one promotion.
 *
 *   refresh   what the data holds as of the run's time (spine rows, labels known): the run's evidence
 *   train     a challenger on the rolling windows (windows.ts), as of the run's time; a version this run
 *             already registered (run tag loop_run) is reused rather than trained twice
 *   evaluate  champion and challenger on the challenger's test window; its inputs against recent decisions
 *   gate      the configured gates (gates/): pass or fail, with every figure
 *   act       promote (move the alias), shadow (move the 'challenger' alias) or reject; the alias is
 *             moved at most once per run (audit reason 'loop run <id>: ...'), and not if already there
 */
import { KilnError } from '../../core/errors.js';
import type { LoopModelSpec } from '../../config/index.js';
import { getRun } from '../../registry/index.js';
import { trainModel } from '../../pipelines/index.js';
import { timestampSql, type Project } from '../../store/index.js';
import { evaluateChallenger, parseGateSpec, type GateSpecInput } from '../gates/index.js';
import type { LoopDef, StepContext } from '../runner/index.js';
import { compareOnWindow } from './evaluate.js';
import { challengerSpec, loopSpecOf } from './windows.js';

/** The loop's name for a model: 'retrain:credit'. */
export const retrainLoopName = (model: string): string => `retrain:${model}`;

/** Gates when the config gives none: not worse than the champion by more than a little, calibrated, fair. */
export const DEFAULT_GATES: GateSpecInput = {
  metrics: [{ metric: 'auc', maxDrop: 0.005 }, { metric: 'ks', maxDrop: 0.02 }, { metric: 'ece', max: 0.05 }, { metric: 'air', min: 0.8 }],
};

export interface RetrainInput {
  /** The run's time (ISO, UTC): data, labels and decisions after it are not used. */
  readonly asOf: string;
  /** Train even if nothing was learned (for a forced manual run). */
  readonly force?: boolean;
}

function inputOf(ctx: StepContext): RetrainInput {
  const asOf = ctx.input.asOf;
  if (typeof asOf !== 'string' || !Number.isFinite(Date.parse(asOf))) throw new KilnError('INVALID_ARGUMENT', `loop run ${ctx.runId}: input.asOf must be an ISO time; got ${JSON.stringify(asOf)}`);
  return { asOf: new Date(asOf).toISOString(), force: ctx.input.force === true };
}

/** The version this loop run registered, if any (a re-run of the train step after a crash). */
function versionOfRun(project: Project, model: string, runId: string): number | null {
  for (const v of project.registry.listVersions(model)) {
    if (!v.runId) continue;
    try {
      if (getRun(project.meta.db, v.runId).tags.loop_run === runId) return v.version;
    } catch { /* a version whose run is gone */ }
  }
  return null;
}

/** The loop of `model` with the config's settings (or `settings`: a backtest's policy). */
export function retrainLoop(project: Project, model: string, settings?: LoopModelSpec): LoopDef {
  const spec = project.config.models[model];
  if (!spec) throw new KilnError('MODEL_NOT_FOUND', `no model '${model}' in the config: the loop retrains a declared model`, { path: ['loop', model] });
  const loop = settings ?? loopSpecOf(project.config, model);
  const alias = loop.alias ?? 'champion';
  const gates = parseGateSpec(loop.gates ?? DEFAULT_GATES, `loop.${model}.gates`);
  const specAt = (asOf: string) => challengerSpec(model, spec, loop, Date.parse(asOf));
  return {
    name: retrainLoopName(model),
    steps: [
      {
        name: 'refresh',
        run: async (ctx) => {
          const { asOf } = inputOf(ctx);
          const s = specAt(asOf);
          const at = timestampSql(asOf);
          const known = s.label.availableAt ? `"${s.label.availableAt}" <= ${at}` : 'true';
          const [r] = await project.offline.all<{ rows: number; labelled: number }>(
            `SELECT count(*)::BIGINT AS rows, count(*) FILTER (WHERE ${known} AND "${s.label.column}" IS NOT NULL)::BIGINT AS labelled FROM "${s.spine.table}" WHERE "${s.spine.timestamp}" < ${at}`);
          project.releaseOffline();
          return { asOf, split: s.split, spine: s.spine.table, label: s.label.column, rows: Number(r!.rows), labelled: Number(r!.labelled) };
        },
      },
      {
        name: 'train',
        retries: 1,
        run: async (ctx) => {
          const { asOf, force } = inputOf(ctx);
          const champion = project.registry.resolve(`${model}@${alias}`).version;
          const existing = versionOfRun(project, model, ctx.runId);
          if (existing !== null) return { version: existing, champion, reused: true };
          try {
            const r = await trainModel(project, model, { asOf, spec: specAt(asOf), quiet: true, force: force === true, tags: { loop_run: ctx.runId }, reason: `challenger trained by loop run ${ctx.runId} as of ${asOf}`, ...(ctx.signal ? { signal: ctx.signal } : {}) });
            return { version: r.version, champion, reused: false, testAuc: r.evaluation.metrics.auc };
          } catch (e) {
            if (e instanceof KilnError && (e.code === 'MODEL_LEARNED_NOTHING' || e.code === 'SPLIT_EMPTY')) return { end: 'no_challenger', reason: e.message, champion };
            throw e;
          }
        },
      },
      {
        name: 'evaluate',
        run: async (ctx) => {
          const { asOf } = inputOf(ctx);
          const t = ctx.outputs.train as { version: number; champion: number };
          const c = await compareOnWindow(project, model, specAt(asOf), asOf, t.champion, t.version, loop.recentDays ?? 90);
          const decision = evaluateChallenger(c.set, gates, { inputDrift: c.inputDrift });
          return { champion: t.champion, challenger: t.version, window: c.window, rows: c.rows, metrics: decision.rows, swap: decision.swap, recent: c.recent, inputDrift: c.inputDrift, gates: { passed: decision.passed, action: decision.action, results: decision.results, summary: decision.summary } };
        },
      },
      {
        name: 'gate',
        run: async (ctx) => {
          const e = ctx.outputs.evaluate as { gates: { passed: boolean; action: string; summary: string }; champion: number; challenger: number };
          return { passed: e.gates.passed, action: e.gates.action, summary: e.gates.summary, champion: e.champion, challenger: e.challenger };
        },
      },
      {
        name: 'act',
        run: async (ctx) => {
          const g = ctx.outputs.gate as { action: 'promote' | 'shadow' | 'reject'; summary: string; champion: number; challenger: number };
          const target = g.action === 'promote' ? alias : g.action === 'shadow' ? 'challenger' : null;
          if (target === null) return { end: 'rejected', action: 'reject', version: g.challenger, summary: g.summary };
          // This run's own move, by an earlier attempt that died before committing: never move the alias
          // again (someone may have moved it back since). Else move it unless it is already there.
          const tag = `loop run ${ctx.runId}:`;
          const done = project.registry.auditLog(model).some((e) => e.action === 'set_alias' && e.alias === target && e.version === g.challenger && (e.reason ?? '').startsWith(tag));
          const now = (() => { try { return project.registry.resolve(`${model}@${target}`).version; } catch { return null; } })();
          const move = !done && now !== g.challenger;
          if (move) {
            project.registry.setAlias(model, target, g.challenger, { reason: `${tag} ${g.action} v${g.challenger} over v${g.champion}: ${g.summary}`, actor: 'kiln-loop' });
          }
          return { end: g.action === 'promote' ? 'promoted' : 'shadowed', action: g.action, alias: target, version: g.challenger, previous: g.champion, moved: move || done };
        },
      },
    ],
  };
}
