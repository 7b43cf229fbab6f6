/**
 * kiln's neural engine: the layers, losses and optimizers kiln's sequence models are made of, over
 * typed arrays in a WebAssembly memory, with explicit forward and backward passes (no tape).
 */
export { Arena } from './memory.js';
export { jsKernels, kernelsFor, type Gemm, type Kernels } from './kernels/index.js';
export { Params, initNormal, initUniform, initXavier, type Ctx, type Param } from './module.js';
export { Dense } from './layers/dense.js';
export { buildNet, type MlpSpec, type NetSpec, type Trainable } from './net.js';
export { DataParallel, type DataParallelOptions } from './parallel/pool.js';
export { gather, sharedField, type Batch, type Field, type TrainData } from './parallel/data.js';
export { ProtoReader, ProtoWriter } from './onnx/proto.js';
export { AttrType, DataType, decodeModel, encodeModel, type AttributeProto, type GraphProto, type ModelProto, type NodeProto, type TensorProto, type ValueInfoProto } from './onnx/model.js';
export { tensorData, tensorProto } from './onnx/tensor.js';
export { GraphBuilder, IR_VERSION, OPSET, type Attr, type ElemType } from './onnx/builder.js';
export { dense as onnxDense, exportSequenceModel, gru as onnxGru, keyPaddingMask as onnxKeyPaddingMask, lastPool as onnxLastPool, meanPool as onnxMeanPool, transformerEncoderLayer as onnxTransformerEncoderLayer, validSteps as onnxValidSteps, type EncoderSpec, type SequenceModelSpec, type StateDict } from './onnx/export.js';
export { checkFeeds, OnnxSession, onnxSignature, type Feed, type OnnxOutput, type OnnxSessionOptions, type OnnxSignature, type OnnxTensorSpec } from './onnx/runtime.js';
