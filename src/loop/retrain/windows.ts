/**
 * Rolling training windows for the loop: at time T, the test window ends `maturityMonths` before the
 * month of T (labels of loans funded before then have had their full outcome window), and the
 * validation and training windows precede it. The challenger's spec is the model's with these windows
 * and, when the loop declares one, another (faster-maturing) label on its own spine table.
 */
import { KilnError } from '../../core/errors.js';
import { monthStartUtc } from '../../core/time.js';
import type { LoopModelSpec, ModelSpec } from '../../config/index.js';

export interface RollingSplit {
  readonly trainFrom?: string;
  readonly validFrom: string;
  readonly testFrom: string;
  readonly testTo: string;
}

const day = (ms: number): string => new Date(ms).toISOString().slice(0, 10);


/** The windows as of `asOf` (epoch ms). */
export function rollingSplit(asOf: number, w: LoopModelSpec['windows']): RollingSplit {
  const testTo = monthStartUtc(asOf, -w.maturityMonths);
  const testFrom = monthStartUtc(testTo, -w.testMonths);
  const validFrom = monthStartUtc(testFrom, -w.validMonths);
  return {
    ...(w.trainMonths !== undefined ? { trainFrom: day(monthStartUtc(validFrom, -w.trainMonths)) } : {}),
    validFrom: day(validFrom), testFrom: day(testFrom), testTo: day(testTo),
  };
}

/** The loop's settings of `model`, with defaults when the config has none. */
export function loopSpecOf(config: { loop?: Record<string, LoopModelSpec> | undefined }, model: string): LoopModelSpec {
  return config.loop?.[model] ?? { windows: { validMonths: 3, testMonths: 3, maturityMonths: 12 } };
}

/** The spec a challenger of `model` is trained with at `asOf`. */
export function challengerSpec(model: string, spec: ModelSpec, loop: LoopModelSpec, asOf: number): ModelSpec {
  const split = rollingSplit(asOf, loop.windows);
  if (split.testFrom === split.testTo || split.validFrom === split.testFrom) {
    throw new KilnError('CONFIG_INVALID', `loop.${model}.windows: validMonths and testMonths must be >= 1`, { path: ['loop', model, 'windows'] });
  }
  const label = loop.label;
  return {
    ...spec,
    split,
    ...(label ? {
      spine: { ...spec.spine, table: label.table, ...(label.key ? { key: label.key } : {}), ...(label.timestamp ? { timestamp: label.timestamp } : {}) },
      label: { column: label.column, ...(label.availableAt ? { availableAt: label.availableAt } : {}), ...(label.positive ? { positive: label.positive } : {}) },
    } : {}),
  } as ModelSpec;
}
