/**
 * kiln's neural engine: the layers, losses and optimizers kiln's sequence models are made of, over
 * typed arrays in a WebAssembly memory, with explicit forward and backward passes (no tape).
 */
export { Arena } from './memory.js';
export { jsKernels, kernelsFor, type Gemm, type Kernels } from './kernels/index.js';
export { Params, initNormal, initUniform, initXavier, type Ctx, type Param } from './module.js';
export { Dense } from './layers/dense.js';
export { LayerNorm } from './layers/layer-norm.js';
export { Dropout, drawMask } from './layers/dropout.js';
export { MultiheadAttention } from './layers/attention.js';
export { TransformerEncoder, TransformerEncoderLayer, type EncoderLayerOptions } from './layers/transformer.js';
export { activate, activateBackward, type Activation } from './layers/activation.js';
export { LearnedPositions, TimeGapEncoding, TIME_FREQUENCIES, timeFeatures } from './layers/positions.js';
