/**
 * Learning-rate schedules as a pure function of the step: linear warm-up, then constant, linear decay
 * or cosine decay. `step` is the number of optimizer steps already taken (0 for the first update;
 * `Adam.stepCount` before calling `step`), so a run resumed from a checkpoint gets the same rates.
 *
 *   warm-up (step < warmup):  lr = base * (step + 1) / warmup      (the first update is not wasted at 0)
 *   after, with p = (step - warmup) / (total - warmup), clamped to [0, 1]:
 *     constant:  lr = base
 *     linear:    lr = min + (base - min) * (1 - p)
 *     cosine:    lr = min + (base - min) * (1 + cos(pi p)) / 2
 *
 * The last update (step total - 1) still has a positive rate under decay; from step `total` on the
 * rate stays at `min`. A decaying schedule needs total > warmup.
 */
import { KilnError } from '../core/errors.js';

export interface LrSchedule {
  /** The peak rate, reached at the end of warm-up. */
  readonly base: number;
  /** Steps of linear warm-up (default 0: none). */
  readonly warmup?: number;
  /** What follows warm-up (default constant). */
  readonly decay?: 'constant' | 'linear' | 'cosine';
  /** The step at which decay reaches `min` (required by linear and cosine). */
  readonly total?: number;
  /** The floor of the decay (default 0). */
  readonly min?: number;
}

/** Throws a KilnError unless the schedule is well-formed. */
export function checkSchedule(s: LrSchedule): void {
  const bad = (why: string): never => {
    throw new KilnError('INVALID_ARGUMENT', `learning-rate schedule: ${why}`);
  };
  const warmup = s.warmup ?? 0;
  const min = s.min ?? 0;
  if (!(s.base >= 0 && s.base < Infinity)) bad(`base rate ${s.base} is not a finite non-negative number`);
  if (!Number.isInteger(warmup) || warmup < 0) bad(`warm-up ${warmup} is not a whole number of steps`);
  if (!(min >= 0 && min <= s.base)) bad(`min ${min} is not in [0, base ${s.base}]`);
  const decay = s.decay ?? 'constant';
  if (decay !== 'constant' && decay !== 'linear' && decay !== 'cosine') bad(`unknown decay ${String(decay)}`);
  if (decay !== 'constant') {
    const total = s.total;
    if (total === undefined || !Number.isInteger(total) || total <= warmup) {
      bad(`${decay} decay needs total steps (${total}) greater than the warm-up (${warmup})`);
    }
  }
}

/** The learning rate of the update after `step` steps. */
export function lrAt(s: LrSchedule, step: number): number {
  checkSchedule(s);
  if (!Number.isInteger(step) || step < 0) throw new KilnError('INVALID_ARGUMENT', `learning-rate schedule: step ${step} is not a whole number >= 0`);
  const warmup = s.warmup ?? 0;
  if (step < warmup) return (s.base * (step + 1)) / warmup;
  const decay = s.decay ?? 'constant';
  if (decay === 'constant') return s.base;
  const total = s.total!;
  const min = s.min ?? 0;
  const p = Math.min(1, (step - warmup) / (total - warmup));
  const f = decay === 'linear' ? 1 - p : (1 + Math.cos(Math.PI * p)) / 2;
  return min + (s.base - min) * f;
}
