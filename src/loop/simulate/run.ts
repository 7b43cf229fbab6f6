/**
 * `kiln loop simulate`: the lifecycle on the simulated world, a month at a time, with no human step.
 * The world is generated once for its whole horizon (the generator is deterministic, so revealing it a
 * month at a time is the same as generating it so); a clock then walks the months from `fromMonth`:
 *   1. the month's applications are scored by the champion of that month into the decision log;
 *   2. monitoring reads the month's decisions (drift against the champion's reference, alerts);
 *   3. the triggers see the month's events (schedule, drift alerts, labels matured since the last run);
 *      a run of the retrain loop as of the month's end trains on what was known then, and the gates decide.
 * The outcome (outcome.ts) is measured afterwards on the labels matured within the horizon.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KilnError } from '../../core/errors.js';
import { monthStartUtc } from '../../core/time.js';
import { trainModel } from '../../pipelines/index.js';
import { decisionLogDir } from '../../serve/index.js';
import { simulate, type SimOptionsInput } from '../../sim/index.js';
import { Project } from '../../store/index.js';
import { challengerSpec, loopSpecOf } from '../retrain/windows.js';
import { parseTriggerSpec, type TriggerSpecInput } from '../triggers/index.js';
import { applicationsByMonth } from './applications.js';
import { replayMonths, type MonthRow } from './replay.js';
import { policySpec, sandbox } from './backtest.js';
import { loopSimOutcome, type LoopSimOutcome } from './outcome.js';

export type { MonthRow } from './replay.js';

export interface LoopSimOptions {
  readonly model: string;
  readonly sim: SimOptionsInput;
  /** Month index (from the world's start) at which the loop starts; the first champion is trained as of it. */
  readonly fromMonth: number;
  /** Months to walk (default: to the end of the horizon). */
  readonly months?: number;
  /** Triggers (default: the config's loop.<model>.triggers, else a quarterly schedule, drift, a 60-day cooldown). */
  readonly triggers?: TriggerSpecInput;
  readonly quiet?: boolean;
  readonly signal?: AbortSignal;
  /** Also walk the same world with this named policy (loop.<model>.policies), e.g. another label: its outcome is compared in the report. */
  readonly compare?: string;
}

export interface LoopSimResult {
  readonly model: string;
  readonly start: string;
  readonly shockMonth: number | null;
  readonly shock: string | null;
  readonly fromMonth: number;
  readonly initialVersion: number;
  /** The label the loop trained on. */
  readonly label?: string;
  readonly timeline: MonthRow[];
  readonly seconds: number;
  /** The same world walked with `compare`'s policy: what another label (or trigger, gate) choice buys. */
  readonly comparison?: { readonly policy: string; readonly label: string; readonly result: LoopSimResult; readonly outcome: LoopSimOutcome };
}

export const DEFAULT_SIM_TRIGGERS: TriggerSpecInput = { schedule: '0 0 1 */3 *', onDrift: { severity: 'significant' }, cooldown: '60d' };

const monthStart = (start: string, k: number): number => monthStartUtc(Date.parse(`${start}T00:00:00Z`), k);
const label = (ms: number): string => new Date(ms).toISOString().slice(0, 7);

