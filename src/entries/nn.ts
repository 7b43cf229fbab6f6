/**
 * `kiln/nn`: kiln's neural engine. Layers with explicit forward and backward passes over typed arrays in
 * a WebAssembly memory (Dense, Embedding, GRU, multi-head attention, transformer encoder, positions,
 * pooling), losses, Adam/AdamW with schedules, the data-parallel trainer and training loop, the sequence
 * network kiln's `algorithm: 'sequence'` models use, sequence encoding of lastK features, and ONNX
 * export. See docs/nn.md.
 * @example
 * import { Arena, kernelsFor, SeqNet } from 'kiln/nn';
 * const arena = new Arena();
 * const net = new SeqNet(spec, arena);
 * const ctx = { arena, k: kernelsFor(arena), training: false, rng: new Rng(0) };
 */
export {
  Arena, jsKernels, kernelsFor, Params, type Ctx, type Param, type Kernels, type Gemm,
  Dense, Embedding, GRU, MultiheadAttention, TransformerEncoder, TransformerEncoderLayer, LayerNorm, Dropout,
  LearnedPositions, TimeGapEncoding, SequencePool, EmptyEmbedding, type PoolKind, type EncoderLayerOptions, type Activation,
  bceWithLogits, softmaxCrossEntropy, sampledSoftmax, ntXent, type LossResult,
  Adam, AdamW, clipGradNorm, lrAt, EarlyStopping, type AdamConfig, type OptimizerState, type LrSchedule,
  SeqNet, type SeqNetSpec, type SeqEncoderSpec, type HeadSpec, buildNet, type NetSpec, type Trainable,
  DataParallel, sharedField, fit, type DataParallelOptions, type TrainData, type Batch, type FitOptions, type FitResult, type EpochInfo,
  sequenceSpec, learnEncoding, SequenceEncoding, encodeBatch, encodeRow, allocBatch, type SequenceSpec, type SequenceEncodingJson, type SequenceBatch,
  exportSeqNet, OnnxSession, onnxSignature, type OnnxSignature,
} from '../nn/index.js';
