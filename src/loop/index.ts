/** The retrain-evaluate-promote loop: the durable runner (runner/) and, beside it, the gates. */
export {
  BullMqRunner, DEFAULT_BACKOFF_BASE_MS, DEFAULT_BACKOFF_MAX_MS, DEFAULT_PREFIX, DEFAULT_RETRIES, IN_PROCESS, InProcessRunner, LoopStore, LoopWorker,
  backoffDelay, checkLoopDef, loadLoopsModule, ownerIsDead, registerLoop, registeredLoops, stepDecision, thisOwner,
  type BackoffOptions, type BullMqOptions, type InProcessRunnerOptions, type LoopDef, type LoopRunner, type LoopRunRecord, type LoopWorkerOptions,
  type RunStatus, type RunTrigger, type StepClaim, type StepContext, type StepDecision, type StepDef, type StepRecord, type StepStatus, type SubmitOptions,
} from './runner/index.js';
