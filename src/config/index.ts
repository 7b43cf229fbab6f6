export { defineConfig } from './define.js';
export {
  COLUMN_TYPES, DEFAULT_NULL_VALUES, FILE_FORMATS, KilnConfigSchema, ONLINE_BACKEND_NAMES, OnlineSpecSchema, ServeSpecSchema, MonitorSpecSchema, LoopModelSpecSchema, API_KEY_SCOPES, TableSpecSchema, columnDecls,
  type ColumnDecl, type ColumnSpecInput, type ColumnType, type FileFormat, type KilnConfig, type KilnConfigInput,
  type OnlineBackendName, type OnlineSpec, type OnlineSpecInput, type ServeSpec, type MonitorSpec, type LoopModelSpec, type ServeSpecInput, type ApiKeyScope, type TableSpec, type TableSpecInput,
} from './schema.js';
export { validateConfig } from './validate.js';
export { CONFIG_FILE_NAMES, configFileIn, findProjectRoot, loadConfigFile, resolveProjectRoot } from './load.js';
export { ModelSpecSchema, PROHIBITED_BASIS_TAG, SequenceSpecSchema, isOutOfTime, type ModelSpec, type ModelSpecInput, type SequenceSpec, type SplitSpec } from './model-spec.js';
export { EmbeddingSpaceSpecSchema, EmbeddingSourceSchema, ModelEmbeddingSchema, EMBEDDING_TRAINERS, TRAINER_SOURCES, type EmbeddingSpaceSpec, type EmbeddingSpaceSpecInput, type EmbeddingSource, type EmbeddingTrainer, type ModelEmbedding } from './embedding-spec.js';
export { RecommenderSpecSchema, type RecommenderSpec, type RecommenderSpecInput } from './recs-spec.js';
export { SearchIndexSpecSchema, type SearchIndexSpec, type SearchIndexSpecInput } from './search-spec.js';
export { StreamSpecSchema, RedisStreamSourceSchema, NatsStreamSourceSchema, type StreamSpec, type StreamSpecInput } from './stream-spec.js';
