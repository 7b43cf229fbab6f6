/**
 * `kiln gbdt train|predict|explain`: options and help only. The actions (gbdt.ts) load the GBDT engine
 * and DuckDB when a gbdt command runs, so `kiln --help` and other commands never load them.
 */
import type { Command } from 'commander';
import type { TrainOpts } from './gbdt.js';

const run = (): Promise<typeof import('./gbdt.js')> => import('./gbdt.js');

export function registerGbdt(program: Command): void {
  const gbdt = program.command('gbdt').description('train, score and explain gradient-boosted trees on a CSV or Parquet file (kiln, XGBoost JSON and LightGBM text models)');
  gbdt
    .command('train')
    .description('train a model on a file: numeric columns are features, --label is the target')
    .requiredOption('--data <file>', 'training data (.csv, or .parquet)')
    .requiredOption('--label <column>', 'the label column')
    .option('--params <json|file>', 'XGBoost-style parameters as JSON text or a JSON file (e.g. \'{"objective":"binary:logistic"}\'); without an objective, binary:logistic for a 0/1 label, else reg:squarederror')
    .option('--valid <file>', 'validation data with the same columns: metrics each round, early stopping')
    .option('--out <file>', 'where to write the kiln.gbdt@1 model', 'model.json')
    .option('--xgboost-json <file>', 'also write the model as XGBoost JSON')
    .option('--categorical <columns>', 'comma-separated columns holding integer category codes')
    .option('--drop <columns>', 'comma-separated columns to leave out (ids; the unnamed first column of an R or pandas CSV is a row id and is left out without it)')
    .option('--na <values>', "comma-separated strings read as missing in CSV files (default: 'NA' and empty)")
    .option('--every <n>', 'print metrics every n rounds (0: none, a progress bar instead; metrics cost one pass over the training rows per round)', '10')
    .action(async (o: TrainOpts) => (await run()).trainCommand(o));
  gbdt
    .command('predict')
    .description('score a file with a model; writes one column per output (probabilities, values or scores)')
    .requiredOption('--model <file>', 'a kiln.gbdt@1 JSON, XGBoost JSON or LightGBM text model')
    .requiredOption('--data <file>', 'rows to score (.csv or .parquet), with the model\'s feature columns by name')
    .requiredOption('--out <file>', 'the CSV to write')
    .option('--raw', 'write margins instead of probabilities', false)
    .option('--na <values>', "comma-separated strings read as missing in CSV files (default: 'NA' and empty)")
    .action(async (o: { model: string; data: string; out: string; raw: boolean; na?: string }) => (await run()).predictCommand(o));
  gbdt
    .command('explain')
    .description('TreeSHAP contributions (margin space): the top features by mean |contribution|, optionally every row to a CSV')
    .requiredOption('--model <file>', 'a kiln.gbdt@1 JSON, XGBoost JSON or LightGBM text model')
    .requiredOption('--data <file>', 'rows to explain (.csv or .parquet)')
    .option('--top <k>', 'how many features to list', '10')
    .option('--out <file>', 'write every row\'s contributions (and the bias column) to this CSV')
    .option('--na <values>', "comma-separated strings read as missing in CSV files (default: 'NA' and empty)")
    .option('--nthread <n>', 'threads sharing the rows (default: every core; the result is the same to the bit)')
    .action(async (o: { model: string; data: string; top: string; out?: string; na?: string; nthread?: string }) => (await run()).explainCommand(o));
}
