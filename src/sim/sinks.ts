import type { ColumnarAppender } from '../store/columnar.js';
import type {
  APPLICATIONS_SCHEMA, BORROWERS_SCHEMA, LATENTS_SCHEMA, LOANS_SCHEMA, LOAN_LABELS_SCHEMA, REPAYMENTS_SCHEMA,
  TRANSACTIONS_SCHEMA,
} from './schema.js';

/** The appenders a borrower writes into (one per per-borrower table). */
export interface Sinks {
  borrowers: ColumnarAppender<typeof BORROWERS_SCHEMA>;
  latents: ColumnarAppender<typeof LATENTS_SCHEMA>;
  transactions: ColumnarAppender<typeof TRANSACTIONS_SCHEMA>;
  applications: ColumnarAppender<typeof APPLICATIONS_SCHEMA>;
  loans: ColumnarAppender<typeof LOANS_SCHEMA>;
  repayments: ColumnarAppender<typeof REPAYMENTS_SCHEMA>;
  labels: ColumnarAppender<typeof LOAN_LABELS_SCHEMA>;
}

/** Running counts the generator keeps (ids are assigned from these, in borrower order). */
export class SimCounters {
  txns = 0;
  applications = 0;
  approved = 0;
  loans = 0;
  repayments = 0;
  /** Loans whose 12-month window closed within the horizon, and how many of them defaulted. */
  matured = 0;
  maturedDefaults = 0;
  /** Labels observable at the end of the horizon (matured, or defaulted early). */
  labelled = 0;

  get events(): number {
    return this.txns + this.applications + this.repayments;
  }
}
