import { Rng } from '../core/rng.js';
import {
  AGE_INCOME, AGE_W, AGE_Z, APP_CHANNEL_W, BASE_INCOME, CAL_OFFSET, CASH_ADVANCE, CAT_CHANNEL_W, CAT_MU, CAT_SIGMA,
  CAT_W_AFTER, CAT_W_BEFORE, STRESS_SIGNS_AFTER, STRESS_SIGNS_BEFORE, DAY_US, DECISION_HOURS, EMPLOYMENT_INCOME, EMPLOYMENT_SHOCK_HIT, EMPLOYMENT_TENURE_MEAN,
  EMPLOYMENT_W_BY_AGE, EMPLOYMENT_Z, GAMBLING, GROUP_B_INCOME, HOUR_US, NORMAL_CATS, PURPOSE_W, PURPOSE_W_STRESSED,
  REGION_GROUP_B, REGION_INCOME, REGION_W, REGION_Z, TERM_W, sigmoid, type Calendar,
} from './model.js';
import { Episode } from './episodes.js';
import { pickMerchant, type MerchantIndex } from './merchants.js';
import { LoanBook } from './loans.js';
import { TERMS } from './schema.js';
import type { SimOptions } from './options.js';
import type { SimCounters, Sinks } from './sinks.js';

/** Logit intercept of the monthly hazard of entering financial distress. */
const DISTRESS_H0 = -5.4;
/** Intercept of the lender's approval score (approve when the score is positive). */
const APPROVAL_A0 = 0.7;
const SECOND_US = 1_000_000;
/** NULL in an enum column (the store's ENUM_NULL_U8; not imported: the generator worker must not load DuckDB). */
const ENUM_NULL = 0xff;

const OK = 0;
const DISTRESS = 1;
const CURED = 2;
const DELINQUENT = 3;

/**
 * Generates one borrower's whole life in the horizon from its own random stream and writes it into the
 * sinks. The stream is `new Rng(seed, borrowerId)`, so a borrower's rows do not depend on which batch or
 * thread generates it; ids are assigned from running counters in borrower order.
 */
export class BorrowerGenerator {
  private readonly stress: Float64Array;
  /** Scratch for one month's transaction times (grown when a month has more). */
  private tsBuf = new Float64Array(4096);
  private readonly baseCumBefore: Float64Array;
  private readonly baseCumAfter: Float64Array;
  private readonly book: LoanBook;
  private readonly episode: Episode;

  constructor(
    private readonly opts: SimOptions,
    private readonly cal: Calendar,
    private readonly merchants: MerchantIndex,
    private readonly sinks: Sinks,
    private readonly counters: SimCounters,
  ) {
    this.stress = new Float64Array(opts.months);
    this.baseCumBefore = cum9(CAT_W_BEFORE);
    this.baseCumAfter = cum9(CAT_W_AFTER);
    this.book = new LoanBook(cal, sinks, counters, this.stress);
    this.episode = new Episode(opts, cal, merchants);
  }

