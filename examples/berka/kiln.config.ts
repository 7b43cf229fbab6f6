import { defineConfig } from 'kiln';

/**
 * The PKDD'99 Berka Czech bank data (see /work/shared/data/README.md, section 2), as kiln tables.
 * The files are `;`-separated with quoted strings; dates are YYMMDD (930705 = 1993-07-05), parsed with
 * the format '%y%m%d'. Load every file with `examples/berka/ingest.sh [DIR]`.
 * Features and models are declared elsewhere; this config only declares what the files hold.
 */
const yymmdd = (description: string) => ({ type: 'timestamp', format: '%y%m%d', description }) as const;

export default defineConfig({
  name: 'berka',
  tables: {
    account: {
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
      key: 'client_id',
      columns: {
        client_id: 'bigint',
        birth_number: { type: 'integer', description: 'YYMMDD; for women the month has 50 added' },
        district_id: 'integer',
      },
    },
    disp: {
      description: 'dispositions: which client may use which account (OWNER or DISPONENT)',
      key: 'disp_id',
      columns: { disp_id: 'bigint', client_id: 'bigint', account_id: 'bigint', type: 'varchar' },
    },
    district: {
      description: 'demographics by district: A1 = district_id, A2 = name, A3 = region, ... (see the data guide)',
      key: 'A1',
      nullValues: ['?'], // district 69 has '?' in A12 and A15
      columns: {
        A1: 'integer', A2: 'varchar', A3: 'varchar', A4: 'integer', A5: 'integer', A6: 'integer', A7: 'integer', A8: 'integer',
        A9: 'integer', A10: 'double', A11: 'integer', A12: 'double', A13: 'double', A14: 'integer', A15: 'integer', A16: 'integer',
      },
    },
    loan: {
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
});
