import {
  attribute, count, defineConfig, derived, div, entity, eventSource, featureSet, last, lastK, max, mean, min, snapshotSource, stddev, sum, timeSinceLast,
} from 'kiln';

/**
 * The PKDD'99 Berka Czech bank data (see /work/shared/data/README.md, section 2), as kiln tables.
 * The files are `;`-separated with quoted strings; dates are YYMMDD (930705 = 1993-07-05), parsed with
 * the format '%y%m%d'. Load every file with `examples/berka/ingest.sh [DIR]`.
 * Then `examples/berka/run.ts [DIR]` trains and reports the loan-default model declared below
 * (`npx tsx examples/berka/run.ts [DIR] [--sequence]`; with --sequence also the sequence model).
 *
 * Features: an account's transactions before the loan date (windowed sums, counts, balances, the last
 * ten transactions), and the account's own attributes. The model: default = loan status B (finished,
 * not paid) or D (running, in debt), over all 682 loans, with a seeded random split.
 *
 * An honest note on size: 682 loans and 76 defaults, and the transaction file here ends on 1994-10-30,
 * so only the 104 loans granted before then have their transaction history (kiln's coverage warning says
 * so at training time); for the others the transaction features are empty and the model leans on the
 * loan's own terms. Test metrics on ~170 loans and ~19 defaults have wide error bars: this example shows
 * the path from the bank's raw exports to a tracked, reported model, not a production scorecard.
 *
 * The sequence model `loan_default_seq` (docs/nn.md): a GRU over `txn_history`, the account's last 64
 * transactions in the year before the loan. The 90-day `recent_txns` (k 10) holds about half of that
 * window's transactions (17.6 on average, up to 31) and reaches 130 loans (21 defaults); a year reaches
 * 176 loans (28 of the 76 defaults) with 53 transactions on average (median 54), so k 64 keeps most
 * of it. The GBDT `loan_default` is unchanged (same features, same results). With test and validation
 * splits of ~170 and ~136 loans, the sequence model's AUC moves a lot with its seed:
 * bench/nn-evidence.ts reports the spread.
 */
const account_ = entity('account', { key: 'account_id', description: 'A bank account (the borrower of a loan)' });
export const transactions = eventSource('transactions', {
  entity: account_, table: 'trans', timestamp: 'date', tiebreak: 'trans_id',
  columns: { trans_id: 'bigint', amount: 'double', balance: 'double', type: 'varchar', operation: 'varchar', k_symbol: 'varchar' },
  description: 'Account transactions (credits, debits, withdrawals) with the balance after each',
});
export const accounts = snapshotSource('accounts', {
  entity: account_, table: 'account', timestamp: 'date',
  columns: { district_id: 'integer', frequency: 'varchar' },
  description: 'The account as opened: district and statement frequency',
});
const owner = 'berka-example';
const txns90d = count(transactions, { name: 'txn_count_90d', window: '90d', owner });
const credits90d = sum(transactions, 'amount', { name: 'credits_90d', window: '90d', where: { type: 'PRIJEM' }, owner, description: 'Money in over 90 days' });
const debits90d = sum(transactions, 'amount', { name: 'debits_90d', window: '90d', where: { type: 'VYDAJ' }, owner, description: 'Money out over 90 days' });
const withdrawals90d = count(transactions, { name: 'cash_withdrawals_90d', window: '90d', where: { type: 'VYBER' }, owner });
const meanBalance90d = mean(transactions, 'balance', { name: 'mean_balance_90d', window: '90d', owner });
const minBalance90d = min(transactions, 'balance', { name: 'min_balance_90d', window: '90d', owner });
const balanceStddev90d = stddev(transactions, 'balance', { name: 'balance_stddev_90d', window: '90d', owner });
const maxDebit365d = max(transactions, 'amount', { name: 'max_debit_365d', window: '365d', where: { type: 'VYDAJ' }, owner });
const lastBalance = last(transactions, 'balance', { name: 'last_balance', window: 'lifetime', owner, description: 'Balance after the last transaction before the loan' });
const sanctions365d = count(transactions, { name: 'sanction_interest_365d', window: '365d', where: { k_symbol: 'SANKC. UROK' }, owner, description: 'Penalty interest charged for a negative balance' });
const daysSinceTxn = timeSinceLast(transactions, { name: 'days_since_last_txn', unit: 'd', owner });
const recent = lastK(transactions, { name: 'recent_txns', k: 10, fields: ['amount', 'type', 'balance'], window: '90d', owner, description: 'The last ten transactions: a sequence model input' });
const history = lastK(transactions, {
  name: 'txn_history', k: 64, fields: ['amount', 'balance', 'type', 'operation', 'k_symbol'], window: '365d', owner,
  description: "The account's last 64 transactions over a year (type, operation, purpose, amount, balance after): the sequence model's input",
});
const inOut90d = derived('credits_to_debits_90d', div(credits90d, debits90d), { owner, description: 'Money in over money out (90 days)' });
const frequency = attribute(accounts, 'frequency', { name: 'statement_frequency', owner });
const district = attribute(accounts, 'district_id', { name: 'district_id', owner });
const loanFeatures = [txns90d, credits90d, debits90d, withdrawals90d, meanBalance90d, minBalance90d, balanceStddev90d, maxDebit365d, lastBalance, sanctions365d, daysSinceTxn, inOut90d, frequency] as const;
const loanV1 = featureSet('loan_v1', loanFeatures, { owner, description: "The account's behaviour before the loan date" });

