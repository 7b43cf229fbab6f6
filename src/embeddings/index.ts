/**
 * kiln's embeddings platform (issue 17): trainers of representations (item2vec, matrix factorisation,
 * two-tower, sequence and text encoders), vector indexes (HNSW through usearch), versioned spaces.
 */
export { trainItem2Vec, nearest, countItems, aliasTable, type Item2VecOptions, type Item2VecResult, type ItemVectors } from './item2vec.js';
export { clusteredCorpus, type ClusteredCorpus } from './item2vec-synth.js';
