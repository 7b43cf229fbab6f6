import { KilnError, type KilnErrorCode } from './errors.js';

/**
 * What a caller does with each error code: the HTTP status a server answers with, the exit code of the
 * CLI, and one line on what the code means. `satisfies Record<KilnErrorCode, ...>` makes the compiler
 * reject a code without an entry (and an entry without a code), so a new code cannot ship undecided.
 *
 * HTTP: 400 bad request (argument, flag, config), 404 the named thing is not there, 409 conflict with what
 * is stored, 422 the data is well-formed but unusable, 500 the installation or project is broken,
 * 503 busy or unavailable for now (retry), 499 interrupted by the client.
 * Exit codes follow sysexits(3): 64 usage, 65 data error, 66 no input, 69 unavailable, 70 internal
 * software error, 71 OS error, 72 system file missing, 73 cannot create, 74 I/O error, 75 temporary
 * failure (retry), 77 permission denied, 78 configuration error; 130 for an interrupt (SIGINT).
 * docs/errors.md lists the same table with the usual fix (test/core/error-codes.test.ts keeps it current).
 */
export const ERROR_CODES = {
  // Configuration and projects
  CONFIG_NOT_FOUND: { http: 404, exit: 78, summary: 'the project has no kiln.config.ts' },
  CONFIG_INVALID: { http: 400, exit: 78, summary: 'kiln.config.ts (or a model spec in it) breaks a rule' },
  CONFIG_LOAD_FAILED: { http: 400, exit: 78, summary: 'kiln.config.ts does not compile or throws when loaded' },
  PROJECT_NOT_FOUND: { http: 404, exit: 66, summary: 'no kiln project in the directory or its parents' },
  PROJECT_EXISTS: { http: 409, exit: 73, summary: 'a project already exists where one would be created' },
  PROJECT_READONLY: { http: 500, exit: 77, summary: 'kiln may not write in the project (permissions, read-only file system)' },
  // Command line and library arguments
  USAGE: { http: 400, exit: 64, summary: 'a command-line flag or argument is missing, conflicting or malformed' },
  INVALID_ARGUMENT: { http: 400, exit: 64, summary: 'a library function was called with an argument it does not take' },
  NAME_INVALID: { http: 400, exit: 64, summary: 'a name (model, alias, table, artifact) breaks the naming rules' },
  // Files
  FILE_NOT_FOUND: { http: 404, exit: 66, summary: 'a file kiln was given does not exist' },
  FILE_UNREADABLE: { http: 400, exit: 66, summary: 'a file kiln was given cannot be read (a directory, no permission)' },
  FILE_UNWRITABLE: { http: 400, exit: 73, summary: 'an output file cannot be written (no folder, no permission)' },
  FILE_INVALID: { http: 422, exit: 65, summary: 'a data file is not in the expected format or holds values kiln cannot read' },
  // Ingest
  INGEST_NO_FILES: { http: 404, exit: 66, summary: 'the files or globs to ingest match nothing' },
  INGEST_EMPTY_FILE: { http: 422, exit: 65, summary: 'a file to ingest has no rows' },
  INGEST_BAD_ROWS: { http: 422, exit: 65, summary: 'rows of a file do not fit the column types' },
  INGEST_MISSING_COLUMNS: { http: 422, exit: 65, summary: 'a file lacks a required or named column' },
  INGEST_UNKNOWN_COLUMNS: { http: 422, exit: 65, summary: 'a file has columns the table does not declare' },
  INGEST_DUPLICATE_KEYS: { http: 409, exit: 65, summary: 'key values repeat in the files or are already in the table' },
  INGEST_NULL_VALUES: { http: 422, exit: 65, summary: 'a required column holds missing values' },
  INGEST_SCHEMA_MISMATCH: { http: 422, exit: 65, summary: "a file's columns do not fit the table's schema" },
  INGEST_BAD_FORMAT: { http: 422, exit: 65, summary: 'a file cannot be read in its format (CSV, Parquet, NDJSON, gzip)' },
  INGEST_BAD_OPTION: { http: 400, exit: 64, summary: 'an ingest option is malformed or disagrees with the config or table' },
  // The offline store and the metadata store
  TABLE_NOT_FOUND: { http: 404, exit: 66, summary: 'a table is not in the offline store' },
  STORE_BUSY: { http: 503, exit: 75, summary: 'another kiln process holds the store; retry when it is done' },
  STORE_TOO_NEW: { http: 500, exit: 78, summary: 'a store was written by a newer kiln; upgrade kiln' },
  META_CORRUPT: { http: 500, exit: 74, summary: 'the metadata store (meta.sqlite) is damaged' },
  META_MISSING: { http: 500, exit: 72, summary: 'meta.sqlite is missing although the project has data' },
  // Features and training sets
  FEATURE_NOT_FOUND: { http: 404, exit: 66, summary: 'no feature or feature set by that name' },
  FEATURE_DEFINITION_INVALID: { http: 400, exit: 78, summary: 'feature definitions break a rule or do not match the offline store' },
  SPINE_INVALID: { http: 422, exit: 65, summary: 'the spine (entities and times to build rows for) is unusable' },
  // Registry and tracking
  MODEL_NOT_FOUND: { http: 404, exit: 66, summary: 'no model by that name (or its artifact is missing)' },
  VERSION_NOT_FOUND: { http: 404, exit: 66, summary: 'the model has no such version' },
  ALIAS_NOT_FOUND: { http: 404, exit: 66, summary: 'the model has no such alias' },
  RUN_NOT_FOUND: { http: 404, exit: 66, summary: 'no run by that id (or the id prefix is ambiguous)' },
  BACKFILL_NOT_FOUND: { http: 404, exit: 66, summary: 'no backfill by that id on the queue' },
  TUNE_NOT_FOUND: { http: 404, exit: 66, summary: 'no hyperparameter search by that id on the queue' },
  EMBEDDING_NOT_FOUND: { http: 404, exit: 66, summary: 'no trained embedding space by that name, or no vector for that entity' },
  EMBEDDING_VERSION_MISMATCH: { http: 409, exit: 65, summary: 'a model would read an embedding space version it was not trained with' },
  SEARCH_INDEX_NOT_FOUND: { http: 404, exit: 66, summary: 'no search index by that name, or it is not built yet' },
  RECOMMENDER_NOT_FOUND: { http: 404, exit: 66, summary: 'no recommender by that name, or it is not trained yet' },
  STREAM_NOT_FOUND: { http: 404, exit: 66, summary: "no stream by that name in the config's streams" },
  SIGNATURE_MISMATCH: { http: 422, exit: 65, summary: "the input does not fit the model version's signature" },
  // Training pipelines
  SPLIT_EMPTY: { http: 422, exit: 65, summary: 'a train/valid/test window has no (or too few) labelled rows' },
  LABEL_NOT_BINARY: { http: 422, exit: 65, summary: 'the label column is not 0/1 as declared' },
  MODEL_LEARNED_NOTHING: { http: 422, exit: 65, summary: 'the trained model is constant; it was not registered' },
  REASONS_MISSING: { http: 400, exit: 78, summary: 'adverse-action reasons lack a text in the model spec' },
  // GBDT engine and model files
  GBDT_PARAM_INVALID: { http: 400, exit: 64, summary: 'a GBDT parameter is unknown, out of range or inconsistent' },
  GBDT_DATA_INVALID: { http: 422, exit: 65, summary: 'features or labels given to train, predict or explain are unusable' },
  MODEL_FORMAT_INVALID: { http: 422, exit: 65, summary: 'a model file is not a readable kiln, XGBoost, LightGBM or ONNX model' },
  MODEL_FORMAT_TOO_NEW: { http: 422, exit: 65, summary: 'a model file was written by a newer kiln; upgrade kiln' },
  BUNDLE_INVALID: { http: 422, exit: 65, summary: 'a model bundle is damaged or incomplete' },
  BUNDLE_TOO_NEW: { http: 422, exit: 65, summary: 'a model bundle was written by a newer kiln; upgrade kiln' },
  // Evaluation
  METRIC_UNDEFINED: { http: 422, exit: 65, summary: 'a metric is undefined on this data (e.g. one class only)' },
  EVAL_INPUT_INVALID: { http: 422, exit: 65, summary: 'labels, scores or weights given to an evaluation are unusable' },
  // Online store
  ONLINE_UNAVAILABLE: { http: 503, exit: 69, summary: 'the online store (Redis) cannot be reached' },
  STREAM_UNAVAILABLE: { http: 503, exit: 69, summary: "a stream's broker (Redis, NATS) cannot be reached, or its JetStream stream does not exist" },
  DATABASE_UNAVAILABLE: { http: 503, exit: 69, summary: 'the PostgreSQL metadata database cannot be reached or refused kiln' },
  DATABASE_NOT_MIGRATED: { http: 503, exit: 78, summary: "the PostgreSQL metadata schema is older than this kiln; run 'kiln db migrate'" },
  FEATURE_NOT_SERVED: { http: 404, exit: 66, summary: 'the feature is not materialized in the online store' },
  ENTITY_UNKNOWN: { http: 404, exit: 66, summary: 'the online store has never seen the entity' },
  ASOF_OUT_OF_RANGE: { http: 422, exit: 65, summary: 'the as-of time is outside what the online store keeps' },
  EVENTS_INVALID: { http: 422, exit: 65, summary: 'pushed events are malformed or do not fit the source' },
  EVENT_KEY_CONFLICT: { http: 409, exit: 65, summary: 'an event key was already pushed with other values' },
  // Serving
  REQUEST_INVALID: { http: 400, exit: 64, summary: 'a request body, parameter or header does not fit its schema' },
  UNAUTHORIZED: { http: 401, exit: 77, summary: 'no API key, or an unknown one, was given' },
  FORBIDDEN: { http: 403, exit: 77, summary: 'the API key lacks the scope the route needs' },
  PAYLOAD_TOO_LARGE: { http: 413, exit: 65, summary: 'a request body or batch is past the server limits' },
  MODEL_NOT_SERVED: { http: 404, exit: 66, summary: 'the server does not serve the model named' },
  MODEL_VALIDATION_FAILED: { http: 422, exit: 65, summary: 'a model version failed its checks before going live; the old version keeps serving' },
  DECISION_NOT_FOUND: { http: 404, exit: 66, summary: 'no decision record has that id' },
  DECISION_LOG_INVALID: { http: 500, exit: 74, summary: 'the decision log is damaged or cannot be written' },
  NOT_READY: { http: 503, exit: 75, summary: 'the server is starting, draining or a configured model is not loaded' },
  // Embeddings
  EMBEDDING_PARAM_INVALID: { http: 400, exit: 64, summary: 'an embedding trainer option is out of range or inconsistent' },
  EMBEDDING_DATA_INVALID: { http: 422, exit: 65, summary: 'interactions, ids or features given to an embedding trainer or model are unusable' },
  // Search
  SEARCH_PARAM_INVALID: { http: 400, exit: 64, summary: 'a search index, fusion or re-ranking option is unknown or out of range' },
  SEARCH_DATA_INVALID: { http: 422, exit: 65, summary: 'documents, queries or relevance judgements given to search are unusable' },
  // Recommendations
  RECS_PARAM_INVALID: { http: 400, exit: 64, summary: 'a recommender option (generator, split, ranker, rule) is unknown, out of range or inconsistent' },
  RECS_DATA_INVALID: { http: 422, exit: 65, summary: 'interactions or user and item attributes given to a recommender are unusable' },
  // Simulator
  SIM_OPTION_INVALID: { http: 400, exit: 64, summary: 'a simulator option is unknown or out of range' },
  // Process
  RESOURCE_UNAVAILABLE: { http: 503, exit: 71, summary: 'the system refused a resource kiln needs (worker threads, the ONNX runtime)' },
  INTERRUPTED: { http: 499, exit: 130, summary: 'interrupted (Ctrl-C or an abort signal); nothing was changed' },
  INTERNAL: { http: 500, exit: 70, summary: 'a bug in kiln; please report it' },
} as const satisfies Record<KilnErrorCode, { http: number; exit: number; summary: string }>;

/** The HTTP status for an error: from the table for a KilnError, 500 for anything else (a bug). */
export function httpStatus(e: unknown): number {
  return e instanceof KilnError ? ERROR_CODES[e.code].http : 500;
}

/** The CLI exit code for an error: from the table for a KilnError, 70 (internal software error) otherwise. */
export function exitCode(e: unknown): number {
  return e instanceof KilnError ? ERROR_CODES[e.code].exit : 70;
}
