import type { ColumnBuffers, ColumnSchema } from '../store/index.js';
import {
  APPLICATIONS_SCHEMA, BORROWERS_SCHEMA, EARLY_LABELS_SCHEMA, LATENTS_SCHEMA, LOANS_SCHEMA, LOAN_LABELS_SCHEMA, REPAYMENTS_SCHEMA,
  TRANSACTIONS_SCHEMA,
} from './schema.js';

/**
 * Where rows go: `next()` gives the index of the next row in the column buffers, which stay the same
 * objects for the sink's life (a ColumnarAppender, or a BatchSink in the generator worker).
 */
export interface RowSink<S extends ColumnSchema> {
  readonly columns: ColumnBuffers<S>;
  next(): number;
}

/** The sinks a borrower writes into (one per per-borrower table). */
export interface Sinks {
  borrowers: RowSink<typeof BORROWERS_SCHEMA>;
  latents: RowSink<typeof LATENTS_SCHEMA>;
  transactions: RowSink<typeof TRANSACTIONS_SCHEMA>;
  applications: RowSink<typeof APPLICATIONS_SCHEMA>;
  loans: RowSink<typeof LOANS_SCHEMA>;
  repayments: RowSink<typeof REPAYMENTS_SCHEMA>;
  labels: RowSink<typeof LOAN_LABELS_SCHEMA>;
  early: RowSink<typeof EARLY_LABELS_SCHEMA>;
}

/** The per-borrower tables in sink order (the worker protocol numbers tables by this order). */
export const SINK_NAMES = ['borrowers', 'latents', 'transactions', 'applications', 'loans', 'repayments', 'labels', 'early'] as const;
export type SinkName = (typeof SINK_NAMES)[number];

export const SINK_SCHEMAS: { readonly [K in SinkName]: ColumnSchema } = {
  borrowers: BORROWERS_SCHEMA,
  latents: LATENTS_SCHEMA,
  transactions: TRANSACTIONS_SCHEMA,
  applications: APPLICATIONS_SCHEMA,
  loans: LOANS_SCHEMA,
  repayments: REPAYMENTS_SCHEMA,
  labels: LOAN_LABELS_SCHEMA,
  early: EARLY_LABELS_SCHEMA,
};

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

  toJSON(): Record<string, number> {
    return {
      txns: this.txns, applications: this.applications, approved: this.approved, loans: this.loans,
      repayments: this.repayments, matured: this.matured, maturedDefaults: this.maturedDefaults, labelled: this.labelled,
    };
  }

  assign(o: Record<string, number>): this {
    Object.assign(this, o);
    return this;
  }
}
