/**
 * kiln's embeddings platform (issue 17): trainers of representations (item2vec, matrix factorisation,
 * two-tower, sequence and text encoders), vector indexes (HNSW through usearch), versioned spaces.
 */
export { trainMf, MfModel, type Interactions, type MfSpec, type Scored } from './mf.js';
export { trainAls, alsLoss, type AlsOptions, type AlsResult } from './als.js';
export { trainBpr, type BprOptions, type BprResult } from './bpr.js';
export { buildCsr, csrHas, type Csr } from './csr.js';
export { choleskySolve, gaussSolve } from './linalg.js';
export { VectorIndex, type VectorIndexOptions } from './index-ann.js';
export { ExactIndex, recallAt, type ExactIndexOptions } from './ann-exact.js';
export type { AnnFilter, AnnHits, AnnId, AnnMetric, AnnSearchOptions, NeighborIndex } from './ann-common.js';
export { clusteredVectors } from './ann-synthetic.js';
export { trainItem2Vec, nearest, countItems, aliasTable, type Item2VecOptions, type Item2VecResult, type ItemVectors } from './item2vec.js';
export { clusteredCorpus, type ClusteredCorpus } from './item2vec-synth.js';
export * from './space/index.js';
export {
  loadTextEncoder, OnnxTextEncoder, TextLsa, WordPieceTokenizer, topicalCorpus, TEXT_ENCODER_KINDS, TEXT_LSA_FORMAT, TEXT_LSA_VERSION,
  type OnnxTextEncoderOptions, type TextEncoder, type TextEncoderSpec, type TextLsaJson, type TextLsaOptions, type TokenBatch, type TopicalCorpus, type WordPieceOptions,
} from './text/index.js';
export { trainTwoTower, TwoTowerModel, TWO_TOWER_FORMAT, type TwoTowerData, type TwoTowerJson, type TwoTowerOptions, type TwoTowerResult } from './two-tower.js';
export { inBatchSoftmax, type InBatchInput } from './two-tower-loss.js';
export { plantedWorld, type PlantedWorld, type PlantedWorldOptions } from './two-tower-synth.js';
export { heldOutRecall, type Pairs } from './recall.js';
export { type Item2VecKernel } from './item2vec.js';
