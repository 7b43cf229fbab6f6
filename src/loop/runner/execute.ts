import { KilnError } from '../../core/errors.js';
import type { LoopStore, StepDecision } from './store.js';
import type { BackoffOptions, LoopDef, StepContext } from './types.js';

/**
 * One attempt of a run's next step, shared by both runners: claim it in the store (attempt + 1), run it
 * with a heartbeat that aborts its signal when the run is cancelled or taken over, then write its output
 * and decision together, or its failure with the time of the next try: delay = min(max, base * 2^(n-1))
 * after the n-th failed attempt. A step that is not retried any more fails the run.
 */

export const DEFAULT_RETRIES = 3;
export const DEFAULT_BACKOFF_BASE_MS = 1000;
export const DEFAULT_BACKOFF_MAX_MS = 60_000;

/** The delay before the try after failed attempt `attempt` (1-based): exponential, capped. */
export function backoffDelay(attempt: number, opts: BackoffOptions = {}): number {
  const base = opts.backoffBaseMs ?? DEFAULT_BACKOFF_BASE_MS;
  const max = opts.backoffMaxMs ?? DEFAULT_BACKOFF_MAX_MS;
  return Math.min(max, base * 2 ** Math.max(0, attempt - 1));
}

/** Checks a loop definition: a name, at least one step, unique step names, retries a whole number >= 0. */
export function checkLoopDef(def: LoopDef): void {
  if (!def.name || typeof def.name !== 'string') throw new KilnError('INVALID_ARGUMENT', 'loop definition: `name` must be a non-empty string');
  if (!Array.isArray(def.steps) || def.steps.length === 0) throw new KilnError('INVALID_ARGUMENT', `loop '${def.name}': \`steps\` must list at least one step`);
  const seen = new Set<string>();
  for (const s of def.steps) {
    if (!s.name || seen.has(s.name)) throw new KilnError('INVALID_ARGUMENT', `loop '${def.name}': step names must be non-empty and unique (got '${s.name}' twice or empty)`);
    seen.add(s.name);
    if (s.retries !== undefined && !(Number.isInteger(s.retries) && s.retries >= 0)) throw new KilnError('INVALID_ARGUMENT', `loop '${def.name}', step '${s.name}': retries must be a whole number >= 0, got ${String(s.retries)}`);
  }
}

/** What a step's output decides: `{ goto: '<later step>' }` or `{ end: '<outcome>' }`; anything else goes on with the next step. */
export function stepDecision(loop: LoopDef, step: string, output: unknown): StepDecision {
  if (output === null || typeof output !== 'object' || Array.isArray(output)) return {};
  const o = output as { goto?: unknown; end?: unknown };
  if (o.goto !== undefined && o.end !== undefined) throw new KilnError('INVALID_ARGUMENT', `step '${step}' returned both goto and end: expected one of them`);
  if (o.end !== undefined) {
    if (typeof o.end !== 'string' || !o.end) throw new KilnError('INVALID_ARGUMENT', `step '${step}' returned end ${JSON.stringify(o.end)}: expected a non-empty outcome string, e.g. 'rejected'`);
    return { end: o.end };
  }
  if (o.goto !== undefined) {
    const here = loop.steps.findIndex((s) => s.name === step);
    const there = typeof o.goto === 'string' ? loop.steps.findIndex((s) => s.name === o.goto) : -1;
    if (there <= here) throw new KilnError('INVALID_ARGUMENT', `step '${step}' returned goto ${JSON.stringify(o.goto)}: expected the name of a later step of loop '${loop.name}' (${loop.steps.slice(here + 1).map((s) => s.name).join(', ') || 'none'})`);
    return { skipTo: o.goto as string };
  }
  return {};
}

export type StepResult = { kind: 'next' } | { kind: 'wait'; delayMs: number } | { kind: 'stopped' };

