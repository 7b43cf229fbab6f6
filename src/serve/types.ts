/**
 * The contracts between the parts of `kiln serve`: the models being served (`models/`), the decision
 * log (`decisions/`), the request path (`http/`) and batch scoring (`batch.ts`). Each part implements or
 * uses these types only, so that one can change without the others.
 */
import type { ShapThread } from './shap-thread.js';
import type { ReasonCode } from '../eval/index.js';
import type { EmbeddingFiller, FusedModel, ModelBundle, SequenceModel } from '../pipelines/index.js';
import type { ModelVersion } from '../registry/index.js';
import type { OnnxScorer, OnnxSmoke } from './onnx.js';

/** A feature value as scored and as recorded: null is missing; a categorical input is its text. */
export type FeatureValue = number | string | boolean | null;

/** One event of a lastK value, as the online store gives it: `{ ts, <field>: value, ... }`. */
export type SequenceEvent = Readonly<Record<string, FeatureValue>>;
/** A lastK value: its events, oldest first (`[]` without history). */
export type SequenceValue = readonly SequenceEvent[];
/** An input value as scored and recorded: a scalar, or the event list of a sequence input. */
export type InputValue = FeatureValue | SequenceValue;

/** What every loaded version has, whatever its kind. */
interface LiveVersionBase {
  /** Model name ('credit'). */
  readonly name: string;
  /** Version number. */
  readonly version: number;
  /** The reference it was resolved from ('credit@champion', 'credit@3'). */
  readonly ref: string;
  /** The registry's record of the version (signature, run id, artifact path...). */
  readonly info: ModelVersion;
  /** ISO time it was loaded. */
  readonly loadedAt: string;
}

/** A GBDT version (`kiln.model@1` bundle): trees, calibrator, points, TreeSHAP reasons. */
export interface GbdtLiveVersion extends LiveVersionBase {
  readonly kind: 'gbdt';
  readonly bundle: ModelBundle;
  /**
   * Embedding spaces the trees read (model spec `embeddings`), opened at the versions the model was
   * trained with: requests give the entity id or the lastK input, and the filler makes the columns.
   */
  readonly embeddings?: EmbeddingFiller;
  /** Its TreeSHAP thread (a served version's reasons off the event loop), when it has one. */
  readonly shap?: ShapThread;
}

/**
 * A sequence version (`kiln.sequence-model@1` bundle): a network over the lastK feature `input` (and the
 * scalar features of a joint model). Its `model` owns one arena: scoring is synchronous, one row at a time.
 */
export interface SequenceLiveVersion extends LiveVersionBase {
  readonly kind: 'sequence';
  readonly model: SequenceModel;
  /** The lastK input (the signature's SEQUENCE feature). */
  readonly input: string;
}

/**
 * A fused version (`sequence.register: 'gbdt'`): a `kiln.model@1` bundle with an `encoder`. Requests carry
 * (or the online store gives) the lastK feature `input`; the encoder embeds it as of the row's as-of time
 * into the embedding columns, which are not online features, then the trees score as for a GBDT.
 */
export interface FusedLiveVersion extends LiveVersionBase {
  readonly kind: 'fused';
  readonly bundle: ModelBundle;
  readonly fused: FusedModel;
  /** The lastK input the encoder reads. */
  readonly input: string;
}

/**
 * An imported ONNX version (`kiln.onnx-model@1`): scored through onnxruntime, asynchronously. Its scorer
 * owns the session (released when the version is swapped out, reopened if a request still needs it).
 */
export interface OnnxLiveVersion extends LiveVersionBase {
  readonly kind: 'onnx';
  readonly scorer: OnnxScorer;
  /** The lastK input (the signature's SEQUENCE feature). */
  readonly input: string;
  /** The synthetic smoke rows scored at load (`openLiveVersion`); null when loaded without them (`loadLiveVersion`). */
  readonly smoke: OnnxSmoke | null;
}

/** One registered model version, loaded and checked, ready to score. Immutable once built. */
export type LiveVersion = GbdtLiveVersion | SequenceLiveVersion | FusedLiveVersion | OnnxLiveVersion;

/** How a challenger takes part: scored beside the primary and only logged, or serving a share of entities. */
export type ChallengerMode = 'shadow' | 'canary';

/** A challenger as configured (config `serve.traffic`, or the admin route). */
export interface TrafficSpec {
  /** Reference of the challenger version: 'credit@challenger', 'credit@7'. Must be the same model name. */
  readonly challenger: string;
  readonly mode: ChallengerMode;
  /** canary only: share of entities (0 < share < 1) the challenger decides, sticky by entity id hash. */
  readonly share?: number;
}

/**
 * What serves one model name now. A route is immutable: any change (alias move, traffic change) builds
 * a new route and swaps it in with one assignment, so a request holds one consistent route throughout.
 */
export interface ModelRoute {
  readonly name: string;
  /** The version the alias (or pinned version) points at: it decides every request not sent to the canary. */
  readonly primary: LiveVersion;
  readonly challenger: { readonly live: LiveVersion; readonly mode: ChallengerMode; readonly share: number } | null;
}

