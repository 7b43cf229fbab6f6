/**
 * Promotion gates of the continuous-learning loop: compare a challenger with the champion on one
 * evaluation set (overall and per slice), the swap set of who would flip between approve and decline,
 * and the gates of `loop.gates` turned into a recorded decision (promote, shadow or reject). See
 * docs/loop.md, "Gates and the swap set".
 * @example
 * import { evaluateChallenger } from '../loop/gates/index.js';
 * const d = evaluateChallenger(set, { metrics: [{ metric: 'auc', maxDrop: 0.01 }, { metric: 'air', min: 0.8 }], slices: ['region'] });
 * d.action; // 'promote' | 'shadow' | 'reject'
 */
export { compareModels, GATE_METRICS, GATE_METRIC_NAMES, type EvalSet, type MetricRow, type GateMetric, type CompareOptions, type MetricInput } from './compare.js';
export { GateSpecSchema, parseGateSpec, type GateSpec, type GateSpecInput, type GateRule } from './spec.js';
export { applyGates, evaluateChallenger, type GateResult, type GateDecision, type GateExtra, type GateKind } from './apply.js';
export { swapSet, type SwapSet, type SwapCell } from './swap.js';
