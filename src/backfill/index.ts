/** Feature backfills on a queue: a training set partitioned by entity hash, computed by `kiln worker` processes from BullMQ on Redis. */
export type { BackfillManifest, BackfillSpec, PartitionJob, PartRecord } from './types.js';
export { fnv1a, partitionOf, partFileName } from './partition.js';
export { planBackfill, newBackfillId, checkPartitions, MAX_PARTITIONS, type PlanOptions } from './plan.js';
export { runPartition, writeManifest, removeStaleTemps, workerName, type PartitionContext } from './work.js';
export {
  BackfillQueue, BackfillWorker, BACKFILL_PREFIX, BACKFILL_ATTEMPTS, readSpecFile, connectionOf, probeRedis,
  type BackfillStatus, type BackfillWorkerOptions, type PartState, type PartStatus, type RedisOptions,
} from './queue.js';
