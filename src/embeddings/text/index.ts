/**
 * Text encoders of the embeddings platform: item and document text -> unit vectors. An ONNX
 * sentence encoder from a local folder (BERT WordPiece tokenizer, mean pooling), or TextLsa, trained
 * here (hashed TF-IDF and a randomized SVD); both behind `TextEncoder`.
 */
export { loadTextEncoder, TEXT_ENCODER_KINDS, type TextEncoder, type TextEncoderSpec } from './encoder.js';
export { DEFAULT_MAX_LENGTH, padBatch, parseVocab, readTokenizerConfig, WordPieceTokenizer, type SpecialTokens, type TokenBatch, type WordPieceOptions } from './tokenizer.js';
export { basicTokenize, type BasicTokenizeOptions } from './basic-tokenize.js';
export { OnnxTextEncoder, type OnnxTextEncoderOptions } from './onnx-encoder.js';
export { TextLsa, TEXT_LSA_FORMAT, TEXT_LSA_VERSION, type TextLsaJson, type TextLsaOptions } from './lsa.js';
export { FEATURES_ID as TEXT_LSA_FEATURES, featureCounts as textFeatureCounts, FeatureScratch as TextFeatureScratch, textWords } from './lsa-features.js';
export { randomizedSvd, symmetricEigen, type RandomizedSvdOptions } from './svd.js';
export { l2NormalizeRows, maskedMeanPool } from './pool.js';
export { topicalCorpus, type TopicalCorpus, type TopicalCorpusOptions } from './synthetic.js';
