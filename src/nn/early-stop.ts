/**
 * Early stopping on a validation metric, as Keras' EarlyStopping: an epoch improves when its value
 * beats the best so far by more than `minDelta` (value > best + minDelta in mode max, value <
 * best - minDelta in mode min; the first finite value always does). Training stops once `patience`
 * epochs in a row have not improved. A NaN or infinite value never improves. The best epoch and value
 * are kept for restoring the best weights, and the state exports as plain data for checkpoints.
 */
import { KilnError } from '../core/errors.js';

export interface EarlyStoppingConfig {
  /** Epochs without improvement before stopping (0: stop at the first that does not improve). */
  readonly patience: number;
  /** The smallest change that counts as an improvement (default 0). */
  readonly minDelta?: number;
  /** 'max' for AUC and the like (default), 'min' for a loss. */
  readonly mode?: 'max' | 'min';
}

export interface EarlyStoppingState {
  readonly best: number | null;
  readonly bestEpoch: number;
  readonly bad: number;
}

export class EarlyStopping {
  readonly patience: number;
  readonly minDelta: number;
  readonly mode: 'max' | 'min';
  private bestValue: number | null = null;
  private bestAt = -1;
  private bad = 0;

  constructor(config: EarlyStoppingConfig) {
    this.patience = config.patience;
    this.minDelta = config.minDelta ?? 0;
    this.mode = config.mode ?? 'max';
    if (!Number.isInteger(this.patience) || this.patience < 0) throw new KilnError('INVALID_ARGUMENT', `early stopping: patience ${this.patience} is not a whole number >= 0`);
    if (!(this.minDelta >= 0 && this.minDelta < Infinity)) throw new KilnError('INVALID_ARGUMENT', `early stopping: min delta ${this.minDelta} is not a finite number >= 0`);
    if (this.mode !== 'max' && this.mode !== 'min') throw new KilnError('INVALID_ARGUMENT', `early stopping: mode ${String(this.mode)} is not max or min`);
  }

  /** Records epoch `epoch`'s metric; says whether it is the new best and whether to stop now. */
  update(epoch: number, value: number): { improved: boolean; stop: boolean } {
    const best = this.bestValue;
    const improved = Number.isFinite(value) && (best === null
      || (this.mode === 'max' ? value > best + this.minDelta : value < best - this.minDelta));
    if (improved) {
      this.bestValue = value;
      this.bestAt = epoch;
      this.bad = 0;
    } else {
      this.bad++;
    }
    return { improved, stop: this.shouldStop };
  }

  get shouldStop(): boolean {
    return this.bad >= Math.max(1, this.patience);
  }

  /** The best value so far (null before any finite one). */
  get best(): number | null {
    return this.bestValue;
  }

  /** The epoch of the best value (-1 before any). */
  get bestEpoch(): number {
    return this.bestAt;
  }

  exportState(): EarlyStoppingState {
    return { best: this.bestValue, bestEpoch: this.bestAt, bad: this.bad };
  }

  importState(s: EarlyStoppingState): void {
    if (!Number.isInteger(s.bad) || s.bad < 0 || !Number.isInteger(s.bestEpoch)) throw new KilnError('INVALID_ARGUMENT', 'early stopping: the saved state is malformed');
    this.bestValue = s.best;
    this.bestAt = s.bestEpoch;
    this.bad = s.bad;
  }
}
