/**
 * kiln's embeddings platform (issue 17): trainers of representations (item2vec, matrix factorisation,
 * two-tower, sequence and text encoders), vector indexes (HNSW through usearch), versioned spaces.
 */
export {};