/** Adverse-action reason text of both loan models' inputs. */
const REASONS = {
  amount: 'Amount of the loan', duration: 'Term of the loan', payments: 'Size of the monthly payment',
  txn_count_90d: 'Number of recent transactions', credits_90d: 'Recent money in', debits_90d: 'Recent money out',
  cash_withdrawals_90d: 'Number of recent cash withdrawals', mean_balance_90d: 'Average balance', min_balance_90d: 'Lowest recent balance',
  balance_stddev_90d: 'Balance varies widely', max_debit_365d: 'Size of the largest payment out', last_balance: 'Balance before the loan',
  sanction_interest_365d: 'Penalty interest for a negative balance', days_since_last_txn: 'Time since the last transaction',
  credits_to_debits_90d: 'Money in relative to money out', statement_frequency: 'Statement frequency of the account',
};

const yymmdd = (description: string) => ({ type: 'timestamp', format: '%y%m%d', description }) as const;

export default defineConfig({
  name: 'berka',
  features: [account_, transactions, accounts, ...loanFeatures, district, recent, history, loanV1],
  tables: {
    account: {
      format: 'csv', // .asc: ';'-separated text
      description: 'bank accounts; date = when the account was opened',
      key: 'account_id',
      timestamp: 'date',
      columns: {
        account_id: 'bigint',
        district_id: 'integer',
        frequency: { type: 'varchar', description: 'POPLATEK MESICNE (monthly), TYDNE (weekly), PO OBRATU (after each transaction)' },
        date: yymmdd('account opened'),
      },
    },
    client: {
      format: 'csv', // .asc: ';'-separated text
      key: 'client_id',
      columns: {
        client_id: 'bigint',
        birth_number: { type: 'integer', description: 'YYMMDD; for women the month has 50 added' },
        district_id: 'integer',
      },
    },
    disp: {
      format: 'csv', // .asc: ';'-separated text
      description: 'dispositions: which client may use which account (OWNER or DISPONENT)',
      key: 'disp_id',
      columns: { disp_id: 'bigint', client_id: 'bigint', account_id: 'bigint', type: 'varchar' },
    },
    district: {
      format: 'csv', // .asc: ';'-separated text
      description: 'demographics by district: A1 = district_id, A2 = name, A3 = region, ... (see the data guide)',
      key: 'A1',
      nullValues: ['?'], // district 69 has '?' in A12 and A15
      columns: {
        A1: 'integer', A2: 'varchar', A3: 'varchar', A4: 'integer', A5: 'integer', A6: 'integer', A7: 'integer', A8: 'integer',
        A9: 'integer', A10: 'double', A11: 'integer', A12: 'double', A13: 'double', A14: 'integer', A15: 'integer', A16: 'integer',
      },
    },
    loan: {
      format: 'csv', // .asc: ';'-separated text
      description: "loans; status A/C = good, B/D = default (not paid / in debt)",
      key: 'loan_id',
      timestamp: 'date',
      columns: {
        loan_id: 'bigint',
        account_id: 'bigint',
        date: yymmdd('loan granted'),
        amount: 'double',
        duration: { type: 'integer', description: 'months' },
        payments: { type: 'double', description: 'monthly payment' },
        status: 'varchar',
      },
    },
    order: {
      format: 'csv', // .asc: ';'-separated text
      description: 'permanent payment orders',
      key: 'order_id',
      columns: { order_id: 'bigint', account_id: 'bigint', bank_to: 'varchar', account_to: 'varchar', amount: 'double', k_symbol: 'varchar' },
    },
    trans: {
      description: 'transactions 1993-01-01 .. 1994-10-30 (the partial file: about 9.4 % of the full table)',
      key: 'trans_id',
      timestamp: 'date',
      format: 'csv', // trans_partial_*.asc.gz: the extension does not say
      columns: {
        trans_id: 'bigint',
        account_id: 'bigint',
        date: yymmdd('transaction date'),
        type: { type: 'varchar', description: 'PRIJEM credit, VYDAJ debit, VYBER cash withdrawal' },
        operation: 'varchar',
        amount: 'double',
        balance: 'double',
        k_symbol: 'varchar',
        bank: { type: 'varchar', description: 'partner bank; empty for cash' },
        account: { type: 'varchar', description: 'partner account; empty for cash' },
      },
    },
    card: {
      format: 'csv', // .asc: ';'-separated text
      key: 'card_id',
      timestamp: 'issued',
      columns: {
        card_id: 'bigint',
        disp_id: 'bigint',
        type: { type: 'varchar', description: 'junior, classic or gold' },
        issued: { type: 'timestamp', format: '%y%m%d %H:%M:%S', description: 'when the card was issued' },
      },
    },
  },
  models: {
    loan_default: {
      description: 'Probability that a loan ends in default (status B or D)',
      intendedUse: 'A worked example on the public PKDD 1999 Berka data; not for credit decisions.',
      spine: { table: 'loan', timestamp: 'date', key: 'account_id' },
      label: { column: 'status', positive: ['B', 'D'] },
      features: 'loan_v1',
      columns: ['amount', 'duration', 'payments'],
      split: { random: { valid: 0.2, test: 0.25, seed: 7 } },
      minPositives: 10,
      params: { max_depth: 3, learning_rate: 0.05, n_estimators: 400, early_stopping_rounds: 50, min_child_weight: 2 },
      reasons: REASONS,
    },
    loan_default_seq: {
      description: "Probability that a loan ends in default, from the account's transaction sequence (a GRU), beside the GBDT",
      intendedUse: 'A worked example of a sequence model on real, small data: compare it with loan_default across seeds; not for credit decisions.',
      spine: { table: 'loan', timestamp: 'date', key: 'account_id' },
      label: { column: 'status', positive: ['B', 'D'] },
      features: 'loan_v1',
      columns: ['amount', 'duration', 'payments'],
      split: { random: { valid: 0.2, test: 0.25, seed: 7 } },
      minPositives: 10,
      algorithm: 'sequence',
      sequence: { input: 'txn_history', encoder: 'gru', size: 16, epochs: 30, patience: 6, batchSize: 64, lr: 0.003, seed: 7 },
      reasons: REASONS,
    },
  },
});
