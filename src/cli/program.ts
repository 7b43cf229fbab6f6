import { Command } from 'commander';
import { readFileSync } from 'node:fs';
import { registerDecisions } from './commands/decisions.js';
import { registerEmbeddings } from './commands/embeddings.js';
import { registerSearch } from './commands/search.js';
import { registerRecs } from './commands/recs.js';
import { registerMonitor } from './commands/monitor.js';
import { registerLoop } from './commands/loop.js';
import { registerFeatures } from './commands/features.js';
import { registerGbdt } from './commands/gbdt-register.js';
import { registerInit } from './commands/init.js';
import { registerModels } from './commands/models.js';
import { registerOnline } from './commands/online.js';
import { registerRuns } from './commands/runs.js';
import { registerServe } from './commands/serve.js';
import { registerScore } from './commands/score.js';
import { registerIngest } from './commands/ingest.js';
import { registerSim } from './commands/sim.js';
import { registerTables } from './commands/tables.js';
import { registerTrain } from './commands/train.js';
import { registerWorker } from './commands/worker.js';
import { registerBackfill } from './commands/backfill.js';
import { registerUi } from './commands/ui.js';
import { registerStream } from './commands/stream.js';
import { registerDb } from './commands/db.js';
import { registerTune } from './commands/tune.js';
import { registerJobs } from './commands/jobs.js';

/**
 * The store's DEFAULT_WAIT_TIMEOUT_SECONDS, repeated here so that building the program (and `kiln --help`)
 * loads no engine: every command file imports engines only inside its action. test/cli/startup.test.ts
 * checks that the two agree.
 */
export const DEFAULT_WAIT_TIMEOUT_SECONDS = 30;

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

/** The kiln command line, with every command registered. */
export function buildProgram(): Command {
  const program = new Command()
    .name('kiln')
    .description('kiln: event data to monitored, retrained, served models, in one embedded tool')
    .version(pkg.version)
    .option('-p, --project <dir>', 'the project directory (default: the nearest one above the working directory)')
    .option('--wait-timeout <seconds>', `how long to wait for another kiln process that holds the offline store (default ${DEFAULT_WAIT_TIMEOUT_SECONDS}, or $KILN_WAIT_TIMEOUT)`)
    .option('--debug', 'print the stack trace of any error', false)
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  registerInit(program);
  registerIngest(program);
  registerTables(program);
  registerSim(program);
  registerFeatures(program);
  registerOnline(program);
  registerTrain(program);
  registerRuns(program);
  registerModels(program);
  registerServe(program);
  registerScore(program);
  registerGbdt(program);
  registerDecisions(program);
  registerMonitor(program);
  registerWorker(program);
  registerBackfill(program);
  registerLoop(program);
  registerUi(program);
  registerEmbeddings(program);
  registerSearch(program);
  registerRecs(program);
  registerStream(program);
  registerDb(program);
  registerTune(program);
  registerJobs(program);
  return program;
}

