/**
 * Decisions joined to outcomes. Decisions (a pd scored for an entity at a time) and outcomes (a loan
 * originated for an entity, with a label once it is known) are sorted by entity and time, then merged
 * per entity in one pass: each outcome goes to the latest decision of its entity at or before its
 * origination and no more than `maxLagMs` before it, and a decision keeps the first outcome it receives.
 * So a decision takes the first outcome originated at or after it within the lag, unless a later
 * decision of the same entity came before that outcome (the later decision is the one the loan followed).
 * O((n + m) log(n + m)); ties: decisions at the same time are ordered by id (the larger id is the later),
 * outcomes originated at the same time by their input order.
 */
import { badData, badOption, checkTime } from './check.js';

export interface ScoredDecision {
  readonly id: string;
  readonly entityId: string;
  /** Decision time, epoch ms. */
  readonly time: number;
  /** Calibrated probability of default. */
  readonly pd: number;
  /** Model version that scored it. */
  readonly version: number;
}

export interface Outcome {
  readonly entityId: string;
  /** When the loan was originated (e.g. funded_at), epoch ms. */
  readonly originatedAt: number;
  /** 1 = bad, 0 = good, null = not known yet. */
  readonly label: 0 | 1 | null;
  /** When the label became known (the end of its performance window), epoch ms; null while unknown. */
  readonly labelAvailableAt: number | null;
  /** Time of the bad event (e.g. defaulted_at) when bad; null otherwise. */
  readonly badAt: number | null;
}

export interface JoinedDecision extends ScoredDecision {
  readonly outcome: Outcome | null;
}

export interface JoinOptions {
  /** Longest time from decision to origination (default 90 days). */
  maxLagMs?: number;
}

export const DEFAULT_MAX_LAG_MS = 90 * 24 * 3600 * 1000;

const FN = 'joinOutcomes';

function checkDecisions(decisions: readonly ScoredDecision[]): void {
  if (!Array.isArray(decisions)) badData(FN, 'decisions', 'decisions must be an array of { id, entityId, time, pd, version }');
  const ids = new Set<string>();
  decisions.forEach((d, i) => {
    if (typeof d?.id !== 'string') badData(FN, 'decisions', `decisions[${i}].id is ${String(d?.id)}; expected a string`);
    if (ids.has(d.id)) badData(FN, 'decisions', `decisions[${i}].id '${d.id}' repeats; decision ids must be unique`);
    ids.add(d.id);
    if (typeof d.entityId !== 'string') badData(FN, 'decisions', `decisions[${i}].entityId is ${String(d.entityId)}; expected a string`);
    checkTime(FN, `decisions[${i}].time`, d.time);
    if (!(d.pd >= 0 && d.pd <= 1)) badData(FN, 'decisions', `decisions[${i}].pd is ${String(d.pd)}; expected a probability of default in [0, 1]`);
  });
}

/** Checks one outcome: times are numbers, a known label has the time it became known. */
export function checkOutcome(fn: string, o: Outcome, where: string): void {
  if (typeof o?.entityId !== 'string') badData(fn, 'outcomes', `${where}.entityId is ${String(o?.entityId)}; expected a string`);
  checkTime(fn, `${where}.originatedAt`, o.originatedAt);
  if (o.label !== null && o.label !== 0 && o.label !== 1) badData(fn, 'outcomes', `${where}.label is ${String(o.label)}; expected 0, 1 or null (not known yet)`);
  if (o.label !== null) checkTime(fn, `${where}.labelAvailableAt`, o.labelAvailableAt);
  else if (o.labelAvailableAt !== null && o.labelAvailableAt !== undefined) checkTime(fn, `${where}.labelAvailableAt`, o.labelAvailableAt);
  if (o.badAt !== null && o.badAt !== undefined) {
    checkTime(fn, `${where}.badAt`, o.badAt);
    if (o.label === 0) badData(fn, 'outcomes', `${where} has label 0 but a badAt time; a bad event makes the label 1`);
  }
}

const byString = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/**
 * Each decision takes the first outcome of its entity originated at or after the decision and within
 * `maxLagMs`; an outcome is used by at most one decision (the latest decision before it). Returns the
 * decisions in input order, each with its outcome or null.
 */
export function joinOutcomes(decisions: readonly ScoredDecision[], outcomes: readonly Outcome[], opts: JoinOptions = {}): JoinedDecision[] {
  const maxLag = opts.maxLagMs ?? DEFAULT_MAX_LAG_MS;
  if (typeof maxLag !== 'number' || !(maxLag >= 0) || maxLag === Infinity) badOption(FN, 'maxLagMs', `maxLagMs is ${String(maxLag)}; expected a finite number of milliseconds >= 0`);
  checkDecisions(decisions);
  if (!Array.isArray(outcomes)) badData(FN, 'outcomes', 'outcomes must be an array of { entityId, originatedAt, label, labelAvailableAt, badAt }');
  outcomes.forEach((o, i) => checkOutcome(FN, o, `outcomes[${i}]`));

  const dOrder = decisions.map((_, i) => i).sort((a, b) => {
    const x = decisions[a]!, y = decisions[b]!;
    return byString(x.entityId, y.entityId) || x.time - y.time || byString(x.id, y.id);
  });
  const oOrder = outcomes.map((_, i) => i).sort((a, b) => {
    const x = outcomes[a]!, y = outcomes[b]!;
    return byString(x.entityId, y.entityId) || x.originatedAt - y.originatedAt || a - b;
  });
  const taken = new Array<Outcome | null>(decisions.length).fill(null);
  let di = 0;
  for (let oi = 0; oi < oOrder.length; oi++) {
    const o = outcomes[oOrder[oi]!]!;
    // Skip decisions of entities before this one.
    while (di < dOrder.length && decisions[dOrder[di]!]!.entityId < o.entityId) di++;
    // Advance to the last decision of this entity at or before the origination.
    while (di + 1 < dOrder.length) {
      const next = decisions[dOrder[di + 1]!]!;
      if (next.entityId !== o.entityId || next.time > o.originatedAt) break;
      const cur = decisions[dOrder[di]!]!;
      if (cur.entityId === o.entityId && cur.time > o.originatedAt) break;
      di++;
    }
    if (di >= dOrder.length) break;
    const d = decisions[dOrder[di]!]!;
    if (d.entityId !== o.entityId || d.time > o.originatedAt || o.originatedAt - d.time > maxLag) continue;
    if (taken[dOrder[di]!] === null) taken[dOrder[di]!] = o;
  }
  return decisions.map((d, i) => ({ ...d, outcome: taken[i]! }));
}