export async function simulateLoop(project: Project, opts: LoopSimOptions): Promise<LoopSimResult> {
  const t0 = performance.now();
  const log = (line: string): void => { if (!opts.quiet) process.stderr.write(`loop simulate: ${line}\n`); };
  const spec = project.config.models[opts.model];
  if (!spec) throw new KilnError('MODEL_NOT_FOUND', `no model '${opts.model}' in the config`, { path: ['model'] });
  const loopSpec = loopSpecOf(project.config, opts.model);
  const triggers = parseTriggerSpec(opts.triggers ?? loopSpec.triggers ?? DEFAULT_SIM_TRIGGERS, `loop.${opts.model}.triggers`);
  const alias = loopSpec.alias ?? 'champion';

  // ---- the world, whole
  log('simulating the world');
  const sim = await simulate(project.offline, opts.sim);
  for (const t of sim.tables) project.meta.upsertTable({ name: t.name, timestampColumn: t.timestampColumn ?? null, keyColumn: t.keyColumn ?? null, source: 'sim', description: t.description });
  const o = sim.options;
  if (opts.fromMonth < 1 || opts.fromMonth >= o.months) throw new KilnError('USAGE', `--from-month ${opts.fromMonth}: expected 1 .. ${o.months - 1} (the world has ${o.months} months)`, { path: ['from-month'] });
  const end = Math.min(o.months, opts.fromMonth + (opts.months ?? o.months));
  const apps = await applicationsByMonth(project, opts.model, spec, monthStart(o.start, opts.fromMonth), monthStart(o.start, end));

  // ---- a fresh decision log; the first champion, trained as of the first month
  rmSync(decisionLogDir(project.paths.dataDir), { recursive: true, force: true });
  const work = opts.compare ? mkdtempSync(join(tmpdir(), 'kiln-loop-compare-')) : null;
  if (work) await sandbox(project, join(work, 'world'));
  const first = new Date(monthStart(o.start, opts.fromMonth)).toISOString();
  log(`training the first champion as of ${first.slice(0, 10)}`);
  const v0 = await trainModel(project, opts.model, { asOf: first, spec: challengerSpec(opts.model, spec, loopSpec, Date.parse(first)), quiet: true, force: true, tags: { loop_simulate: 'initial' }, reason: `first champion of kiln loop simulate, as of ${first}` });
  project.registry.setAlias(opts.model, alias, v0.version, { reason: `kiln loop simulate: first champion as of ${first}`, actor: 'kiln-loop' });

  const months: number[] = [];
  for (let m = opts.fromMonth; m < end; m++) months.push(monthStart(o.start, m));
  const timeline = await replayMonths(project, { model: opts.model, spec, loop: loopSpec, months, rows: apps, triggers, label: 'loop simulate', ...(opts.quiet ? { quiet: true } : {}), ...(opts.signal ? { signal: opts.signal } : {}) });
  const shock = o.shockMonth === null ? null : label(monthStart(o.start, o.shockMonth));
  const base = { model: opts.model, start: o.start, shockMonth: o.shockMonth, shock, fromMonth: opts.fromMonth, initialVersion: v0.version, label: loopSpec.label?.column ?? spec.label.column };
  let comparison: LoopSimResult['comparison'];
  if (work && opts.compare) {
    try {
      // The same world, from before the first champion, walked with the other policy in a sandbox.
      const policy = policySpec(loopSpec, opts.compare, opts.model);
      const p = await Project.open({ project: join(work, 'world'), embeddedMetadata: true });
      try {
        log(`walking the same world with policy '${opts.compare}'`);
        const c0 = await trainModel(p, opts.model, { asOf: first, spec: challengerSpec(opts.model, spec, policy, Date.parse(first)), quiet: true, force: true, tags: { loop_simulate: 'initial' }, reason: `first champion of kiln loop simulate (policy ${opts.compare}), as of ${first}` });
        p.registry.setAlias(opts.model, policy.alias ?? 'champion', c0.version, { reason: `kiln loop simulate: first champion as of ${first}`, actor: 'kiln-loop' });
        const policyTriggers = parseTriggerSpec(policy.triggers ?? opts.triggers ?? loopSpec.triggers ?? DEFAULT_SIM_TRIGGERS, `loop.${opts.model}.policies.${opts.compare}.triggers`);
        const ctl = await replayMonths(p, { model: opts.model, spec, loop: policy, months, rows: apps, triggers: policyTriggers, label: `loop simulate (${opts.compare})`, ...(opts.quiet ? { quiet: true } : {}), ...(opts.signal ? { signal: opts.signal } : {}) });
        const cres: LoopSimResult = { ...base, initialVersion: c0.version, label: policy.label?.column ?? spec.label.column, timeline: ctl, seconds: 0 };
        comparison = { policy: opts.compare, label: policy.label?.column ?? spec.label.column, result: cres, outcome: await loopSimOutcome(p, cres, monthStart(o.start, o.months)) };
      } finally {
        p.close();
      }
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  }
  return { ...base, timeline, seconds: (performance.now() - t0) / 1000, ...(comparison ? { comparison } : {}) };
}
