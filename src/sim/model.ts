import { cumulative } from '../core/rng.js';
import { AGE_BANDS, CATEGORIES, EMPLOYMENT_TYPES, REGIONS, TXN_CHANNELS } from './schema.js';
import type { SimOptions } from './options.js';

/**
 * Parameters of the generative process (see docs/simulator.md). Index order follows the vocabularies
 * in schema.ts. Kept in one place so that calibration is one edit.
 */
export const DAY_US = 86_400_000_000;
export const HOUR_US = 3_600_000_000;

// --- static attributes -------------------------------------------------------------------------------
export const REGION_W = cumulative([0.17, 0.15, 0.14, 0.12, 0.1, 0.12, 0.1, 0.1]);
/** Regional economy: shifts latent creditworthiness and income. */
export const REGION_Z = [0.1, -0.15, 0.15, 0.2, 0.05, 0, -0.05, -0.25];
export const REGION_INCOME = [1.25, 1.0, 1.1, 1.15, 1.05, 0.95, 0.85, 0.8];
/** Share of the protected group per region: the group is correlated with region (and so with income). */
export const REGION_GROUP_B = [0.45, 0.55, 0.25, 0.2, 0.3, 0.3, 0.15, 0.5];
/** Structural income gap of the protected group (income only: the group does not enter default). */
export const GROUP_B_INCOME = 0.93;

export const AGE_W = cumulative([0.12, 0.24, 0.22, 0.18, 0.14, 0.1]);
export const AGE_Z = [-0.3, -0.1, 0, 0.1, 0.15, 0.15];
export const AGE_INCOME = [0.6, 0.9, 1.1, 1.15, 1.05, 0.7];
/** Employment weights per age band (retired mostly 65+). */
export const EMPLOYMENT_W_BY_AGE = [
  [0.45, 0.04, 0.15, 0.26, 0, 0.1],
  [0.62, 0.08, 0.12, 0.12, 0, 0.06],
  [0.64, 0.12, 0.1, 0.08, 0, 0.06],
  [0.62, 0.15, 0.09, 0.06, 0.02, 0.06],
  [0.52, 0.15, 0.08, 0.05, 0.14, 0.06],
  [0.12, 0.1, 0.04, 0.04, 0.68, 0.02],
].map((w) => cumulative(w));
export const EMPLOYMENT_Z = [0.1, -0.05, -0.1, -0.3, 0.1, -0.45];
export const EMPLOYMENT_INCOME = [1.0, 1.1, 0.95, 0.65, 0.6, 0.35];
export const EMPLOYMENT_TENURE_MEAN = [60, 70, 20, 14, 0, 0];
/** Probability that the shock cuts this borrower's income, by employment type. */
export const EMPLOYMENT_SHOCK_HIT = [0.18, 0.45, 0.45, 0.55, 0.08, 0.3];
export const BASE_INCOME = 52_000;

/**
 * How financial stress shows in a borrower's spending, before and after the shock: the weight of stress
 * in the log-rate of gambling and of cash advances, in the log-amount of every purchase, and in the
 * number of purchases (as 1 + rate * ramp). Before the shock, distress means more gambling and cash
 * advances and bigger, more frequent purchases. After it (a cost-of-living shock) households cut back:
 * distress shows as fewer and smaller purchases, while gambling and cash advances, now common among
 * the merely squeezed, say much less. A model trained before the shock reads the old signs and its
 * ranking decays until it is retrained on post-shock outcomes: the change in how inputs relate to the
 * outcome that monitoring without labels cannot see (docs/simulator.md).
 */
export const STRESS_SIGNS_BEFORE = { gambling: 1.8, cash: 2.2, amount: 0.3, rate: 0.3 } as const;
export const STRESS_SIGNS_AFTER = { gambling: 0.5, cash: 0.6, amount: -0.5, rate: -0.4 } as const;

// --- transactions -----------------------------------------------------------------------------------
export const NORMAL_CATS = 9; // categories [0, 9) are ordinary, 9 = gambling, 10 = cash_advance
export const GAMBLING = 9;
export const CASH_ADVANCE = 10;
/** Base weights of the ordinary categories before and after the shock (essentials up, travel down). */
export const CAT_W_BEFORE = [0.26, 0.12, 0.16, 0.045, 0.04, 0.14, 0.07, 0.05, 0.065];
export const CAT_W_AFTER = [0.3, 0.12, 0.12, 0.018, 0.025, 0.13, 0.08, 0.058, 0.05];
/** Log-mean and log-sd of the amount per category (for a median monthly income of about 4,300). */
export const CAT_MU = [Math.log(62), Math.log(48), Math.log(38), Math.log(320), Math.log(210), Math.log(55), Math.log(120), Math.log(28), Math.log(45), Math.log(60), Math.log(220)];
export const CAT_SIGMA = [0.55, 0.35, 0.6, 0.8, 0.9, 0.8, 0.4, 0.6, 0.6, 1.0, 0.5];
/** Channel weights per category (pos, contactless, online, atm). */
export const CAT_CHANNEL_W = [
  [0.45, 0.5, 0.05, 0], [0.5, 0.5, 0, 0], [0.35, 0.55, 0.1, 0], [0.15, 0.05, 0.8, 0], [0.35, 0.05, 0.6, 0],
  [0, 0, 1, 0], [0.1, 0, 0.9, 0], [0.5, 0.45, 0.05, 0], [0.3, 0.3, 0.4, 0], [0.1, 0.05, 0.85, 0], [0.05, 0, 0.25, 0.7],
].map((w) => cumulative(w));
/** Share of merchants per category and the risk-tier weights (tier 1, 2, 3). */
export const CAT_MERCHANT_SHARE = [0.2, 0.08, 0.2, 0.06, 0.06, 0.12, 0.04, 0.06, 0.08, 0.05, 0.05];
export const CAT_TIER_W = [
  [0.9, 0.1, 0], [0.9, 0.1, 0], [0.8, 0.2, 0], [0.5, 0.45, 0.05], [0.4, 0.5, 0.1], [0.5, 0.4, 0.1],
  [0.95, 0.05, 0], [0.95, 0.05, 0], [0.6, 0.35, 0.05], [0, 0.2, 0.8], [0, 0.1, 0.9],
].map((w) => cumulative(w));

