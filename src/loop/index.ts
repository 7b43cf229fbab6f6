/**
 * The retrain-evaluate-promote loop (issue 14): the durable runner (runner/), the gates and the swap set
 * (gates/), triggers (triggers/) and kiln's own retrain loop (retrain/). See docs/loop.md.
 */
export {
  BullMqRunner, DEFAULT_BACKOFF_BASE_MS, DEFAULT_BACKOFF_MAX_MS, DEFAULT_PREFIX, DEFAULT_RETRIES, IN_PROCESS, InProcessRunner, LoopStore, LoopWorker,
  backoffDelay, checkLoopDef, loadLoopsModule, ownerIsDead, registerLoop, registeredLoops, stepDecision, thisOwner,
  type BackoffOptions, type BullMqOptions, type InProcessRunnerOptions, type LoopDef, type LoopRunner, type LoopRunRecord, type LoopWorkerOptions,
  type RunStatus, type RunTrigger, type StepClaim, type StepContext, type StepDecision, type StepDef, type StepRecord, type StepStatus, type SubmitOptions,
} from './runner/index.js';
export {
  compareModels, GATE_METRICS, GATE_METRIC_NAMES, GateSpecSchema, parseGateSpec, applyGates, evaluateChallenger, swapSet,
  type EvalSet, type MetricRow, type GateMetric, type GateSpec, type GateSpecInput, type GateRule, type GateResult, type GateDecision, type SwapSet, type SwapCell,
} from './gates/index.js';
export {
  parseCron, nextRun, cronTimes, cronMatches, TriggerSpecSchema, parseTriggerSpec, decideTrigger, pendingRunDue, triggerEvents, DRIFT_SEVERITIES,
  type Cron, type TriggerSpec, type TriggerSpecInput, type TriggerEvent, type TriggerState, type TriggerDecision, type TriggerSignals, type DriftSeverity,
} from './triggers/index.js';
export { tickLoop, type TickResult } from './retrain/index.js';
export { retrainLoop, retrainLoopName, DEFAULT_GATES, rollingSplit, challengerSpec, loopSpecOf, compareOnWindow, type RetrainInput, type RollingSplit, type Comparison } from './retrain/index.js';
export { backtestLoop, renderBacktestReport, FIXED_SCHEDULE, type BacktestOptions, type BacktestResult, type PolicyResult } from './simulate/index.js';
export { simulateLoop, loopSimOutcome, renderLoopSimReport, DEFAULT_SIM_TRIGGERS, RECOVERY_TARGET, type LoopSimOptions, type LoopSimResult, type LoopSimOutcome, type MonthRow, type CohortOutcome } from './simulate/index.js';
