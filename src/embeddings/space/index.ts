export { EmbeddingRegistry, knownFrom, type EmbeddingAuditEntry, type EmbeddingLineage, type EmbeddingSpaceSummary, type EmbeddingVersion } from '../../registry/index.js';
export { VersionFiles, VERSION_FORMAT, vectorsChecksum, writeVersionFiles, type VersionContent, type VersionManifest } from './files.js';
export { EmbeddingLookup, neighborOverlap, type Neighbor, type NeighborQuery } from './lookup.js';
export { trainSpace, spaceSpec, vectorsTable, normaliseTime, type TrainSpaceOptions, type TrainSpaceResult } from './train.js';
export { compareVersions, type ConsumerComparison, type VersionComparison } from './compare.js';
export { procrustes, rotate, symmetricEigen } from './align.js';
export { TRAINER_PARAMS } from './trainers.js';
