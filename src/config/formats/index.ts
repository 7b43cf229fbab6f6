/**
 * Ingest's file formats and default NULL tokens: plain constants, apart from the zod schema so that the
 * CLI can list them in `--help` without loading zod.
 */

/** CSV tokens that load as NULL unless a table or an ingest sets its own list (R, pandas, SQL exports). */
export const DEFAULT_NULL_VALUES: readonly string[] = ['', 'NA', 'N/A', 'NaN', 'NULL', 'null'];

export const FILE_FORMATS = ['csv', 'parquet', 'ndjson'] as const;
export type FileFormat = (typeof FILE_FORMATS)[number];
