/**
 * Give Me Some Credit (Kaggle, 2011): one row per borrower, no dates. A model over a plain table: the
 * spine is the table itself, its own columns are the inputs, and the split is random with a seed.
 * `run.ts` beside this file creates a project with this config, ingests cs-training.csv and trains.
 */
import { defineConfig } from 'kiln';

export default defineConfig({
  name: 'give-me-some-credit',
  description: 'Kaggle Give Me Some Credit: serious delinquency within two years, one row per borrower',
  tables: {
    gmsc: {
      description: 'cs-training.csv: 150,000 borrowers; the unnamed first column (an R row name) is the id; NA = missing',
      format: 'csv',
      key: 'id',
      rowNames: 'id', // the unnamed first column (R's row names) is kept, as 'id'
    },
  },
  models: {
    gmsc: {
      description: 'Probability of 90+ days past due within two years (SeriousDlqin2yrs)',
      intendedUse: 'A worked example of a model over a plain table; Kaggle competition data, not for credit decisions.',
      spine: { table: 'gmsc', key: 'id' },
      label: { column: 'SeriousDlqin2yrs' },
      columns: { exclude: ['id'] },
      split: { random: { valid: 0.15, test: 0.2, seed: 7 } },
      params: { learning_rate: 0.1 },
      monotone: { 'NumberOfTimes90DaysLate': 1, 'NumberOfTime30-59DaysPastDueNotWorse': 1, 'NumberOfTime60-89DaysPastDueNotWorse': 1 },
      reasons: {
        RevolvingUtilizationOfUnsecuredLines: 'Proportion of revolving balances to credit limits is too high',
        age: 'Length of credit history or age',
        'NumberOfTime30-59DaysPastDueNotWorse': 'Payments 30 to 59 days past due',
        DebtRatio: 'Debt too high relative to income',
        MonthlyIncome: 'Income insufficient for the amount of credit',
        NumberOfOpenCreditLinesAndLoans: 'Number of open credit lines and loans',
        NumberOfTimes90DaysLate: 'Serious delinquency (90 days or more past due)',
        NumberRealEstateLoansOrLines: 'Number of real estate loans or lines',
        'NumberOfTime60-89DaysPastDueNotWorse': 'Payments 60 to 89 days past due',
        NumberOfDependents: 'Number of dependents',
      },
    },
  },
});
