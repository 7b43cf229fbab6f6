import { z } from 'zod';
import { isRedisUrl } from './redis-url.js';
import { ModelSpecSchema } from './model-spec.js';
import { EmbeddingSpaceSpecSchema } from './embedding-spec.js';
import { RecommenderSpecSchema } from './recs-spec.js';
import { SearchIndexSpecSchema } from './search-spec.js';
import { StreamSpecSchema } from './stream-spec.js';

/** Column types a table schema may declare, with their DuckDB storage types. */
export const COLUMN_TYPES = {
  boolean: 'BOOLEAN',
  integer: 'INTEGER',
  bigint: 'BIGINT',
  double: 'DOUBLE',
  varchar: 'VARCHAR',
  timestamp: 'TIMESTAMP',
  date: 'DATE',
} as const;
export type ColumnType = keyof typeof COLUMN_TYPES;
const columnTypeNames = Object.keys(COLUMN_TYPES) as [ColumnType, ...ColumnType[]];

export const ColumnTypeSchema = z.enum(columnTypeNames);

export const ColumnSpecSchema = z.union([
  ColumnTypeSchema,
  z.strictObject({
    type: ColumnTypeSchema,
    /** A missing column in an input file is an error unless `required: false` (it then loads as NULL). */
    required: z.boolean().default(true),
    /** NULL values are rejected when `nullable: false`. */
    nullable: z.boolean().default(true),
    description: z.string().optional(),
    /**
     * For `date` and `timestamp` columns not in ISO 8601: a DuckDB strptime format (`'%y%m%d'`, `'%d/%m/%Y'`,
     * `'%b-%Y'`), or `'epoch_s'` / `'epoch_ms'` for Unix seconds / milliseconds. Values are parsed exactly.
     */
    format: z.string().min(1).optional(),
  }).refine((c) => c.format === undefined || c.type === 'date' || c.type === 'timestamp', { message: "format applies only to columns of type 'date' or 'timestamp'", path: ['format'] }),
]);
export type ColumnSpecInput = z.input<typeof ColumnSpecSchema>;

import { FILE_FORMATS } from './formats/index.js';

export { DEFAULT_NULL_VALUES, FILE_FORMATS, type FileFormat } from './formats/index.js';

export const TableSpecSchema = z.strictObject({
  description: z.string().optional(),
  /** Event-time column: parsed as a UTC timestamp, never NULL. */
  timestamp: z.string().min(1).optional(),
  /** Primary key: must be present, non-NULL and unique across the whole table. */
  key: z.string().min(1).optional(),
  format: z.enum(FILE_FORMATS).optional(),
  /** Declared columns; when given, input must match them (see `allowExtraColumns`). */
  columns: z.record(z.string().min(1), ColumnSpecSchema).optional(),
  /** With declared columns, whether input columns that are not declared are loaded (true) or rejected. */
  allowExtraColumns: z.boolean().default(false),
  /** CSV: values that load as NULL in every column (default DEFAULT_NULL_VALUES; empty fields are always NULL). */
  nullValues: z.array(z.string()).optional(),
  /** CSV: the field delimiter, when it is not one of , ; tab | (detected from the header line). */
  delimiter: z.string().refine((d) => d.length === 1 || d === 'tab', "expected one character, or 'tab'").optional(),
  /** CSV: name under which R's row-name column (an empty first header field) is kept; by default it is dropped. */
  rowNames: z.string().min(1).optional(),
});
export type TableSpecInput = z.input<typeof TableSpecSchema>;
export type TableSpec = z.output<typeof TableSpecSchema>;

/** The online store backends, by name (`src/online` implements them). */
export const ONLINE_BACKEND_NAMES = ['embedded', 'redis'] as const;
export type OnlineBackendName = (typeof ONLINE_BACKEND_NAMES)[number];


const wholeNumber = (min: number) => z.number().refine((n) => Number.isInteger(n) && n >= min, `expected a whole number >= ${min}`);

/**
 * The online feature store (`kiln online`, `openOnlineStore`). An option given to `openOnlineStore` (or a
 * CLI flag) wins, then $KILN_ONLINE_BACKEND / $KILN_REDIS_URL, then these, then the built-in defaults.
 */
