export { OfflineStore } from './offline.js';
export { MetaStore, type IngestRecord, type TableRecord } from './meta.js';
export { Project, initProject, projectPaths, configTemplate, type ProjectPaths } from './project.js';
export { ingest, type IngestOptions, type IngestResult } from './ingest/index.js';
export { listTables, type TableInfo } from './tables.js';
export { ColumnarAppender, enumOf, ENUM_NULL_U8, ENUM_NULL_U16, CHUNK_ROWS, type ColumnBuffers, type ColumnKind, type ColumnSchema } from './columnar.js';
export { tableChecksum, tableChecksums } from './checksum.js';
export { quoteIdent, quoteLiteral } from './sql.js';
export { NumericFile, NUMERIC_TYPE, checkReadable, type NumericColumns, type NumericFileOptions } from './numeric-file.js';
