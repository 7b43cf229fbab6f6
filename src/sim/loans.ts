import type { Rng } from '../core/rng.js';
import { CAL_OFFSET, DAY_US, dayOfMonthUs, type Calendar } from './model.js';
import type { SimCounters, Sinks } from './sinks.js';

/** Days past due at which a loan is in default. */
export const DEFAULT_DPD = 90;
/** Months after funding within which a default counts for `default_12m`. */
export const LABEL_WINDOW_MONTHS = 12;
/** Months after funding whose installments count for the early (proxy) labels of `early_labels`. */
export const EARLY_WINDOW_MONTHS = 3;
/** Days-past-due thresholds of the early labels. */
export const EARLY_DPD = { dpd60_3m: 60, dpd30_3m: 30 } as const;
const DPD60_US = EARLY_DPD.dpd60_3m * DAY_US;
const DPD30_US = EARLY_DPD.dpd30_3m * DAY_US;

/**
 * One borrower's funded loans: written to `loans` when funded, then, once the borrower's delinquency
 * time is known (the end of its month loop), expanded into `repayments`, `loan_labels` and
 * `early_labels`. The early labels come from the same pass over the installments (no extra draws): an
 * installment due within EARLY_WINDOW_MONTHS of funding crosses d days past due at due + d days when it
 * is paid at or after that instant, or is still unpaid then at the end of the horizon (exactly when its
 * `days_past_due` is >= d).
 */
export class LoanBook {
  static readonly MAX = 32;
  size = 0;
  private borrowerId = 0;
  private readonly loanId = new Float64Array(LoanBook.MAX);
  private readonly fundedUs = new Float64Array(LoanBook.MAX);
  private readonly fundedMonth = new Int32Array(LoanBook.MAX);
  private readonly term = new Int32Array(LoanBook.MAX);
  private readonly payment = new Float64Array(LoanBook.MAX);

  constructor(
    private readonly cal: Calendar,
    private readonly sinks: Sinks,
    private readonly counters: SimCounters,
    /** The borrower's stress by month (set by the generator); it drives late payments. */
    private readonly stress: Float64Array,
  ) {}

  reset(borrowerId: number): void {
    this.borrowerId = borrowerId;
    this.size = 0;
  }

  /** Sum of the monthly payments of loans with an installment due in month m. */
  activePayments(m: number): number {
    let s = 0;
    for (let k = 0; k < this.size; k++) {
      const fm = this.fundedMonth[k]!;
      if (fm < m && m <= fm + this.term[k]!) s += this.payment[k]!;
    }
    return s;
  }

  /** Loans funded and not yet fully repaid in month m. */
  activeCount(m: number): number {
    let n = 0;
    for (let k = 0; k < this.size; k++) {
      const fm = this.fundedMonth[k]!;
      if (fm <= m && m <= fm + this.term[k]!) n++;
    }
    return n;
  }

  fund(applicationId: number, borrowerId: number, fundedUs: number, fundedMonth: number, amount: number, term: number, rate: number): void {
    const loanId = ++this.counters.loans;
    const rm = rate / 12;
    const payment = Math.round((amount * rm) / (1 - Math.pow(1 + rm, -term)) * 100) / 100;
    const w = this.sinks.loans;
    const i = w.next();
    const c = w.columns;
    c.loan_id[i] = loanId;
    c.application_id[i] = applicationId;
    c.borrower_id[i] = borrowerId;
    c.funded_at[i] = fundedUs;
    c.amount[i] = amount;
    c.term_months[i] = term;
    c.interest_rate[i] = rate;
    c.monthly_payment[i] = payment;
    const k = this.size++;
    this.loanId[k] = loanId;
    this.fundedUs[k] = fundedUs;
    this.fundedMonth[k] = fundedMonth;
    this.term[k] = term;
    this.payment[k] = payment;
  }

