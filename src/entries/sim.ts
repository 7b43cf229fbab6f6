/**
 * `kiln/sim`: the seeded synthetic lending world that `kiln sim` writes into the offline store. See
 * docs/simulator.md.
 * @example
 * import { simulate } from 'kiln/sim';
 * await simulate(project.offline, { borrowers: 10_000, months: 24, seed: 42 });
 */
export {
  simulate, parseSimOptions, SIM_TABLES, type SimOptions, type SimOptionsInput, type SimSummary, type SimTableSummary, type SimStats,
} from '../sim/index.js';