export interface ExecuteOptions extends BackoffOptions {
  /** How often the heartbeat runs while a step runs. */
  heartbeatMs: number;
  /** Called on each heartbeat: false aborts the step's signal (run cancelled or taken over). */
  heartbeat(): boolean;
  /** The runner's own shutdown: the step is aborted and left to re-run on resume (nothing recorded). */
  shutdown?: AbortSignal;
  /** Aborted when this process cancels the run (other processes' cancels are seen by the heartbeat). */
  cancel?: AbortSignal;
  log?: (line: string) => void;
  /** Called right after a step's end is committed ('done', or 'failed' for good): for progress reports and metrics. */
  onStepEnd?: (e: { runId: string; step: string; status: 'done' | 'failed'; attempt: number }) => void;
}

/** Runs one attempt of the run's next step (or says how long its backoff still has to wait). */
export async function executeNextStep(store: LoopStore, loop: LoopDef, runId: string, owner: string, opts: ExecuteOptions): Promise<StepResult> {
  const next = store.nextStep(runId);
  if (!next) return { kind: 'stopped' };
  if (next.status === 'pending' && next.retryAt !== null) {
    const wait = Date.parse(next.retryAt) - Date.now();
    if (wait > 0) return { kind: 'wait', delayMs: wait };
  }
  const def = loop.steps.find((s) => s.name === next.name);
  if (!def) {
    store.failRun(runId, `the run has a step '${next.name}' that loop '${loop.name}' no longer defines (${loop.steps.map((s) => s.name).join(', ')})`);
    return { kind: 'stopped' };
  }
  const claimed = store.claimStep(runId, def.name, owner, (def.retries ?? DEFAULT_RETRIES) + 1);
  if (!claimed.ok) return { kind: 'stopped' };
  const { claim } = claimed;
  const controller = new AbortController();
  const onShutdown = (): void => controller.abort(new Error('the runner is closing'));
  opts.shutdown?.addEventListener('abort', onShutdown);
  if (opts.shutdown?.aborted) onShutdown();
  const onCancel = (): void => controller.abort(new Error('the run was cancelled'));
  opts.cancel?.addEventListener('abort', onCancel);
  const beat = setInterval(() => { try { if (!opts.heartbeat()) controller.abort(new Error('the run was cancelled or taken over')); } catch { /* next beat */ } }, opts.heartbeatMs);
  const ctx: StepContext = {
    runId, loop: loop.name, attempt: claim.attempt, input: claim.input, outputs: claim.outputs, signal: controller.signal,
    log: (line) => opts.log?.(`[${runId} ${def.name}#${claim.attempt}] ${line}`),
  };
  let output: unknown;
  try {
    output = await def.run(ctx);
    JSON.stringify(output ?? null);
  } catch (e) {
    if (opts.shutdown?.aborted) return { kind: 'stopped' };
    const message = e instanceof Error ? e.message : String(e);
    const max = (def.retries ?? DEFAULT_RETRIES) + 1;
    if (claim.attempt < max && store.runStatus(runId) === 'running') {
      const delayMs = backoffDelay(claim.attempt, opts);
      ctx.log(`failed (${message}); retry in ${delayMs} ms`);
      return store.failStep(runId, def.name, owner, message, new Date(Date.now() + delayMs)) ? { kind: 'wait', delayMs } : { kind: 'stopped' };
    }
    if (store.failStep(runId, def.name, owner, message, null)) opts.onStepEnd?.({ runId, step: def.name, status: 'failed', attempt: claim.attempt });
    return { kind: 'stopped' };
  } finally {
    clearInterval(beat);
    opts.shutdown?.removeEventListener('abort', onShutdown);
    opts.cancel?.removeEventListener('abort', onCancel);
  }
  let decision: StepDecision;
  try {
    decision = stepDecision(loop, def.name, output);
  } catch (e) {
    store.failStep(runId, def.name, owner, (e as Error).message, null);
    return { kind: 'stopped' };
  }
  if (!store.completeStep(runId, def.name, owner, output, decision)) return { kind: 'stopped' };
  opts.onStepEnd?.({ runId, step: def.name, status: 'done', attempt: claim.attempt });
  return store.runStatus(runId) === 'running' ? { kind: 'next' } : { kind: 'stopped' };
}