  /**
   * Writes every installment due within the horizon and the label of each loan. Installments due at or
   * after `delinquentUs` (NaN: never) are missed; the others are paid, late with a probability that
   * rises with the borrower's stress in the due month (never 90 days late, so only delinquency defaults).
   */
  finish(r: Rng, delinquentUs: number): void {
    const { cal } = this;
    const endUs = cal.endUs;
    const rep = this.sinks.repayments;
    const rc = rep.columns;
    const lab = this.sinks.labels;
    const lc = lab.columns;
    const bid = this.borrowerId;
    for (let k = 0; k < this.size; k++) {
      const loanId = this.loanId[k]!;
      const fundedUs = this.fundedUs[k]!;
      const fm = this.fundedMonth[k]!;
      const fStartUs = cal.monthStartUs[fm + CAL_OFFSET]!;
      const fday = Math.floor((fundedUs - fStartUs) / DAY_US);
      const ftod = fundedUs - fStartUs - fday * DAY_US;
      const term = this.term[k]!;
      const payment = this.payment[k]!;
      let firstMissedUs = NaN;
      let first60Us = NaN; // first 60 / 30 dpd crossing among the early-window installments
      let first30Us = NaN;
      for (let j = 1; j <= term; j++) {
        const dm = fm + j;
        const dueUs = dayOfMonthUs(cal, dm, fday, 0);
        if (dueUs >= endUs) break;
        const i = rep.next();
        rc.repayment_id[i] = ++this.counters.repayments;
        rc.loan_id[i] = loanId;
        rc.borrower_id[i] = bid;
        rc.installment[i] = j;
        rc.due_date[i] = dueUs / DAY_US;
        rc.amount_due[i] = payment;
        let paidUs = NaN;
        if (!(dueUs >= delinquentUs)) {
          const s = this.stress[dm] ?? 0;
          const tod = Math.floor(r.uniform() * 86_400) * 1_000_000;
          paidUs = r.uniform() < 0.03 + 0.25 * Math.max(0, s)
            ? dueUs + (1 + Math.min(75, Math.floor(r.exponential(1 / 7)))) * DAY_US + tod
            : dueUs - r.int(4) * DAY_US + tod;
          if (paidUs >= endUs) paidUs = NaN;
        } else if (firstMissedUs !== firstMissedUs) {
          firstMissedUs = dueUs;
        }
        if (j <= EARLY_WINDOW_MONTHS) {
          const reachedUs = paidUs === paidUs ? paidUs : endUs; // unpaid: as late as observed
          if (first60Us !== first60Us && dueUs + DPD60_US <= reachedUs) first60Us = dueUs + DPD60_US;
          if (first30Us !== first30Us && dueUs + DPD30_US <= reachedUs) first30Us = dueUs + DPD30_US;
        }
        if (paidUs === paidUs) {
          rc.paid_at[i] = paidUs;
          rc.paid_amount[i] = payment;
          rc.days_past_due[i] = Math.max(0, Math.floor((paidUs - dueUs) / DAY_US));
        } else {
          rc.paid_at[i] = NaN;
          rc.paid_amount[i] = 0;
          rc.days_past_due[i] = Math.floor((endUs - dueUs) / DAY_US);
        }
      }

      // Label: default = 90 days past due on the first missed installment.
      const defaultUs = firstMissedUs + DEFAULT_DPD * DAY_US; // NaN when nothing was missed
      const windowUs = dayOfMonthUs(cal, fm + LABEL_WINDOW_MONTHS, fday, ftod);
      const defaultObserved = defaultUs < endUs;
      let label: number;
      let availableUs: number;
      if (defaultObserved && defaultUs <= windowUs) { label = 1; availableUs = defaultUs; }
      else if (windowUs <= endUs) { label = 0; availableUs = windowUs; }
      else { label = 0; availableUs = NaN; } // not yet observable: NULLed after the append
      if (windowUs <= endUs) {
        this.counters.matured++;
        if (label === 1) this.counters.maturedDefaults++;
      }
      if (availableUs === availableUs) this.counters.labelled++;
      const i = lab.next();
      lc.loan_id[i] = loanId;
      lc.borrower_id[i] = bid;
      lc.funded_at[i] = fundedUs;
      lc.default_12m[i] = label;
      lc.defaulted_at[i] = defaultObserved ? defaultUs : NaN;
      lc.label_available_at[i] = availableUs;
      const lastEarlyDueUs = dayOfMonthUs(cal, fm + Math.min(EARLY_WINDOW_MONTHS, term), fday, 0);
      this.writeEarly(loanId, fundedUs, first60Us, first30Us, lastEarlyDueUs);
    }
  }

  /**
   * One `early_labels` row. A label is bad from its first threshold crossing; good once the last
   * early-window installment is due + the threshold with no crossing (none can cross any more);
   * unknown (NaN availability, NULLed after the append) if neither happened by the end of the horizon.
   */
  private writeEarly(loanId: number, fundedUs: number, first60Us: number, first30Us: number, lastDueUs: number): void {
    const endUs = this.cal.endUs;
    const w = this.sinks.early;
    const i = w.next();
    const c = w.columns;
    c.loan_id[i] = loanId;
    c.borrower_id[i] = this.borrowerId;
    c.funded_at[i] = fundedUs;
    const good60Us = lastDueUs + DPD60_US;
    c.dpd60_3m[i] = first60Us === first60Us ? 1 : 0;
    c.dpd60_3m_available_at[i] = first60Us === first60Us ? first60Us : good60Us <= endUs ? good60Us : NaN;
    const good30Us = lastDueUs + DPD30_US;
    c.dpd30_3m[i] = first30Us === first30Us ? 1 : 0;
    c.dpd30_3m_available_at[i] = first30Us === first30Us ? first30Us : good30Us <= endUs ? good30Us : NaN;
  }
}