  generate(borrowerId: number): void {
    const { opts, cal } = this;
    const r = new Rng(opts.seed, borrowerId);
    const M = opts.months;
    const shockMonth = opts.shockMonth ?? Infinity;
    this.stress.fill(0);

    // --- static attributes and latents ---
    const age = r.categorical(AGE_W);
    const region = r.categorical(REGION_W);
    const emp = r.categorical(EMPLOYMENT_W_BY_AGE[age]!);
    const groupB = r.bernoulli(REGION_GROUP_B[region]!);
    const z = REGION_Z[region]! + AGE_Z[age]! + EMPLOYMENT_Z[emp]! + 0.95 * r.normal();
    const income = Math.max(6000, round100(
      BASE_INCOME * REGION_INCOME[region]! * AGE_INCOME[age]! * EMPLOYMENT_INCOME[emp]! * (groupB ? GROUP_B_INCOME : 1)
      * Math.exp(0.22 * z + 0.42 * r.normal()),
    ));
    const tenureMean = EMPLOYMENT_TENURE_MEAN[emp]!;
    const tenure = tenureMean > 0 ? Math.min(480, Math.floor(r.exponential(1 / (tenureMean * Math.exp(0.15 * z))))) : 0;
    const vol = Math.exp(0.2 - 0.15 * z + 0.15 * r.normal());
    const gambAff = Math.exp(0.7 * r.normal() - 0.25);
    const activity = Math.exp(0.4 * r.normal() - 0.08);
    const shockHit = r.bernoulli(EMPLOYMENT_SHOCK_HIT[emp]! * (z < 0 ? 1.3 : 0.8)) && opts.shockMonth !== null;
    const shockFactor = 0.6 + 0.25 * r.uniform();
    const cm = r.bernoulli(0.55) ? -1 - r.int(36) : r.int(Math.max(1, Math.floor(0.8 * M)));
    const createdUs = floorSec(cal.monthStartUs[cm + CAL_OFFSET]! + r.uniform() * monthLenUs(cal, cm));

    const b = this.sinks.borrowers;
    const bi = b.next();
    const bc = b.columns;
    bc.borrower_id[bi] = borrowerId;
    bc.created_at[bi] = createdUs;
    bc.income[bi] = income;
    bc.age_band[bi] = age;
    bc.region[bi] = region;
    bc.employment_type[bi] = emp;
    bc.employment_tenure_months[bi] = tenure;
    bc.protected_group[bi] = groupB ? 1 : 0;
    const ep = this.episode;
    ep.draw(borrowerId, createdUs, income / 12);

    // --- month by month ---
    const book = this.book;
    book.reset(borrowerId);
    let state = OK;
    let onset = -1;
    let rampLen = 0;
    let curedAt = -1;
    let noise = 0;
    let firstDistressUs = NaN;
    let delinquentUs = NaN;
    const x = -z;
    const rateBase = opts.txnsPerMonth * activity;

    for (let m = Math.max(0, cm); m < M; m++) {
      const shocked = m >= shockMonth;
      const incomeNow = shocked && shockHit ? income * shockFactor : income;
      const monthlyIncome = incomeNow / 12;
      noise = 0.5 * noise + 0.3 * r.normal();
      const burden = book.activePayments(m) / monthlyIncome;
      const mStart = cal.monthStartUs[m + CAL_OFFSET]!;
      const mLen = monthLenUs(cal, m);

      // Financial distress: a hazard driven by low creditworthiness, debt burden, bad months and the shock.
      // Distress ramps up for 2-5 months, then either cures or turns into delinquency (absorbing).
      let ramp = 0;
      if ((state === OK || state === CURED) && m === ep.distressMonth) {
        // An order episode in the risky order sealed this distress (src/sim/episodes.ts).
        state = DISTRESS; onset = m; rampLen = ep.rampLen;
        ep.distressAt = floorSec(mStart + ep.distressU * mLen);
        if (firstDistressUs !== firstDistressUs) firstDistressUs = ep.distressAt;
      } else if (state === OK || state === CURED) {
        const logit = DISTRESS_H0 + 1.4 * x + 2.0 * burden + 1.0 * Math.max(0, noise)
          + (shocked ? (shockHit ? 1.5 : 0.5) : 0);
        if (r.uniform() < sigmoid(logit)) {
          state = DISTRESS; onset = m; rampLen = 2 + r.int(4);
          if (firstDistressUs !== firstDistressUs) firstDistressUs = floorSec(mStart + r.uniform() * mLen);
        } else if (state === CURED) {
          ramp = Math.max(0, 0.6 - 0.3 * (m - curedAt));
        }
      }
      if (state === DISTRESS) {
        if (m === ep.distressMonth && onset !== m) ep.distressAt = mStart;
        ramp = (m - onset + 1) / (rampLen + 1);
        if (m - onset >= rampLen) {
          if (m < ep.distressMonth && r.uniform() < 0.35 * sigmoid(z + 0.5)) { state = CURED; curedAt = m; ramp = 0.6; }
          else { state = DELINQUENT; delinquentUs = floorSec(mStart + r.uniform() * mLen); ramp = 1; }
        }
      } else if (state === DELINQUENT) {
        ramp = 1;
      }
      const stress = ramp + 0.5 * noise;
      this.stress[m] = stress;

      // Transactions of the month.
      const fromUs = createdUs > mStart ? createdUs : mStart;
      const frac = (mStart + mLen - fromUs) / mLen;
      const signs = shocked ? STRESS_SIGNS_AFTER : STRESS_SIGNS_BEFORE;
      const n = r.poisson(rateBase * Math.max(0.2, 1 + signs.rate * ramp) * (shocked ? 0.93 : 1) * frac);
      if (n > 0) {
        // After the shock cash advances are common among the merely squeezed (see STRESS_SIGNS_AFTER).
        const catBoost = shocked ? 1.0 + (shockHit ? 0.7 : 0) : 0;
        this.writeTxns(r, borrowerId, n, m, fromUs, shocked, ep, {
          gamb: 0.02 * gambAff * Math.exp(1.0 * x + signs.gambling * stress),
          cash: 0.02 * Math.exp(1.0 * x + signs.cash * stress + catBoost),
          amountShift: 0.5 * Math.log(monthlyIncome / 4333) - 0.25 * z + signs.amount * stress,
          sigmaMult: vol * (1 + 0.2 * ramp),
          pNight: sigmoid(-3.2 + 0.7 * x + 2.0 * stress),
        });
      }
      if (ep.nextTs() < mStart + mLen) this.counters.txns = this.writeEpisodeTxns(borrowerId, mStart + mLen, this.counters.txns);

      // Loan applications: more likely in distress, less likely with a loan running; borrowers already
      // delinquent (in collections) rarely apply.
      const pApply = state === DELINQUENT ? 0.012 : 0.04 * (book.activeCount(m) > 0 ? 0.25 : 1) * Math.exp(2.0 * ramp);
      const applies = book.size < LoanBook.MAX && r.uniform() < pApply;
      if (m === ep.appMonth) {
        // The episode's application replaces any other that month.
        if (book.size < LoanBook.MAX) ep.applicationId = this.application(r, borrowerId, m, fromUs, incomeNow, z, ramp, burden, state === DELINQUENT, ep.appliedUs);
      } else if (applies) {
        this.application(r, borrowerId, m, fromUs, incomeNow, z, ramp, burden, state === DELINQUENT);
      }
    }

    // --- repayments and labels, now that the delinquency time is known ---
    book.finish(r, delinquentUs);

    const l = this.sinks.latents;
    const li = l.next();
    const lc = l.columns;
    lc.borrower_id[li] = borrowerId;
    lc.creditworthiness[li] = z;
    lc.spend_volatility[li] = vol;
    lc.gambling_affinity[li] = gambAff;
    lc.shock_hit[li] = shockHit ? 1 : 0;
    lc.shock_income_factor[li] = shockHit ? shockFactor : 1;
    lc.first_distress_at[li] = firstDistressUs;
    lc.delinquent_at[li] = delinquentUs;
    lc.episode_order[li] = ep.active ? ep.order : ENUM_NULL;
    lc.episode_start_at[li] = ep.startUs;
    lc.episode_switch_at[li] = ep.switchUs;
    lc.episode_end_at[li] = ep.endUs;
    lc.episode_applied_at[li] = ep.appliedUs;
    lc.episode_application_id[li] = ep.applicationId;
    lc.episode_distress_at[li] = ep.distressAt;
  }

