import type { EventTimeBound } from '../features/training/index.js';

/** What a backfill computes, written to `backfill.json` in its folder and to Redis when it is enqueued. */
export interface BackfillSpec {
  id: string;
  /**
   * 'training-set': the features' rows; 'score': the model's scores (and reasons) of the spine's rows;
   * 'materialize': the online store's state (Redis) of the partition's entities, staged and committed
   * in one MULTI per partition.
   */
  kind: 'training-set' | 'score' | 'materialize';
  /** materialize: the Redis online store written, and the time its state is as of (ISO UTC). */
  online?: { redisUrl: string; prefix: string; asOf: string };
  /** score: the version scoring every partition, pinned when planned (name@version). */
  model?: string;
  /** score: reasons for declined rows (true) or every row ('all'). */
  reasons?: boolean | 'all';
  /** A feature set's name, or feature names. */
  features: string | string[];
  /** The spine table of the offline store, with its key and time columns as resolved when it was planned. */
  spine: { table: string; key: string; timestamp: string };
  partitions: number;
  /** The folder of the parts, the manifest, and the snapshot the workers read. */
  dir: string;
  /** The offline store as of planning, copied (sources and the partitioned spine): every part reads the same data. */
  snapshot: string;
  eventTimeBound: EventTimeBound;
  /**
   * The source tables copied into the snapshot (the features' sources). `partitioned`: keyed by the
   * entity, so split like the spine (a partition reads only its entities' rows); else copied whole.
   */
  sources: { table: string; partitioned: boolean }[];
  /** The project the workers open (its config defines the features; meta.sqlite knows the tables). */
  project: string;
  createdAt: string;
  /** Spine rows in each partition, as planned. */
  plannedRows: number[];
}

/** One job of the queue: one partition of one backfill. */
export interface PartitionJob {
  backfill: string;
  partition: number;
}

/** What a committed part recorded (in Redis, and in the manifest). */
export interface PartRecord {
  partition: number;
  file: string;
  rows: number;
  seconds: number;
  /** The worker that committed it: host:pid. */
  worker: string;
  /** BullMQ's attempt number of the job that committed it (1 = first try). */
  attempt: number;
  committedAt: string;
}

/** `_manifest.json`: written once every part is in, by rename (atomic). */
export interface BackfillManifest {
  format: 'kiln.backfill@1';
  id: string;
  kind: BackfillSpec['kind'];
  /** score: the version that scored every part. */
  model?: string;
  features: string | string[];
  spine: BackfillSpec['spine'];
  partitions: number;
  rows: number;
  parts: PartRecord[];
  completedAt: string;
}