export const OnlineSpecSchema = z.strictObject({
  /** 'embedded' (in process, SQLite under `dataDir`) or 'redis' (shared by every process that serves). */
  backend: z.enum(ONLINE_BACKEND_NAMES).default('embedded'),
  /** Redis only: where it is, a redis:// or rediss:// (TLS) URL. Default redis://127.0.0.1:6379. */
  redisUrl: z.string().refine(isRedisUrl, 'expected a redis:// or rediss:// URL, e.g. redis://127.0.0.1:6379').optional(),
  /** Redis only: prepended to every key, so projects sharing a Redis do not collide. Default `kiln:<name>:`. */
  keyPrefix: z.string().min(1, 'expected a non-empty key prefix, e.g. kiln:prod:').optional(),
  /** Raw events are kept this long beyond the longest window, for exact reads slightly in the past. Default one day. */
  retentionMarginMs: z.number().min(0, 'expected a number of milliseconds >= 0').optional(),
  /** Series whose partial aggregates each process caches; 0 turns the cache off. Default 10,000. */
  cacheSeries: wholeNumber(0).optional(),
  /** On-time events a day needs before its tile holds aggregator states (sparser days keep a count). Default 4. */
  denseDay: wholeNumber(1).optional(),
  /** Embedded only: series held in memory; the least recently used past it are flushed and dropped (reloaded from SQLite when used). Default 10,000. */
  maxSeriesInMemory: wholeNumber(1).optional(),
  /** What the store serves by default: a feature set or feature names. Default: what was materialised last, else every feature. */
  features: z.union([z.string().min(1, 'expected a feature set or feature name'), z.array(z.string().min(1)).min(1, 'expected a non-empty list of feature names')]).optional(),
});
export type OnlineSpecInput = z.input<typeof OnlineSpecSchema>;
export type OnlineSpec = z.output<typeof OnlineSpecSchema>;

/** API key scopes: `score` (predict, explain, features, decisions), `write` (push events), `admin` (traffic changes). */
export const API_KEY_SCOPES = ['score', 'write', 'admin'] as const;
export type ApiKeyScope = (typeof API_KEY_SCOPES)[number];

/**
 * `kiln serve` (docs/serving.md). A CLI flag wins, then $KILN_SERVE_PORT / $KILN_SERVE_HOST /
 * $KILN_SERVE_MODELS / $KILN_SERVE_EMBEDDINGS / $KILN_DECISION_DURABILITY / $KILN_API_KEYS, then these, then the defaults.
 */
export const ServeSpecSchema = z.strictObject({
  /** TCP port. Default 8080. */
  port: z.number().int('expected a whole number').min(0, 'expected a port 0..65535').max(65535, 'expected a port 0..65535').optional(),
  /** Interface to bind. Default 127.0.0.1; a non-loopback host needs API keys. */
  host: z.string().min(1, 'expected a host name or address, e.g. 127.0.0.1').optional(),
  /** Model references to serve: 'credit@champion', 'fraud@3'. */
  models: z.array(z.string().regex(/^[A-Za-z][A-Za-z0-9_.-]*(@[A-Za-z0-9_.-]+)?$/, "expected a model reference like 'credit@champion' or 'credit@3'")).optional(),
  /** Embedding space references to serve: 'merchants@current', 'titles@2'. Default: every trained space at 'current' (else its latest version); [] serves none. */
  embeddings: z.array(z.string().regex(/^[A-Za-z][A-Za-z0-9_]*(@[A-Za-z0-9_-]+)?$/, "expected an embedding space reference like 'merchants@current' or 'merchants@3'")).optional(),
  /** 'durable': answer once the decision is fsynced (default); 'buffered': flushed every `flushMs`. */
  durability: z.enum(['durable', 'buffered']).optional(),
  /** Buffered decision log: longest time between flushes (ms). Default 50. */
  flushMs: wholeNumber(1).optional(),
  /** Largest request body (bytes). Default 1 MiB. */
  bodyLimit: wholeNumber(1024).optional(),
  /** Most rows in one predict/explain/features request. Default 1,000. */
  maxBatch: wholeNumber(1).optional(),
  /** How often the registry is checked for alias moves (ms). Default 5,000. */
  pollMs: wholeNumber(100).optional(),
  /** TreeSHAP (reason codes, /explain) of each served GBDT version on a worker thread of its own (default true); false: on the event loop. */
  shapThread: z.boolean().optional(),
  /** API keys, stored hashed: `kiln serve keygen --scopes score` prints an entry. */
  apiKeys: z.array(z.strictObject({
    name: z.string().min(1, 'expected a name for the key (who holds it)'),
    hash: z.string().regex(/^sha256:[0-9a-f]{64}$/, "expected 'sha256:' and 64 hex digits (kiln serve keygen prints it)"),
    scopes: z.array(z.enum(API_KEY_SCOPES)).min(1, 'expected at least one scope: score, write or admin'),
  })).optional(),
  /** Challengers by model name: scored beside the primary (shadow) or deciding a share of entities (canary). */
  traffic: z.record(z.string().min(1), z.strictObject({
    challenger: z.string().min(1, "expected a model reference like 'credit@challenger'"),
    mode: z.enum(['shadow', 'canary']),
    share: z.number().gt(0, 'expected a share between 0 and 1').lt(1, 'expected a share between 0 and 1').optional(),
  }).refine((t) => (t.mode === 'canary') === (t.share !== undefined), { message: 'a canary takes a share (0 < share < 1); a shadow takes none', path: ['share'] })).optional(),
});
export type ServeSpecInput = z.input<typeof ServeSpecSchema>;
export type ServeSpec = z.output<typeof ServeSpecSchema>;

