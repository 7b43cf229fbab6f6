/**
 * The online cost of a candidate: an estimate of the state the online store keeps per entity to serve it
 * (docs/online.md: day tiles, then 4-, 16- and 64-day tiles). A window of W days is covered by about
 * min(W,3) day tiles + min(W/4,3) 4-day tiles + min(W/16,3) 16-day tiles + W/64 64-day tiles; a lifetime
 * recency keeps one value. Each tile holds the operator's state: one number for count, sum, min, max,
 * two for mean, three for stddev (Welford); a distinct count keeps its values, about the entity's events
 * in the window (value and count: two numbers each). A ratio costs its two inputs.
 */
import { planInputs, type AggregatePlan, type Plan } from './candidates.js';

const STATE_NUMBERS: Readonly<Record<AggregatePlan['op'], number>> = {
  count: 1, sum: 1, mean: 2, stddev: 3, min: 1, max: 1, timeSinceLast: 1, attribute: 1, countDistinct: 0,
};

/** Tiles the online store merges to answer a window of `days` days. */
export function tilesFor(days: number): number {
  return Math.min(days, 3) + Math.min(Math.floor(days / 4), 3) + Math.min(Math.floor(days / 16), 3) + Math.floor(days / 64);
}

/**
 * Bytes of online state per entity (8 per number), given the source's mean events per entity per day.
 * @example stateBytes(sumPlan30d, 0.13) // 8 × 1 × tilesFor(30)
 */
export function stateBytes(plan: Plan, eventsPerEntityDay: number): number {
  let numbers = 0;
  for (const p of planInputs(plan)) {
    if (p.window === 'lifetime') { numbers += 1; continue; }
    const days = Number(p.window.replace(/d$/, ''));
    numbers += p.op === 'countDistinct' ? 2 * Math.max(1, eventsPerEntityDay * days) : STATE_NUMBERS[p.op] * tilesFor(days);
  }
  return Math.round(8 * numbers);
}
