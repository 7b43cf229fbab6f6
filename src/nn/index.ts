/**
 * kiln's neural engine: the layers, losses and optimizers kiln's sequence models are made of, over
 * typed arrays in a WebAssembly memory, with explicit forward and backward passes (no tape).
 */
export { Arena } from './memory.js';
export { jsKernels, kernelsFor, type Gemm, type Kernels } from './kernels/index.js';
export { Params, initNormal, initUniform, initXavier, type Ctx, type Param } from './module.js';
export { Dense } from './layers/dense.js';
export {
  sequenceSpec, sequenceSql, learnEncoding, allocBatch, encodeRow, encodeBatch, SequenceEncoding, SEQUENCE_ENCODING_FORMAT, SEQUENCE_ENCODING_VERSION,
  PAD_ID, OOV_ID, NULL_ID, FIRST_ID, type SequenceSpec, type SequenceField, type SequenceFieldKind, type SequenceFieldType, type SequenceSpecOptions,
  type SequenceEncodingJson, type FieldEncoding, type LearnOptions, type SequenceRowInput, type SequenceBatch,
} from './sequences/index.js';
