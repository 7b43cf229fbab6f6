/**
 * `kiln sim`: a seeded synthetic lending world (borrowers, merchants, transactions, applications, loans,
 * repayments, labels) written atomically into the offline store. See docs/simulator.md.
 */
export { SimOptionsSchema, parseSimOptions, defaultShockMonth, type SimOptions, type SimOptionsInput } from './options.js';
export { simulate, type SimSummary, type SimTableSummary, type SimStats, type SimHooks, type ProgressLike } from './world.js';
export { SIM_TABLES, type SimTableName, type SimTableInfo } from './schema.js';
export { DEFAULT_DPD, LABEL_WINDOW_MONTHS, EARLY_WINDOW_MONTHS, EARLY_DPD } from './loans.js';
export { tableChecksum, tableChecksums } from '../store/index.js';
