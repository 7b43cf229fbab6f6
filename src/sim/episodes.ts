/**
 * Order episodes: behaviour whose ORDER matters, for sequence models (docs/simulator.md, "Order
 * episodes"). With probability `orderEpisodes` a borrower has one episode: two back-to-back 7-day
 * phases, a spending surge (3 + Poisson(2) discretionary purchases, about 1.8x their usual size) and a
 * run of cash advances (2 + Poisson(1), mostly at ATMs), ending 8 days before a loan application whose
 * time is uniform over the borrower's eligible history. The order is a fair coin:
 *
 * - surge, then cash advances (`surge_then_cash`, risky): with probability EPISODE.doom the borrower
 *   enters distress 2 months after the application month and that distress ends in delinquency;
 * - cash advances, then surge (`cash_then_surge`, benign): nothing else changes.
 *
 * Both orders draw exactly the same events; only the two phases swap places. So every aggregate over
 * a window that holds the whole episode (or none of it) has the same distribution in both orders: the
 * 30- and 90-day windows at the application (or at funding, up to 8 days later) hold all of it, the
 * 7-day window none of it. Only the sequence (which phase came first) tells the orders apart.
 *
 * Everything is drawn at the start of the borrower from its own episode stream `new Rng(seed, -1 - b)`
 * (the merchants' stream is -1), so the borrower's main stream is untouched until the episode's
 * application. With `orderEpisodes: 0` no episode stream is created and the world is byte-identical to
 * one generated without this module.
 */
import { Rng } from '../core/rng.js';
import { pickMerchant, type MerchantIndex } from './merchants.js';
import { CAL_OFFSET, CASH_ADVANCE, CAT_CHANNEL_W, CAT_MU, CAT_SIGMA, DAY_US, EPISODE, type Calendar } from './model.js';
import type { SimOptions } from './options.js';

/** Indexes of EPISODE_ORDERS (schema.ts). */
export const SURGE_THEN_CASH = 0;
export const CASH_THEN_SURGE = 1;
/** At most this many events per phase (the Poisson tails beyond are clipped). */
const MAX_PHASE_EVENTS = 16;
const SECOND_US = 1_000_000;

/** One borrower's episode (reused across borrowers: `draw` resets it). */
export class Episode {
  active = false;
  order = SURGE_THEN_CASH;
  startUs = NaN;
  switchUs = NaN;
  endUs = NaN;
  appliedUs = NaN;
  /** Month of the application (-1: none), and of the sealed distress (Infinity: none). */
  appMonth = -1;
  distressMonth = Infinity;
  rampLen = 0;
  /** Uniform draw placing the distress onset within its month. */
  distressU = 0;
  /** Set by the generator: the recorded application, and when the sealed distress took effect. */
  applicationId = NaN;
  distressAt = NaN;

  /** The episode's transactions, in time order; `next` is the first not yet written. */
  n = 0;
  next = 0;
  readonly ts = new Float64Array(2 * MAX_PHASE_EVENTS);
  readonly cat = new Uint8Array(2 * MAX_PHASE_EVENTS);
  readonly amount = new Float64Array(2 * MAX_PHASE_EVENTS);
  readonly merchant = new Float64Array(2 * MAX_PHASE_EVENTS);
  readonly channel = new Uint8Array(2 * MAX_PHASE_EVENTS);

  constructor(private readonly opts: SimOptions, private readonly cal: Calendar, private readonly merchants: MerchantIndex) {}

  /** Time of the next unwritten episode transaction (Infinity when none is left). */
  nextTs(): number {
    return this.next < this.n ? this.ts[this.next]! : Infinity;
  }

