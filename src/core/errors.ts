/**
 * The one error class of kiln. `code` is from a closed set so callers switch on it; `message` says what
 * went wrong, where, and what to do next.
 */
export type KilnErrorCode =
  | 'CONFIG_NOT_FOUND'
  | 'CONFIG_INVALID'
  | 'CONFIG_LOAD_FAILED'
  | 'PROJECT_NOT_FOUND'
  | 'PROJECT_EXISTS'
  | 'INGEST_NO_FILES'
  | 'INGEST_EMPTY_FILE'
  | 'INGEST_BAD_ROWS'
  | 'INGEST_MISSING_COLUMNS'
  | 'INGEST_UNKNOWN_COLUMNS'
  | 'INGEST_DUPLICATE_KEYS'
  | 'INGEST_NULL_VALUES'
  | 'INGEST_SCHEMA_MISMATCH'
  | 'INGEST_BAD_FORMAT'
  | 'INGEST_BAD_OPTION'
  | 'TABLE_NOT_FOUND'
  | 'RUN_NOT_FOUND'
  | 'BACKFILL_NOT_FOUND'
  | 'TUNE_NOT_FOUND'
  | 'MODEL_NOT_FOUND'
  | 'SIGNATURE_MISMATCH'
  | 'METRIC_UNDEFINED'
  | 'INVALID_ARGUMENT'
  | 'FILE_NOT_FOUND'
  | 'FILE_UNREADABLE'
  | 'PROJECT_READONLY'
  | 'META_CORRUPT'
  | 'META_MISSING'
  | 'STORE_BUSY'
  | 'SPLIT_EMPTY'
  | 'LABEL_NOT_BINARY'
  | 'MODEL_LEARNED_NOTHING'
  | 'REASONS_MISSING'
  | 'ENTITY_UNKNOWN'
  | 'ONLINE_UNAVAILABLE'
  | 'STREAM_UNAVAILABLE'
  | 'DATABASE_UNAVAILABLE'
  | 'DATABASE_NOT_MIGRATED'
  | 'FEATURE_NOT_SERVED'
  | 'ASOF_OUT_OF_RANGE'
  | 'EVENTS_INVALID'
  | 'EVENT_KEY_CONFLICT'
  | 'STORE_TOO_NEW'
  | 'BUNDLE_INVALID'
  | 'BUNDLE_TOO_NEW'
  // Codes by domain (issue 12): ERROR_CODES in error-codes.ts gives each its HTTP status and exit code.
  | 'USAGE'
  | 'NAME_INVALID'
  | 'FILE_UNWRITABLE'
  | 'FILE_INVALID'
  | 'FEATURE_NOT_FOUND'
  | 'FEATURE_DEFINITION_INVALID'
  | 'SPINE_INVALID'
  | 'VERSION_NOT_FOUND'
  | 'ALIAS_NOT_FOUND'
  | 'EMBEDDING_NOT_FOUND'
  | 'EMBEDDING_VERSION_MISMATCH'
  | 'SEARCH_INDEX_NOT_FOUND'
  | 'RECOMMENDER_NOT_FOUND'
  | 'STREAM_NOT_FOUND'
  | 'GBDT_PARAM_INVALID'
  | 'GBDT_DATA_INVALID'
  | 'MODEL_FORMAT_INVALID'
  | 'MODEL_FORMAT_TOO_NEW'
  | 'EVAL_INPUT_INVALID'
  | 'SIM_OPTION_INVALID'
  | 'EMBEDDING_PARAM_INVALID'
  | 'EMBEDDING_DATA_INVALID'
  | 'SEARCH_PARAM_INVALID'
  | 'SEARCH_DATA_INVALID'
  | 'RECS_PARAM_INVALID'
  | 'RECS_DATA_INVALID'
  | 'RESOURCE_UNAVAILABLE'
  | 'INTERRUPTED'
  // Serving (issue 13)
  | 'REQUEST_INVALID'
  | 'UNAUTHORIZED'
  | 'FORBIDDEN'
  | 'PAYLOAD_TOO_LARGE'
  | 'MODEL_NOT_SERVED'
  | 'MODEL_VALIDATION_FAILED'
  | 'DECISION_NOT_FOUND'
  | 'DECISION_LOG_INVALID'
  | 'NOT_READY'
  | 'INTERNAL';

export interface KilnErrorOptions {
  /** Where in the input the problem is: a config path, or [file, line, column]. */
  path?: (string | number)[];
  /** Structured detail (offending rows, valid names...) for programmatic callers. */
  details?: unknown;
  cause?: unknown;
}

export class KilnError extends Error {
  readonly code: KilnErrorCode;
  readonly path: (string | number)[] | undefined;
  readonly details: unknown;

  constructor(code: KilnErrorCode, message: string, options: KilnErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'KilnError';
    this.code = code;
    this.path = options.path;
    this.details = options.details;
  }

  toJSON(): { code: KilnErrorCode; message: string; path?: (string | number)[] } {
    return this.path ? { code: this.code, message: this.message, path: this.path } : { code: this.code, message: this.message };
  }
}

export function isKilnError(e: unknown, code?: KilnErrorCode): e is KilnError {
  return e instanceof KilnError && (code === undefined || e.code === code);
}

/** Closest candidate by edit distance, for "did you mean" hints; undefined when nothing is close. */
export function didYouMean(input: string, candidates: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  for (const c of candidates) {
    const d = editDistance(input.toLowerCase(), c.toLowerCase());
    if (d < bestD) { bestD = d; best = c; }
  }
  return best !== undefined && bestD <= Math.max(2, Math.floor(input.length / 3)) ? best : undefined;
}

function editDistance(a: string, b: string): number {
  const prev = new Array<number>(b.length + 1);
  for (let j = 0; j <= b.length; j++) prev[j] = j;
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0]!;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const up = prev[j]!;
      prev[j] = Math.min(up + 1, prev[j - 1]! + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = up;
    }
  }
  return prev[b.length]!;
}
