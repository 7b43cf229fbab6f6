/** An enum column (like columnar's enumOf, without loading DuckDB: the generator worker imports this file). */
function enumOf<const T extends readonly string[]>(values: T): { readonly enum: T } {
  return { enum: values };
}

/** Categorical vocabularies of the simulated world. Order matters: the appenders write indexes. */
export const AGE_BANDS = ['18-24', '25-34', '35-44', '45-54', '55-64', '65+'] as const;
export const REGIONS = [
  'metro_north', 'metro_south', 'suburban_east', 'suburban_west', 'coastal', 'central', 'rural_north', 'rural_south',
] as const;
export const EMPLOYMENT_TYPES = ['salaried', 'self_employed', 'contract', 'gig', 'retired', 'unemployed'] as const;
export const PROTECTED_GROUPS = ['group_a', 'group_b'] as const;
/** Merchant categories; the two risky ones are last (their weights move with the latents and stress). */
export const CATEGORIES = [
  'grocery', 'fuel', 'restaurants', 'travel', 'electronics', 'online_retail', 'utilities', 'pharmacy',
  'entertainment', 'gambling', 'cash_advance',
] as const;
export const TXN_CHANNELS = ['pos', 'contactless', 'online', 'atm'] as const;
export const APP_PURPOSES = [
  'debt_consolidation', 'home_improvement', 'car', 'medical', 'education', 'business', 'major_purchase', 'other',
] as const;
export const APP_CHANNELS = ['web', 'mobile', 'branch', 'broker'] as const;
export const TERMS = [12, 24, 36, 48, 60] as const;
/** Order episodes (src/sim/episodes.ts): the risky order first. */
export const EPISODE_ORDERS = ['surge_then_cash', 'cash_then_surge'] as const;

export const BORROWERS_SCHEMA = {
  borrower_id: 'int64',
  created_at: 'timestamp',
  income: 'float64',
  age_band: enumOf(AGE_BANDS),
  region: enumOf(REGIONS),
  employment_type: enumOf(EMPLOYMENT_TYPES),
  employment_tenure_months: 'int32',
  protected_group: enumOf(PROTECTED_GROUPS),
} as const;

export const LATENTS_SCHEMA = {
  borrower_id: 'int64',
  creditworthiness: 'float64',
  spend_volatility: 'float64',
  gambling_affinity: 'float64',
  shock_hit: 'bool',
  shock_income_factor: 'float64',
  first_distress_at: 'timestamp',
  delinquent_at: 'timestamp',
  /** Order episode ground truth (NULL without an episode; see docs/simulator.md, "Order episodes"). */
  episode_order: enumOf(EPISODE_ORDERS),
  episode_start_at: 'timestamp',
  episode_switch_at: 'timestamp',
  episode_end_at: 'timestamp',
  episode_applied_at: 'timestamp',
  episode_application_id: 'int64',
  episode_distress_at: 'timestamp',
} as const;

export const MERCHANTS_SCHEMA = {
  merchant_id: 'int64',
  category: enumOf(CATEGORIES),
  risk_tier: 'int32',
} as const;

export const TRANSACTIONS_SCHEMA = {
  txn_id: 'int64',
  borrower_id: 'int64',
  ts: 'timestamp',
  merchant_id: 'int64',
  category: enumOf(CATEGORIES),
  amount: 'float64',
  channel: enumOf(TXN_CHANNELS),
} as const;

export const APPLICATIONS_SCHEMA = {
  application_id: 'int64',
  borrower_id: 'int64',
  applied_at: 'timestamp',
  requested_amount: 'float64',
  term_months: 'int32',
  purpose: enumOf(APP_PURPOSES),
  channel: enumOf(APP_CHANNELS),
  stated_income: 'float64',
  approved: 'bool',
  decision_at: 'timestamp',
  funded: 'bool',
} as const;

export const LOANS_SCHEMA = {
  loan_id: 'int64',
  application_id: 'int64',
  borrower_id: 'int64',
  funded_at: 'timestamp',
  amount: 'float64',
  term_months: 'int32',
  interest_rate: 'float64',
  monthly_payment: 'float64',
} as const;

