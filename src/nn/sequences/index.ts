/**
 * Sequences from the feature store: a lastK feature's events as tensors for sequence encoders, with an
 * encoding learned from the training set and frozen, so training and serving encode alike.
 */
export { sequenceSpec, sequenceSql, defaultKind, type SequenceSpec, type SequenceField, type SequenceFieldKind, type SequenceFieldType, type SequenceSpecOptions, type LastKDefinition, type LastKSource } from './spec.js';
export {
  SequenceEncoding, SEQUENCE_ENCODING_FORMAT, SEQUENCE_ENCODING_VERSION, PAD_ID, OOV_ID, NULL_ID, FIRST_ID,
  type SequenceEncodingJson, type FieldEncoding, type CategoricalEncoding, type NumericEncoding, type Moments,
} from './encoding.js';
export { learnEncoding, type LearnOptions, type SequenceRowInput } from './learn.js';
export { allocBatch, encodeRow, encodeBatch, type SequenceBatch } from './encode.js';
export { timeOf } from './values.js';
