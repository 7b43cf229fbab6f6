/** kiln's own loop: retrain a model on rolling windows, evaluate against the champion, gate, act. */
export { retrainLoop, retrainLoopName, DEFAULT_GATES, type RetrainInput } from './loop.js';
export { rollingSplit, challengerSpec, loopSpecOf, type RollingSplit } from './windows.js';
export { compareOnWindow, type Comparison } from './evaluate.js';
export { tickLoop, type TickResult } from './tick.js';
export { maturedSince } from './labels.js';