export const REPAYMENTS_SCHEMA = {
  repayment_id: 'int64',
  loan_id: 'int64',
  borrower_id: 'int64',
  installment: 'int32',
  due_date: 'date',
  amount_due: 'float64',
  paid_at: 'timestamp',
  paid_amount: 'float64',
  days_past_due: 'int32',
} as const;

export const LOAN_LABELS_SCHEMA = {
  loan_id: 'int64',
  borrower_id: 'int64',
  funded_at: 'timestamp',
  default_12m: 'bool',
  defaulted_at: 'timestamp',
  label_available_at: 'timestamp',
} as const;

/**
 * Early (proxy) labels: did an installment due within 3 months of funding reach 30 / 60 days past due.
 * Each label has its own availability (the 30-day one is never known later than the 60-day one).
 */
export const EARLY_LABELS_SCHEMA = {
  loan_id: 'int64',
  borrower_id: 'int64',
  funded_at: 'timestamp',
  dpd60_3m: 'bool',
  dpd60_3m_available_at: 'timestamp',
  dpd30_3m: 'bool',
  dpd30_3m_available_at: 'timestamp',
} as const;

export type SimTableName =
  | 'borrowers' | 'borrower_latents' | 'merchants' | 'transactions' | 'applications' | 'loans' | 'repayments' | 'loan_labels'
  | 'early_labels';

export interface SimTableInfo {
  name: SimTableName;
  /** Primary key: unique and never NULL (what `kiln ingest --key` enforces when appending). */
  keyColumn?: string;
  timestampColumn?: string;
  /** Counted in `totalEvents` (transactions, applications, repayments). */
  event: boolean;
  description: string;
}

/** The tables `simulate` writes, in write order. */
export const SIM_TABLES: readonly SimTableInfo[] = [
  { name: 'borrowers', keyColumn: 'borrower_id', timestampColumn: 'created_at', event: false,
    description: 'One row per borrower: signup time and static attributes (income as stated at signup).' },
  { name: 'borrower_latents', keyColumn: 'borrower_id', event: false,
    description: 'Ground truth of the generator (latent creditworthiness, shock exposure, distress and delinquency times, order episodes). For tests and docs only; never use as features.' },
  { name: 'merchants', keyColumn: 'merchant_id', event: false,
    description: 'Merchants with their category and risk tier (1 low .. 3 high).' },
  { name: 'transactions', keyColumn: 'txn_id', timestampColumn: 'ts', event: true,
    description: 'Card and bank transactions; the mix, size and timing depend on creditworthiness and on financial stress, which rises before delinquency.' },
  { name: 'applications', keyColumn: 'application_id', timestampColumn: 'applied_at', event: true,
    description: 'Loan applications with the lender decision (decision_at) and whether the loan was funded.' },
  { name: 'loans', keyColumn: 'loan_id', timestampColumn: 'funded_at', event: false,
    description: 'Funded loans: amount, term, rate and the monthly annuity payment.' },
  { name: 'repayments', keyColumn: 'repayment_id', timestampColumn: 'due_date', event: true,
    description: 'One row per installment due within the horizon; paid_at is NULL when unpaid at the end of the horizon; days_past_due is as of paid_at, or as of the end of the horizon when unpaid.' },
  { name: 'loan_labels', keyColumn: 'loan_id', timestampColumn: 'label_available_at', event: false,
    description: 'default_12m (90+ days past due within 12 months of funding) per funded loan; label_available_at is when the label became known; both are NULL while the label is not yet observable at the end of the horizon.' },
  { name: 'early_labels', keyColumn: 'loan_id', timestampColumn: 'dpd60_3m_available_at', event: false,
    description: 'Faster-maturing proxy labels per funded loan: dpd60_3m / dpd30_3m (an installment due within 3 months of funding reached 60 / 30 days past due), each with its own availability time (the threshold crossing for a bad loan, else the third installment\'s due date + 60 / 30 days); NULL while not yet observable at the end of the horizon.' },
];
