import type { SearchSpace } from './space.js';

/** A search, recorded in Redis when it starts (`kiln tune`). */
export interface TuneSpec {
  id: string;
  model: string;
  search: 'random' | 'halving';
  space: SearchSpace;
  trials: number;
  seed: number;
  /** halving: the fraction kept per rung is 1/eta, and rounds grow by eta. */
  eta: number;
  minRounds: number;
  maxRounds: number;
  asOf?: string;
  /** The tracked run every trial's run hangs under. */
  parentRun: string;
  project: string;
  createdAt: string;
}

/** One job: one configuration trained for `rounds` at one rung. */
export interface TrialJob {
  tune: string;
  rung: number;
  trial: number;
  params: Record<string, unknown>;
  rounds: number;
}

/** What a trial recorded (once: HSETNX in Redis). */
export interface TrialResult {
  rung: number;
  trial: number;
  runId: string;
  validAuc: number;
  bestIteration: number;
  params: Record<string, unknown>;
  rounds: number;
  worker: string;
  attempt: number;
  seconds: number;
}
