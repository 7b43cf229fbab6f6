/**
 * The jobs on the queue: single heavy jobs run by `kiln worker` (embedding spaces: queue.ts), and, with
 * backfills and hyperparameter searches, listed, shown and cancelled together (`kiln jobs`, the UI's Jobs
 * screen: jobs.ts).
 */
export { JobQueue, JobWorker, JOB_ATTEMPTS, newJobId, type EmbeddingTrainJob, type JobResult, type JobSpec, type QueuedJobStatus, type JobWorkerOptions } from './queue.js';
export {
  JobQueues, jobKind, redisOptions, plannedTrials, backfillSummary, searchSummary, singleSummary, summaryOf, cancellable,
  type CancelResult, type JobKind, type JobStatus, type JobSummary,
} from './jobs.js';
