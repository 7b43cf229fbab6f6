/**
 * The demo project's feature definitions over the simulator's tables: about thirty features of a
 * borrower's card spending, loan applications, decisions (late data), repayments and profile, and the
 * feature set `credit_v1` a credit model trains on.
 *
 * They are the demo's, not kiln's: `npm run demo` (scripts/demo.ts) copies this file into the demo
 * project beside its kiln.config.ts, which imports it:
 *
 *   import { DEMO_FEATURES } from './features.js';
 *   export default defineConfig({ name: 'kiln-demo', features: DEMO_FEATURES });
 */

import {
  attribute, count, countDistinct, derived, div, entity, eventSource, featureSet, last, lastK, max, mean, percentile,
  snapshotSource, stddev, sum, timeSinceLast,
} from 'kiln';

/**
 * The simulator's merchant categories, frozen here as definition-time bucket values (a test checks they
 * match the simulator's list), so the config layer never imports the simulator.
 */
export const DEMO_CATEGORIES = [
  'grocery', 'fuel', 'restaurants', 'travel', 'electronics', 'online_retail', 'utilities', 'pharmacy',
  'entertainment', 'gambling', 'cash_advance',
] as const;

export const borrower = entity('borrower', { key: 'borrower_id', description: 'A retail borrower', owner: 'credit-risk' });

export const transactions = eventSource('transactions', {
  entity: borrower, timestamp: 'ts', tiebreak: 'txn_id',
  columns: { txn_id: 'bigint', amount: 'double', category: 'varchar', merchant_id: 'bigint', channel: 'varchar' },
  description: 'Card and bank transactions',
});
export const applications = eventSource('applications', {
  entity: borrower, timestamp: 'applied_at', tiebreak: 'application_id',
  columns: { application_id: 'bigint', requested_amount: 'double', term_months: 'integer', purpose: 'varchar' },
  description: 'Loan applications as submitted',
});
/** The same table read for its decisions, which are known only from decision_at on (late data). */
export const decisions = eventSource('decisions', {
  entity: borrower, table: 'applications', timestamp: 'applied_at', availableAt: 'decision_at',
  columns: { approved: 'boolean', funded: 'boolean' },
  description: 'Lender decisions on applications, available once decided',
});
/** Paid installments; days_past_due is known when the payment arrives. Unpaid installments have no paid_at. */
export const repayments = eventSource('repayments', {
  entity: borrower, timestamp: 'paid_at', tiebreak: 'repayment_id',
  columns: { repayment_id: 'bigint', paid_amount: 'double', days_past_due: 'integer' },
  description: 'Installment payments as they arrive',
});
export const installments = eventSource('installments', {
  entity: borrower, table: 'repayments', timestamp: 'due_date', columns: { amount_due: 'double' },
  description: 'Installments by due date',
});
export const profile = snapshotSource('profile', {
  entity: borrower, table: 'borrowers', timestamp: 'created_at',
  columns: { income: 'double', employment_tenure_months: 'integer', employment_type: 'varchar', region: 'varchar', age_band: 'varchar', protected_group: 'varchar' },
  description: 'Attributes stated at signup',
});