/** Monitoring (docs/monitoring.md): window size of `kiln monitor status` and the alert thresholds. */
export const MonitorSpecSchema = z.strictObject({
  window: z.enum(['day', 'week', 'month']).optional(),
  thresholds: z.strictObject({
    scorePsiWarning: z.number().positive().optional(),
    scorePsiCritical: z.number().positive().optional(),
    csiWarning: z.number().positive().optional(),
    csiCritical: z.number().positive().optional(),
    outOfRange: z.number().gt(0).max(1).optional(),
    newCategoryRate: z.number().gt(0).max(1).optional(),
  }).optional(),
  /** Per model, where its outcomes are (default: the model's spine table, key, time, label and label.availableAt). */
  outcomes: z.record(z.string().min(1), z.strictObject({
    table: z.string().min(1).optional(),
    key: z.string().min(1).optional(),
    time: z.string().min(1).optional(),
    label: z.string().min(1).optional(),
    availableAt: z.string().min(1).optional(),
    /** Time of the bad event (e.g. defaulted_at), for the vintage curves; read only where the label is 1. */
    badAt: z.string().min(1).optional(),
    /** An outcome belongs to the latest decision of its entity at most this many days before it (default 90). */
    maxLagDays: z.number().positive().optional(),
  })).optional(),
});
export type MonitorSpec = z.output<typeof MonitorSpecSchema>;

const months = (what: string) => z.number().int('expected a whole number of months').min(0, `expected ${what} >= 0`);

/**
 * The continuous-learning loop of one model (docs/loop.md): rolling training windows that end where
 * labels have matured, an optional faster-maturing label, the gates and the triggers (checked when the
 * loop loads them: src/loop/gates and src/loop/triggers own their schemas).
 */
export const LoopModelSpecSchema = z.strictObject({
  /** The alias that serves (moved on promotion); default 'champion'. */
  alias: z.string().min(1).optional(),
  windows: z.strictObject({
    /** Months of training rows before the validation window (default: everything before it). */
    trainMonths: months('trainMonths').optional(),
    validMonths: months('validMonths').default(3),
    testMonths: months('testMonths').default(3),
    /** Months after funding until the label is mature: the test window ends this far before now. */
    maturityMonths: months('maturityMonths').default(12),
  }).default({ validMonths: 3, testMonths: 3, maturityMonths: 12 }),
  /** Train on another label (e.g. a proxy that matures sooner): its spine table, key, time and label. */
  label: z.strictObject({
    table: z.string().min(1),
    key: z.string().min(1).optional(),
    timestamp: z.string().min(1).optional(),
    column: z.string().min(1),
    availableAt: z.string().min(1).optional(),
    positive: z.array(z.union([z.string(), z.number(), z.boolean()])).min(1).optional(),
  }).optional(),
  /** Promotion gates: { metrics: [{ metric: 'auc', maxDrop: 0.01 }, ...], slices, minSliceRows, maxInputDriftPsi, action }. */
  gates: z.unknown().optional(),
  /** Triggers: { schedule: '0 6 1 * *', onDrift, onMaturedLabels, cooldown: '30d' }. */
  triggers: z.unknown().optional(),
  /** Days of recent decisions for the swap set and the challenger's input drift (default 90). */
  recentDays: z.number().positive().optional(),
  /** Named alternatives for `kiln loop backtest --policy NAME`: triggers, gates, windows or label over these. */
  policies: z.record(z.string().min(1), z.strictObject({
    windows: z.strictObject({
      trainMonths: months('trainMonths').optional(), validMonths: months('validMonths').optional(),
      testMonths: months('testMonths').optional(), maturityMonths: months('maturityMonths').optional(),
    }).optional(),
    label: z.strictObject({
      table: z.string().min(1), key: z.string().min(1).optional(), timestamp: z.string().min(1).optional(), column: z.string().min(1),
      availableAt: z.string().min(1).optional(), positive: z.array(z.union([z.string(), z.number(), z.boolean()])).min(1).optional(),
    }).optional(),
    gates: z.unknown().optional(),
    triggers: z.unknown().optional(),
  })).optional(),
});
export type LoopModelSpec = z.output<typeof LoopModelSpecSchema>;

