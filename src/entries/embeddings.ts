/**
 * `kiln/embeddings`: the embeddings platform. Trainers of representations (item2vec, ALS and BPR matrix
 * factorisation, two-tower retrieval, text encoders: an ONNX sentence encoder from a local folder and the trained-here
 * TF-IDF + SVD), vector indexes (HNSW through usearch, exact search, recall), and versioned embedding
 * spaces: training a version, looking vectors and neighbours up, comparing versions. See docs/embeddings.md.
 * @example
 * import { trainSpace, EmbeddingLookup } from 'kiln/embeddings';
 * const { version } = await trainSpace(project, 'merchants', { until: '2024-07-01' });
 * const near = new EmbeddingLookup(project.embeddings).neighbors('merchants@current', { id: '1234', k: 10 });
 */
export {
  trainItem2Vec, trainMf, MfModel, trainAls, trainBpr, VectorIndex, ExactIndex, recallAt,
  trainTwoTower, TwoTowerModel, OnnxTextEncoder, TextLsa, WordPieceTokenizer, loadTextEncoder,
  trainSpace, EmbeddingLookup, neighborOverlap, compareVersions, VersionFiles, vectorsTable, procrustes,
  type Item2VecOptions, type Item2VecResult, type Interactions, type MfSpec, type AlsOptions, type BprOptions,
  type VectorIndexOptions, type AnnMetric, type AnnFilter, type AnnHits, type NeighborIndex,
  type TwoTowerData, type TwoTowerOptions, type TwoTowerResult, type TextEncoder, type TextEncoderSpec, type TextLsaOptions, type OnnxTextEncoderOptions,
  type TrainSpaceOptions, type TrainSpaceResult, type Neighbor, type NeighborQuery, type VersionComparison, type ConsumerComparison,
} from '../embeddings/index.js';
export { EmbeddingRegistry, type EmbeddingVersion, type EmbeddingLineage, type EmbeddingSpaceSummary, type EmbeddingAuditEntry } from '../registry/index.js';