const owner = 'credit-risk';
export const txnCount7d = count(transactions, { name: 'txn_count_7d', window: '7d', owner });
export const txnCount30d = count(transactions, { name: 'txn_count_30d', window: '30d', owner });
export const spend7d = sum(transactions, 'amount', { name: 'spend_7d', window: '7d', owner });
export const spend30d = sum(transactions, 'amount', { name: 'spend_30d', window: '30d', owner, description: 'Total spend over 30 days' });
export const spend90d = sum(transactions, 'amount', { name: 'spend_90d', window: '90d', owner });
export const spend365d = sum(transactions, 'amount', { name: 'spend_365d', window: '365d', owner });
export const avgTicket30d = mean(transactions, 'amount', { name: 'avg_ticket_30d', window: '30d', owner });
export const maxTicket90d = max(transactions, 'amount', { name: 'max_ticket_90d', window: '90d', owner });
export const ticketStddev90d = stddev(transactions, 'amount', { name: 'ticket_stddev_90d', window: '90d', owner });
export const ticketP90_90d = percentile(transactions, 'amount', { name: 'ticket_p90_90d', window: '90d', p: 0.9, owner });
export const merchants30d = countDistinct(transactions, 'merchant_id', { name: 'merchants_30d', window: '30d', owner });
export const spendByCategory30d = sum(transactions, 'amount', {
  name: 'spend_30d_by_category', window: '30d', by: { column: 'category', values: DEMO_CATEGORIES }, owner,
  description: 'Spend per merchant category over 30 days (one column per category)',
});
export const gamblingSpend90d = sum(transactions, 'amount', { name: 'gambling_spend_90d', window: '90d', where: { category: 'gambling' }, owner });
export const cashAdvances90d = count(transactions, { name: 'cash_advances_90d', window: '90d', where: { category: 'cash_advance' }, owner });
export const atmCount30d = count(transactions, { name: 'atm_count_30d', window: '30d', where: { channel: 'atm' }, owner });
export const onlineCount30d = count(transactions, { name: 'online_count_30d', window: '30d', where: { channel: 'online' }, owner });
export const daysSinceLastTxn = timeSinceLast(transactions, { name: 'days_since_last_txn', unit: 'd', owner });
export const recentTxns = lastK(transactions, {
  name: 'recent_txns', k: 20, fields: ['amount', 'category', 'channel'], window: '90d', owner,
  description: 'The last 20 transactions (90 days), oldest first: the sequence model input',
});

export const applications30d = count(applications, { name: 'applications_30d', window: '30d', owner });
export const applications365d = count(applications, { name: 'applications_365d', window: '365d', owner });
export const lastRequestedAmount = last(applications, 'requested_amount', { name: 'last_requested_amount', window: 'lifetime', owner });
export const daysSinceLastApplication = timeSinceLast(applications, { name: 'days_since_last_application', unit: 'd', owner });
export const approvals365d = count(decisions, { name: 'approvals_365d', window: '365d', where: { approved: true }, owner });
export const fundedLoans = count(decisions, { name: 'funded_loans', window: 'lifetime', where: { funded: true }, owner });

export const latePayments365d = count(repayments, { name: 'late_payments_365d', window: '365d', where: { days_past_due: { gt: 0 } }, owner });
export const maxDaysPastDue365d = max(repayments, 'days_past_due', { name: 'max_days_past_due_365d', window: '365d', owner });
export const repaid90d = sum(repayments, 'paid_amount', { name: 'repaid_90d', window: '90d', owner });
export const payments90d = count(repayments, { name: 'payments_90d', window: '90d', owner });
export const installmentsDue90d = count(installments, { name: 'installments_due_90d', window: '90d', owner });

export const income = attribute(profile, 'income', { name: 'income', owner, description: 'Annual income stated at signup' });
export const tenure = attribute(profile, 'employment_tenure_months', { name: 'employment_tenure_months', owner });
export const employmentType = attribute(profile, 'employment_type', { name: 'employment_type', owner });
/** For slicing metrics; not in credit_v1. */
export const region = attribute(profile, 'region', { name: 'region', owner });
/**
 * The simulator's protected attribute: a prohibited basis. Fairness tests may compute it; training
 * refuses it as a model input.
 */
export const protectedGroup = attribute(profile, 'protected_group', { name: 'protected_group', owner, tags: ['prohibited-basis'], description: 'Protected attribute, for fairness testing only' });

