/** Hyperparameter search on the queue: trials run by `kiln worker`s, each a tracked run under one parent run, the best registered. */
export { parseSpace, sampleSpace, halvingRungs, type Dimension, type SearchSpace } from './space.js';
export { runTrial } from './trial.js';
export { TuneQueue, TrialWorker, TRIAL_ATTEMPTS, type TrialWorkerOptions, type TuneStatus } from './queue.js';
export { tuneModel, newTuneId, type TuneOptions, type TuneResult } from './search.js';
export type { TrialJob, TrialResult, TuneSpec } from './types.js';