  private writeTxns(
    r: Rng, borrowerId: number, n: number, m: number, fromUs: number, shocked: boolean, ep: Episode,
    p: { gamb: number; cash: number; amountShift: number; sigmaMult: number; pNight: number },
  ): void {
    const { cal, merchants } = this;
    if (n > this.tsBuf.length) this.tsBuf = new Float64Array(n * 2);
    const ts = this.tsBuf;
    const mStart = cal.monthStartUs[m + CAL_OFFSET]!;
    const days = cal.monthDays[m + CAL_OFFSET]!;
    const firstDay = Math.floor((fromUs - mStart) / DAY_US);
    const nDays = days - firstDay;
    for (let k = 0; k < n; k++) {
      const day = firstDay + Math.floor(r.uniform() * nDays);
      const tod = r.uniform() < p.pNight ? Math.floor(r.uniform() * 18_000) : 21_600 + Math.floor(r.uniform() * 64_800);
      let t = mStart + day * DAY_US + tod * SECOND_US;
      if (t < fromUs) t = fromUs + Math.floor(r.uniform() * ((mStart + (day + 1) * DAY_US - fromUs) / SECOND_US)) * SECOND_US;
      ts[k] = t;
    }
    sortPrefix(ts, n);

    const cum = shocked ? this.baseCumAfter : this.baseCumBefore;
    const base = cum[NORMAL_CATS - 1]!;
    const totalW = base + p.gamb + p.cash;
    const w = this.sinks.transactions;
    const c = w.columns;
    let id = this.counters.txns;
    for (let k = 0; k < n; k++) {
      if (ep.nextTs() < ts[k]!) id = this.writeEpisodeTxns(borrowerId, ts[k]!, id);
      const u = r.uniform() * totalW;
      let cat: number;
      if (u >= base) cat = u < base + p.gamb ? GAMBLING : CASH_ADVANCE;
      else { cat = 0; while (u >= cum[cat]!) cat++; }
      const amount = Math.exp(CAT_MU[cat]! + p.amountShift + CAT_SIGMA[cat]! * p.sigmaMult * r.normal());
      const i = w.next();
      c.txn_id[i] = ++id;
      c.borrower_id[i] = borrowerId;
      c.ts[i] = ts[k]!;
      c.merchant_id[i] = pickMerchant(merchants, cat, r.uniform());
      c.category[i] = cat;
      c.amount[i] = Math.round(amount * 100) / 100 || 0.01;
      c.channel[i] = r.categorical(CAT_CHANNEL_W[cat]!);
    }
    this.counters.txns = id;
  }