  /** Draws borrower `b`'s episode (or none), given its signup time and monthly income at signup. */
  draw(borrowerId: number, createdUs: number, monthlyIncome: number): void {
    this.active = false;
    this.n = 0;
    this.next = 0;
    this.appMonth = -1;
    this.distressMonth = Infinity;
    this.applicationId = NaN;
    this.distressAt = NaN;
    this.startUs = this.switchUs = this.endUs = this.appliedUs = NaN;
    const { opts, cal } = this;
    if (!(opts.orderEpisodes > 0)) return;
    const r = new Rng(opts.seed, -1 - borrowerId);
    const has = r.uniform() < opts.orderEpisodes;
    const uApplied = r.uniform();
    const phaseUs = EPISODE.phaseDays * DAY_US;
    const lo = Math.max(createdUs, cal.startUs) + (EPISODE.leadDays + 2 * EPISODE.phaseDays + EPISODE.gapDays) * DAY_US;
    if (!has || lo >= cal.endUs) return;
    this.active = true;
    this.appliedUs = floorSec(lo + uApplied * (cal.endUs - lo));
    this.order = r.uniform() < 0.5 ? SURGE_THEN_CASH : CASH_THEN_SURGE;
    this.endUs = this.appliedUs - EPISODE.gapDays * DAY_US;
    this.switchUs = this.endUs - phaseUs;
    this.startUs = this.switchUs - phaseUs;
    const risky = this.order === SURGE_THEN_CASH;

    // The same events in either order: the surge fills phase 1 (risky) or phase 2 (benign).
    const incomeShift = 0.5 * Math.log(monthlyIncome / 4333);
    const nSurge = Math.min(MAX_PHASE_EVENTS, EPISODE.surgeMin + r.poisson(EPISODE.surgeExtra));
    const nCash = Math.min(MAX_PHASE_EVENTS, EPISODE.cashMin + r.poisson(EPISODE.cashExtra));
    const surgeFrom = risky ? this.startUs : this.switchUs;
    const cashFrom = risky ? this.switchUs : this.startUs;
    for (let k = 0; k < nSurge; k++) {
      const cat = EPISODE.surgeCats[r.categorical(EPISODE.surgeCatW)]!;
      this.event(r, surgeFrom, cat, incomeShift + EPISODE.surgeAmountShift);
    }
    for (let k = 0; k < nCash; k++) this.event(r, cashFrom, CASH_ADVANCE, incomeShift);
    this.sortEvents();

    // The consequence (drawn in both orders, used only in the risky one).
    const uDoom = r.uniform();
    this.rampLen = EPISODE.rampMin + r.int(EPISODE.rampSpan);
    this.distressU = r.uniform();
    let m = 0;
    while (this.appliedUs >= cal.monthStartUs[m + 1 + CAL_OFFSET]!) m++;
    this.appMonth = m;
    if (risky && uDoom < EPISODE.doom) this.distressMonth = m + EPISODE.distressAfterMonths;
  }

  /** One transaction at a uniform day of the phase starting at `fromUs`, 06:00-24:00. */
  private event(r: Rng, fromUs: number, cat: number, shift: number): void {
    const i = this.n++;
    const day = r.int(EPISODE.phaseDays);
    const tod = 21_600 + r.int(64_800);
    this.ts[i] = fromUs + day * DAY_US + tod * SECOND_US;
    this.cat[i] = cat;
    const amount = Math.exp(CAT_MU[cat]! + shift + CAT_SIGMA[cat]! * r.normal());
    this.amount[i] = Math.round(amount * 100) / 100 || 0.01;
    this.merchant[i] = pickMerchant(this.merchants, cat, r.uniform());
    this.channel[i] = r.categorical(CAT_CHANNEL_W[cat]!);
  }

  /** Insertion sort of the events by time (stable: ties keep draw order). */
  private sortEvents(): void {
    const { ts, cat, amount, merchant, channel } = this;
    for (let i = 1; i < this.n; i++) {
      const t = ts[i]!, c = cat[i]!, a = amount[i]!, mc = merchant[i]!, ch = channel[i]!;
      let j = i - 1;
      while (j >= 0 && ts[j]! > t) {
        ts[j + 1] = ts[j]!; cat[j + 1] = cat[j]!; amount[j + 1] = amount[j]!; merchant[j + 1] = merchant[j]!; channel[j + 1] = channel[j]!;
        j--;
      }
      ts[j + 1] = t; cat[j + 1] = c; amount[j + 1] = a; merchant[j + 1] = mc; channel[j + 1] = ch;
    }
  }
}

function floorSec(us: number): number {
  return Math.floor(us / SECOND_US) * SECOND_US;
}
