/** The jobs on the queue, backfills and hyperparameter searches together: list, status by id, cancel (`kiln jobs`, the UI's Jobs screen). */
export {
  JobQueues, jobKind, redisOptions, plannedTrials, backfillSummary, searchSummary, summaryOf, cancellable,
  type CancelResult, type JobKind, type JobStatus, type JobSummary,
} from './jobs.js';
