/** The durable step runner of the retrain-evaluate-promote loop: state in meta.sqlite, steps in process or on BullMQ workers. */
export type { BackoffOptions, LoopDef, LoopRunner, LoopRunRecord, RunStatus, RunTrigger, StepContext, StepDef, StepRecord, StepStatus, SubmitOptions } from './types.js';
export { LoopStore, ownerIsDead, thisOwner, type StepClaim, type StepDecision } from './store.js';
export { backoffDelay, checkLoopDef, stepDecision, DEFAULT_BACKOFF_BASE_MS, DEFAULT_BACKOFF_MAX_MS, DEFAULT_RETRIES } from './execute.js';
export { InProcessRunner, IN_PROCESS, type InProcessRunnerOptions } from './in-process.js';
export { BullMqRunner, LoopWorker, DEFAULT_PREFIX, type BullMqOptions, type LoopWorkerOptions } from './bullmq.js';
export { registerLoop, registeredLoops, loadLoopsModule } from './registry.js';