// --- order episodes (docs/simulator.md, "Order episodes"; src/sim/episodes.ts) ----------------------
/**
 * An order episode is two 7-day phases, a spending surge and a run of cash advances, ending 8 days
 * before a loan application. Surge then cash advances (the risky order) seals delinquency with
 * probability `doom`: distress starts 2 months after the application month and ends in delinquency.
 * Cash advances then surge (the benign order) changes nothing. Both orders draw the same events.
 */
export const EPISODE = {
  /** Length of each phase and the gap from the end of the second phase to the application, in days. */
  phaseDays: 7,
  gapDays: 8,
  /** Days of history required before the episode starts (after signup and the start of the horizon). */
  leadDays: 6,
  /** Surge purchases: 3 + Poisson(2), in discretionary categories, amounts x exp(0.6) (about 1.8x). */
  surgeMin: 3,
  surgeExtra: 2,
  surgeCats: [4, 5, 3, 2, 8] as readonly number[],
  surgeCatW: cumulative([0.35, 0.3, 0.15, 0.1, 0.1]),
  surgeAmountShift: 0.6,
  /** Cash advances: 2 + Poisson(1). */
  cashMin: 2,
  cashExtra: 1,
  /** Probability that the risky order seals delinquency, the months from the application to distress, and the ramp (2-5 months). */
  doom: 0.6,
  distressAfterMonths: 2,
  rampMin: 2,
  rampSpan: 4,
} as const;

// --- applications and loans -------------------------------------------------------------------------
export const PURPOSE_W = cumulative([0.3, 0.14, 0.16, 0.06, 0.06, 0.06, 0.12, 0.1]);
export const PURPOSE_W_STRESSED = cumulative([0.52, 0.06, 0.08, 0.12, 0.03, 0.04, 0.05, 0.1]);
export const APP_CHANNEL_W = cumulative([0.38, 0.34, 0.14, 0.14]);
export const TERM_W = cumulative([0.18, 0.26, 0.28, 0.14, 0.14]);
/** Mean decision delay per application channel, in hours. */
export const DECISION_HOURS = [0.1, 0.1, 20, 48];

/** Precomputed calendar of the horizon (with room for the longest term plus the label window). */
export interface Calendar {
  months: number;
  /** Start of month m in epoch microseconds, m in [-48, months + 80); index with `m + CAL_OFFSET`. */
  monthStartUs: Float64Array;
  monthDays: Int32Array;
  startUs: number;
  endUs: number;
}
export const CAL_OFFSET = 48;

export function makeCalendar(opts: SimOptions): Calendar {
  const [y, m] = opts.start.split('-').map(Number) as [number, number];
  const n = CAL_OFFSET + opts.months + 80;
  const monthStartUs = new Float64Array(n + 1);
  const monthDays = new Int32Array(n);
  for (let i = 0; i <= n; i++) monthStartUs[i] = Date.UTC(y, m - 1 + i - CAL_OFFSET, 1) * 1000;
  for (let i = 0; i < n; i++) monthDays[i] = Math.round((monthStartUs[i + 1]! - monthStartUs[i]!) / DAY_US);
  return {
    months: opts.months,
    monthStartUs,
    monthDays,
    startUs: monthStartUs[CAL_OFFSET]!,
    endUs: monthStartUs[CAL_OFFSET + opts.months]!,
  };
}

/** Timestamp of day `day` (0-based, clamped to the month) of month `m`, plus `todUs`. */
export function dayOfMonthUs(cal: Calendar, m: number, day: number, todUs: number): number {
  const i = m + CAL_OFFSET;
  const d = Math.min(day, cal.monthDays[i]! - 1);
  return cal.monthStartUs[i]! + d * DAY_US + todUs;
}

export function sigmoid(x: number): number {
  return 1 / (1 + Math.exp(-x));
}

// Sanity: vocabularies and parameter arrays agree.
const checks: [string, number, number][] = [
  ['regions', REGIONS.length, REGION_Z.length], ['age', AGE_BANDS.length, AGE_Z.length],
  ['employment', EMPLOYMENT_TYPES.length, EMPLOYMENT_Z.length], ['categories', CATEGORIES.length, CAT_MU.length],
  ['channels', TXN_CHANNELS.length, CAT_CHANNEL_W[0]!.length],
];
for (const [what, a, b] of checks) if (a !== b) throw new Error(`sim model: ${what} parameters do not match the vocabulary (${a} vs ${b})`);