/** Model events, for metrics and logs. */
export type ModelEvent =
  | { readonly kind: 'load'; readonly name: string; readonly ref: string; readonly version: number; readonly ms: number }
  | { readonly kind: 'swap'; readonly name: string; readonly ref: string; readonly from: number; readonly to: number; readonly ms: number }
  | { readonly kind: 'load_failed' | 'swap_failed'; readonly name: string; readonly ref: string; readonly version: number | null; readonly error: string }
  | { readonly kind: 'traffic'; readonly name: string; readonly traffic: TrafficSpec | null };

/** State of one served model, for `/readyz` and `GET /v1/models`. */
export interface ModelStatus {
  readonly name: string;
  /** The reference served ('credit@champion'). */
  readonly ref: string;
  readonly state: 'loading' | 'ready' | 'failed';
  readonly version: number | null;
  readonly aliases: readonly string[];
  readonly challenger: { readonly ref: string; readonly version: number; readonly mode: ChallengerMode; readonly share: number } | null;
  /** The last failed load or swap (the old version kept serving), if any since start. */
  readonly lastError: { readonly time: string; readonly version: number | null; readonly message: string } | null;
  readonly lastSwapAt: string | null;
  /** What went live with a reservation (a version with no smoke sample: its scores were not re-checked). */
  readonly warnings?: readonly string[];
}

/** The models a server serves. `route` is on the request path: synchronous and O(1). */
export interface ModelSet {
  route(name: string): ModelRoute | undefined;
  names(): string[];
  /** Ready once every configured model has a live version. */
  ready(): boolean;
  status(): ModelStatus[];
  /** Checks the registry for alias moves now (the set also does it on its own, every `pollMs`). */
  refresh(): Promise<void>;
  /** Sets (or with null removes) the challenger of a model; validates it before it takes traffic. */
  setTraffic(name: string, traffic: TrafficSpec | null, opts: { readonly actor?: string; readonly reason: string }): Promise<ModelRoute>;
  /** Registers a listener of model events; returns a function that removes it. */
  onEvent(listener: (e: ModelEvent) => void): () => void;
  close(): Promise<void>;
}

/** The scores of one version for one row. */
export interface VersionScore {
  readonly model: string;
  readonly version: number;
  /** The model's probability of default (before calibration): what the cutoff, the points and the reasons use. */
  readonly raw: number;
  /** After calibration; null when the version has no calibrator. */
  readonly calibrated: number | null;
  readonly points: number;
  readonly declined: boolean;
}

/** One decision: what `GET /v1/decisions/:id` returns and what the decision log holds, one per line. */
export interface DecisionRecord {
  /** Time-ordered unique id (`newDecisionId`). */
  readonly id: string;
  /** ISO time the decision was made. */
  readonly time: string;
  readonly model: string;
  /** The version that decided. */
  readonly version: number;
  /** 'primary', or 'canary' when the canary challenger decided. */
  readonly decidedBy: 'primary' | 'canary';
  /** Entity id when scored by id; null for a full feature row. */
  readonly entityId: string | null;
  /** The as-of time features were read at (ISO); null for a full feature row. */
  readonly asOf: string | null;
  /** The request's row as received (entity id and options, or the feature row). */
  readonly request: unknown;
  /** The feature values as used, by input name (a sequence input: its event list). */
  readonly features: Readonly<Record<string, InputValue>>;
  readonly score: VersionScore;
  /** A sequence model's other heads (a binary task's probability, a next-event task's class probabilities); absent otherwise. */
  readonly tasks?: Readonly<Record<string, number | Readonly<Record<string, number>>>>;
  /** Adverse-action reasons when asked for or declined; null otherwise. A sequence model gives none (an empty list). */
  readonly reasons: readonly ReasonCode[] | null;
  /** Versions scored beside it and not returned (shadow challenger; the primary when a canary decided). */
  readonly shadow: readonly VersionScore[];
  /** Server time from request received to decision made (ms), before logging. */
  readonly latencyMs: number;
}

/** `durable`: a decision is acknowledged only once its record is on disk. `buffered`: flushed at least every `flushMs`. */
export type Durability = 'durable' | 'buffered';

export interface DecisionLogStats {
  /** Records accepted and not yet on disk. */
  readonly queued: number;
  /** Records on disk since open. */
  readonly committed: number;
  /** Group commits (write + fsync) since open. */
  readonly commits: number;
  /** Duration of the last commit (ms). */
  readonly lastCommitMs: number;
  /** Age of the oldest record not yet on disk (ms); 0 when none. */
  readonly lagMs: number;
  /** Commits that failed since open. */
  readonly failures: number;
}

/** The writer of the decision log (one per server process). */
export interface DecisionWriter {
  /**
   * Queues records. `durable`: resolves once they are written and fsynced (records of concurrent calls
   * share one write and one fsync). `buffered`: resolves at once; a crash loses at most `flushMs`.
   * Rejects (DECISION_LOG_INVALID) when the log cannot be written.
   */
  append(records: readonly DecisionRecord[]): Promise<void>;
  stats(): DecisionLogStats;
  /** The record with this id: from the queue if not yet written, else from disk. DECISION_NOT_FOUND if none. */
  get(id: string): Promise<DecisionRecord>;
  /** Writes and fsyncs everything queued. */
  flush(): Promise<void>;
  /** Flushes, then closes; later appends reject. */
  close(): Promise<void>;
}
