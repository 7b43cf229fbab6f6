/**
 * kiln's neural engine: the layers, losses and optimizers kiln's sequence models are made of, over
 * typed arrays in a WebAssembly memory, with explicit forward and backward passes (no tape).
 */
export { Arena } from './memory.js';
export { enableRelaxedSimd, jsKernels, kernelsFor, relaxedSimd, type Gemm, type Kernels } from './kernels/index.js';
export { Params, initNormal, initUniform, initXavier, type Ctx, type Param } from './module.js';
export { Dense } from './layers/dense.js';
export { buildNet, type MlpSpec, type NetSpec, type Trainable } from './net.js';
export { DataParallel, type DataParallelOptions } from './parallel/pool.js';
export { gather, sharedField, type Batch, type Field, type TrainData } from './parallel/data.js';
export { GRU, type GruGrads, type GruOutput } from './layers/gru.js';
export { Embedding } from './layers/embedding.js';
export { EmptyEmbedding, SequencePool, type PoolKind } from './layers/pooling.js';
export { IGNORE_INDEX, bceWithLogits, sigmoid, softmaxCrossEntropy, softplus, type LossResult } from './losses.js';
export { ClassSampler, SampledLogits, sampleNegatives, sampledSoftmax, type SampledSoftmaxOptions } from './sampled-softmax.js';
export { ntXent } from './contrastive.js';
export { Adam, AdamW, adamScalars, clipGradNorm, type AdamConfig, type OptimizerState } from './optim.js';
export { checkSchedule, lrAt, type LrSchedule } from './schedule.js';
export { EarlyStopping, type EarlyStoppingConfig, type EarlyStoppingState } from './early-stop.js';
export {
  sequenceSpec, sequenceSql, learnEncoding, type LastKDefinition, type LastKSource, allocBatch, encodeRow, encodeBatch, SequenceEncoding, SEQUENCE_ENCODING_FORMAT, SEQUENCE_ENCODING_VERSION,
  PAD_ID, OOV_ID, NULL_ID, FIRST_ID, type SequenceSpec, type SequenceField, type SequenceFieldKind, type SequenceFieldType, type SequenceSpecOptions,
  type SequenceEncodingJson, type FieldEncoding, type LearnOptions, type SequenceRowInput, type SequenceBatch,
} from './sequences/index.js';
export { LayerNorm } from './layers/layer-norm.js';
export { Dropout, drawMask } from './layers/dropout.js';
export { MultiheadAttention } from './layers/attention.js';
export { TransformerEncoder, TransformerEncoderLayer, type EncoderLayerOptions } from './layers/transformer.js';
export { activate, activateBackward, type Activation } from './layers/activation.js';
export { LearnedPositions, TimeGapEncoding, TIME_FREQUENCIES, timeFeatures } from './layers/positions.js';
export { SeqNet, embeddingDim, headWidth, type HeadSpec, type SeqEncoderSpec, type SeqNetSpec } from './seqnet.js';
export { SeqPretrainNet, copyParamsByName, drawViews, sliceSteps, type PretrainMethod, type SeqPretrainSpec, type Views } from './pretrain.js';
export { fit, type EpochInfo, type FitOptimizer, type FitOptions, type FitResult } from './fit.js';
export { readCheckpoint, writeCheckpoint, type Checkpoint } from './checkpoint.js';
export { ProtoReader, ProtoWriter } from './onnx/proto.js';
export { AttrType, DataType, decodeModel, encodeModel, type AttributeProto, type GraphProto, type ModelProto, type NodeProto, type TensorProto, type ValueInfoProto } from './onnx/model.js';
export { tensorData, tensorProto } from './onnx/tensor.js';
export { GraphBuilder, IR_VERSION, OPSET, type Attr, type ElemType } from './onnx/builder.js';
export { dense as onnxDense, exportSequenceModel, gru as onnxGru, keyPaddingMask as onnxKeyPaddingMask, lastPool as onnxLastPool, meanPool as onnxMeanPool, transformerEncoderLayer as onnxTransformerEncoderLayer, validSteps as onnxValidSteps, type EncoderSpec, type SequenceModelSpec, type StateDict } from './onnx/export.js';
export { exportSeqNet, seqNetOnnxInputs, unexportable as seqNetUnexportable, SEQ_INPUT, SEQ_OUTPUT, type SeqNetExportOptions, type SeqNetInputSpec } from './onnx/seqnet.js';
export { checkFeeds, OnnxSession, onnxSignature, type Feed, type OnnxOutput, type OnnxSessionOptions, type OnnxSignature, type OnnxTensorSpec } from './onnx/runtime.js';
export { Tower, TwoTowerNet, type TowerSpec, type TwoTowerNetSpec } from './two-tower-net.js';
