export { KilnError, isKilnError, didYouMean, type KilnErrorCode, type KilnErrorOptions } from './errors.js';
export { ERROR_CODES, httpStatus, exitCode } from './error-codes.js';
export { Rng, cumulative } from './rng.js';
export { Progress, formatCount, formatDuration, type ProgressOptions } from './progress.js';
export { onInterrupt, type InterruptScope } from './interrupt.js';
export { record, list } from './young.js';
export { parseUtc, parseTime, timeUs, isoMicros, type ParsedTime } from './time.js';
export { NamesCache } from './names-cache.js';