export const KilnConfigSchema = z.strictObject({
  name: z.string().min(1).regex(/^[A-Za-z0-9_.-]+$/, 'letters, digits, ".", "_" or "-"'),
  description: z.string().optional(),
  /** Where kiln keeps its data, relative to the config file. */
  dataDir: z.string().min(1).default('.kiln'),
  tables: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'a SQL identifier: letters, digits and _, not starting with a digit'), TableSpecSchema).default({}),
  /**
   * Feature definitions built with kiln's feature DSL (entities, sources, features, feature sets). They
   * are plain frozen specs; the features module validates them when it loads them.
   */
  features: z.array(z.unknown()).default([]),
  /** Models trained by `kiln train NAME`. */
  models: z.record(z.string().regex(/^[A-Za-z][A-Za-z0-9_.-]*$/, "letters, digits, '.', '_' or '-', starting with a letter"), ModelSpecSchema).default({}),
  /**
   * Where the registry, tracking, audit logs, loop state, alerts and decision records live when several
   * machines share them: a PostgreSQL URL (and a schema, default `kiln`). Absent: the embedded
   * meta.sqlite. `KILN_DATABASE_URL` (and `KILN_DATABASE_SCHEMA`) override it. See docs/scale.md.
   */
  metadata: z
    .object({
      url: z.string().min(1).describe('postgres://user@host:5432/database'),
      schema: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,62}$/, "letters, digits and '_', starting with a letter or '_' (at most 63)").optional(),
    })
    .strict()
    .optional(),
  /** The online feature store's backend and tuning (see docs/online.md); optional, every field has a default. */
  online: OnlineSpecSchema.optional(),
  /** `kiln serve`: port, host, models, decision log, limits, API keys, traffic (see docs/serving.md). */
  serve: ServeSpecSchema.optional(),
  /** `kiln monitor`: windows and alert thresholds (see docs/monitoring.md). */
  monitor: MonitorSpecSchema.optional(),
  /** The retrain-evaluate-promote loop, per model (see docs/loop.md). */
  loop: z.record(z.string().min(1), LoopModelSpecSchema).optional(),
  /** Embedding spaces trained by `kiln embeddings train NAME` (see docs/embeddings.md). */
  embeddings: z.record(z.string().regex(/^[A-Za-z][A-Za-z0-9_]*$/, "letters, digits and '_', starting with a letter"), EmbeddingSpaceSpecSchema).default({}),
  /** Search indexes built by `kiln search build NAME` (see docs/search.md). */
  search: z.record(z.string().regex(/^[A-Za-z][A-Za-z0-9_]*$/, "letters, digits and '_', starting with a letter"), SearchIndexSpecSchema).default({}),
  /** Streams of events consumed into the online and offline stores by `kiln stream consume NAME` (see docs/stream.md). */
  streams: z.record(z.string().regex(/^[A-Za-z][A-Za-z0-9_-]*$/, "letters, digits, '_' or '-', starting with a letter"), StreamSpecSchema).optional(),
  /** Recommenders trained by `kiln recs train NAME` and served at POST /v1/recommend/:name (see docs/recommendations.md). */
  recommenders: z.record(z.string().regex(/^[A-Za-z][A-Za-z0-9_]*$/, "letters, digits and '_', starting with a letter"), RecommenderSpecSchema).default({}),
});

export type KilnConfigInput = z.input<typeof KilnConfigSchema>;
export type KilnConfig = z.output<typeof KilnConfigSchema>;

/** Normalised column declaration. */
export interface ColumnDecl {
  name: string;
  type: ColumnType;
  required: boolean;
  nullable: boolean;
  /** Parse format of a date or timestamp column (strptime syntax, or epoch_s / epoch_ms). */
  format?: string;
}

export function columnDecls(spec: TableSpec): ColumnDecl[] | undefined {
  if (!spec.columns) return undefined;
  return Object.entries(spec.columns).map(([name, c]) =>
    typeof c === 'string'
      ? { name, type: c, required: true, nullable: true }
      : { name, type: c.type, required: c.required, nullable: c.nullable, ...(c.format !== undefined ? { format: c.format } : {}) },
  );
}