  /** Writes the episode's transactions before `untilUs` (interleaved in time order); returns the last txn id. */
  private writeEpisodeTxns(borrowerId: number, untilUs: number, id: number): number {
    const ep = this.episode;
    const w = this.sinks.transactions;
    const c = w.columns;
    while (ep.next < ep.n && ep.ts[ep.next]! < untilUs) {
      const e = ep.next++;
      const i = w.next();
      c.txn_id[i] = ++id;
      c.borrower_id[i] = borrowerId;
      c.ts[i] = ep.ts[e]!;
      c.merchant_id[i] = ep.merchant[e]!;
      c.category[i] = ep.cat[e]!;
      c.amount[i] = ep.amount[e]!;
      c.channel[i] = ep.channel[e]!;
    }
    return id;
  }

  private application(
    r: Rng, borrowerId: number, m: number, fromUs: number, incomeNow: number, z: number, ramp: number,
    burden: number, delinquent: boolean, at?: number,
  ): number {
    const { cal } = this;
    const endOfMonth = cal.monthStartUs[m + 1 + CAL_OFFSET]!;
    const appliedUs = at ?? floorSec(fromUs + r.uniform() * (endOfMonth - fromUs));
    const requested = Math.min(50_000, Math.max(1000, round100(Math.exp(Math.log(incomeNow * 0.16) + 0.6 * r.normal()))));
    const term = TERMS[r.categorical(TERM_W)]!;
    const purpose = r.categorical(ramp > 0.4 ? PURPOSE_W_STRESSED : PURPOSE_W);
    const channel = r.categorical(APP_CHANNEL_W);
    const statedIncome = round100(incomeNow * Math.exp(0.04 + 0.05 * r.normal()));
    // The lender sees a noisy bureau view of creditworthiness, bureau delinquencies, recent inquiries
    // (which rise with distress), the loan-to-income ratio and the existing debt burden.
    const score = APPROVAL_A0 + 0.6 * z + 0.8 * r.normal() - (delinquent ? 1.6 : 0) - 0.3 * ramp
      - 2.0 * (requested / incomeNow) - 0.6 * burden;
    const approved = score > 0;
    const decisionUs = floorSec(appliedUs + r.exponential(1 / DECISION_HOURS[channel]!) * HOUR_US);
    if (decisionUs >= cal.endUs) return NaN; // decided after the horizon: not observed
    const takeUp = approved && r.uniform() < (score < 0.3 ? 0.75 : 0.88);
    const fundedUs = floorSec(decisionUs + r.exponential(1 / 30) * HOUR_US);
    const funded = takeUp && fundedUs < cal.endUs;

    const applicationId = ++this.counters.applications;
    if (approved) this.counters.approved++;
    const w = this.sinks.applications;
    const i = w.next();
    const c = w.columns;
    c.application_id[i] = applicationId;
    c.borrower_id[i] = borrowerId;
    c.applied_at[i] = appliedUs;
    c.requested_amount[i] = requested;
    c.term_months[i] = term;
    c.purpose[i] = purpose;
    c.channel[i] = channel;
    c.stated_income[i] = statedIncome;
    c.approved[i] = approved ? 1 : 0;
    c.decision_at[i] = decisionUs;
    c.funded[i] = funded ? 1 : 0;
    if (!funded) return applicationId;

    const amount = score < 0.4 ? Math.max(1000, round100(requested * (0.5 + 0.5 * r.uniform()))) : requested;
    const rate = Math.round((0.055 + 0.22 * sigmoid(0.5 - 1.8 * score)) * 10_000) / 10_000;
    let fundedMonth = m;
    while (fundedUs >= cal.monthStartUs[fundedMonth + 1 + CAL_OFFSET]!) fundedMonth++;
    this.book.fund(applicationId, borrowerId, fundedUs, fundedMonth, amount, term, rate);
    return applicationId;
  }
}

function cum9(w: readonly number[]): Float64Array {
  const out = new Float64Array(NORMAL_CATS);
  let s = 0;
  for (let i = 0; i < NORMAL_CATS; i++) { s += w[i]!; out[i] = s; }
  return out;
}

/** Sorts the first n values ascending (insertion sort for the usual handful, native sort otherwise). */
function sortPrefix(a: Float64Array, n: number): void {
  if (n > 32) { a.subarray(0, n).sort(); return; }
  for (let i = 1; i < n; i++) {
    const v = a[i]!;
    let j = i - 1;
    while (j >= 0 && a[j]! > v) { a[j + 1] = a[j]!; j--; }
    a[j + 1] = v;
  }
}

function monthLenUs(cal: Calendar, m: number): number {
  return cal.monthStartUs[m + 1 + CAL_OFFSET]! - cal.monthStartUs[m + CAL_OFFSET]!;
}

function round100(v: number): number {
  return Math.round(v / 100) * 100;
}

function floorSec(us: number): number {
  return Math.floor(us / SECOND_US) * SECOND_US;
}
