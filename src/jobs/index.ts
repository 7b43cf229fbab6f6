/** Single heavy jobs on the queue (embedding spaces trained by `kiln worker`s). */
export { JobQueue, JobWorker, JOB_ATTEMPTS, newJobId, type EmbeddingTrainJob, type JobResult, type JobSpec, type JobStatus, type JobWorkerOptions } from './queue.js';