export const spendToIncome = derived('spend_to_income', div(spend30d, div(income, 12)), { owner, description: '30-day spend over monthly income' });
export const gamblingShare90d = derived('gambling_share_90d', div(gamblingSpend90d, spend90d), { owner });
export const spendTrend = derived('spend_trend', div(spend30d, div(spend90d, 3)), { owner, description: 'Last month against the 3-month average' });
export const onlineShare30d = derived('online_share_30d', div(onlineCount30d, txnCount30d), { owner });
export const paymentCoverage90d = derived('payment_coverage_90d', div(payments90d, installmentsDue90d), { owner, description: 'Payments made per installment due (90 days)' });

const creditFeatures = [
  txnCount7d, txnCount30d, spend7d, spend30d, spend90d, spend365d, avgTicket30d, maxTicket90d, ticketStddev90d, ticketP90_90d,
  merchants30d, spendByCategory30d, gamblingSpend90d, cashAdvances90d, atmCount30d, daysSinceLastTxn,
  applications30d, applications365d, lastRequestedAmount, daysSinceLastApplication, approvals365d, fundedLoans,
  latePayments365d, maxDaysPastDue365d, repaid90d, installmentsDue90d, income, tenure, employmentType,
  spendToIncome, gamblingShare90d, spendTrend, onlineShare30d, paymentCoverage90d,
] as const;

export const creditV1 = featureSet('credit_v1', creditFeatures, { owner, description: 'Application-time credit features for the default model' });
export const sequenceV1 = featureSet('sequences_v1', [recentTxns, daysSinceLastTxn, income], { owner, description: 'Transaction sequences for a sequence encoder' });

/** Everything the demo config lists in `features`. */
export const DEMO_FEATURES = [
  borrower, transactions, applications, decisions, repayments, installments, profile,
  ...creditFeatures, onlineCount30d, payments90d, recentTxns, region, protectedGroup, creditV1, sequenceV1,
] as const;

/** The demo credit model's reason groups: correlated features reported as one adverse-action reason. */
export const DEMO_REASON_GROUPS: Record<'delinquency' | 'spending', string[]> = Object.freeze({
  delinquency: ['late_payments_365d', 'max_days_past_due_365d'],
  spending: ['spend_to_income', 'spend_7d', 'spend_30d', 'spend_90d', 'spend_365d'],
});

/**
 * Adverse-action reason text for every reason the demo credit model (`credit_v1`) can give: each reason
 * group and every feature outside a group (a test keeps this complete).
 */
export const DEMO_REASONS: Readonly<Record<string, string>> = Object.freeze({
  delinquency: 'Delinquency on recent payments',
  spending: 'Spending high relative to income',
  gambling_share_90d: 'Share of spending on gambling',
  gambling_spend_90d: 'Amount spent on gambling',
  cash_advances_90d: 'Use of cash advances',
  income: 'Income insufficient for the amount of credit',
  applications_30d: 'Number of recent credit applications',
  applications_365d: 'Number of credit applications in the last year',
  employment_tenure_months: 'Length of employment',
  employment_type: 'Type of employment',
  txn_count_7d: 'Number of card transactions in the last week',
  txn_count_30d: 'Number of card transactions in the last month',
  avg_ticket_30d: 'Average purchase amount',
  max_ticket_90d: 'Largest recent purchase',
  ticket_stddev_90d: 'Variability of purchase amounts',
  ticket_p90_90d: 'Size of larger recent purchases',
  merchants_30d: 'Number of different merchants used',
  spend_30d_by_category: 'Pattern of spending across merchant categories',
  atm_count_30d: 'Number of cash withdrawals',
  days_since_last_txn: 'Time since the account was last used',
  last_requested_amount: 'Amount of credit requested',
  days_since_last_application: 'Time since the last credit application',
  approvals_365d: 'Number of credit approvals in the last year',
  funded_loans: 'Number of loans already taken',
  repaid_90d: 'Amount repaid recently',
  installments_due_90d: 'Number of installments recently due',
  spend_trend: 'Recent increase in spending',
  online_count_30d: 'Number of online purchases',
  online_share_30d: 'Share of purchases made online',
  payments_90d: 'Number of recent payments',
  payment_coverage_90d: 'Payments made short of installments due',
});
