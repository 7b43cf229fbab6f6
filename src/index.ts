/** kiln's public API. The declaration layer (config) imports nothing heavy; engines are separate entries. */
export { KilnError, isKilnError, type KilnErrorCode } from './core/errors.js';
export { ERROR_CODES, httpStatus, exitCode } from './core/error-codes.js';
export * from './config/index.js';
export * from './features/index.js';
export { DEMO_FEATURES, DEMO_REASONS, DEMO_REASON_GROUPS } from './features/demo-features.js';
