/**
 * The loop runner's public shapes: a loop is an ordered list of steps; a run of it is persisted step by
 * step (LoopStore) and driven by a LoopRunner, in this process or on BullMQ workers. A step's output is
 * JSON; an object output with `goto: '<later step>'` jumps forward (the steps between are 'skipped'),
 * with `end: '<outcome>'` ends the run as succeeded with that outcome (the rest 'skipped').
 */

export interface StepContext {
  readonly runId: string;
  readonly loop: string;
  /** 1 on the first try of this step, 2 on the first retry (or the first re-run after a crash), ... */
  readonly attempt: number;
  /** The run's input, as submitted. */
  readonly input: Readonly<Record<string, unknown>>;
  /** Outputs of the steps done so far, by step name (skipped steps are absent). */
  readonly outputs: Readonly<Record<string, unknown>>;
  /** Aborted when the run is cancelled or the runner closes; a long step should stop early. */
  readonly signal: AbortSignal;
  log(line: string): void;
}

export interface StepDef {
  readonly name: string;
  /** Must be idempotent: after a crash it runs again from the start (see docs/loop.md). Returns JSON. */
  run(ctx: StepContext): Promise<unknown>;
  /** Retries after the first attempt (default 3); a crash mid-step counts as an attempt. */
  readonly retries?: number;
}

export interface LoopDef {
  readonly name: string;
  readonly steps: readonly StepDef[];
}

export type RunStatus = 'pending' | 'running' | 'succeeded' | 'failed' | 'cancelled';
export type StepStatus = 'pending' | 'running' | 'done' | 'failed' | 'skipped';

export interface RunTrigger {
  kind: string;
  detail?: unknown;
  /** When this trigger reached the run (ISO UTC). */
  at: string;
}

export interface StepRecord {
  name: string;
  status: StepStatus;
  attempts: number;
  output: unknown;
  error: string | null;
  startedAt: string | null;
  endedAt: string | null;
  /** host:pid of the process that ran (or runs) the step. */
  owner: string | null;
}

export interface LoopRunRecord {
  id: string;
  loop: string;
  status: RunStatus;
  /** The trigger that created the run. */
  trigger: RunTrigger;
  /** Every trigger, the first included: later ones were coalesced into this run. */
  triggers: RunTrigger[];
  input: Record<string, unknown>;
  steps: StepRecord[];
  createdAt: string;
  startedAt: string | null;
  endedAt: string | null;
  error: string | null;
  /** How a succeeded run ended: the `end` of the step that ended it, else 'completed'. */
  outcome: string | null;
  /** 'in-process' or 'bullmq:<prefix>': who drives the run. */
  runner: string;
}

export interface SubmitOptions {
  /** Return the id of a pending or running run of the same loop (adding this trigger to it) instead of starting a second. */
  coalesce?: boolean;
}

/** What both runners do; the contract suite (test/loop/runner-contract.ts) holds them to it. */
export interface LoopRunner {
  submit(loop: string, input: Record<string, unknown>, trigger: { kind: string; detail?: unknown }, opts?: SubmitOptions): Promise<string>;
  /** Waits for the run to end (driving it here when this runner executes steps itself) and returns it. */
  runToEnd(id: string, opts?: { timeoutMs?: number }): Promise<LoopRunRecord>;
  /** Takes over the runs left pending or running by a dead owner; returns their ids. */
  resume(): Promise<string[]>;
  /** Cancels a pending or running run: its current step's signal is aborted and no further step starts. */
  cancel(id: string, reason?: string): Promise<boolean>;
  close(): Promise<void>;
}

export interface BackoffOptions {
  /** Delay before the first retry, doubled for each further one (default 1000 ms). */
  backoffBaseMs?: number;
  /** The longest delay between tries (default 60000 ms). */
  backoffMaxMs?: number;
}
