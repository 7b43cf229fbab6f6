import type { Command } from 'commander';
import { KilnError } from '../../core/errors.js';
import { onInterrupt } from '../../core/interrupt.js';
import { withProject } from '../project-option.js';

interface ScoreFlags {
  model: string; spine?: string; entities?: string; asOf?: string; out: string; key?: string; time?: string;
  reasons?: boolean | string; quiet: boolean; json: boolean; chunkRows?: string;
}

/** `kiln score`: batch scoring with the server's model and feature code (src/serve/batch.ts). */
export function registerScore(program: Command): void {
  program
    .command('score')
    .description('score a table, a file, or entities as of a time with a registered model version: features point in time, the served model code; writes Parquet or CSV')
    .requiredOption('-m, --model <ref>', 'the version to score with: NAME@ALIAS (credit@champion), NAME@VERSION or NAME (the latest)')
    .option('--spine <table|file>', 'rows to score: a table or a .parquet/.csv/.ndjson file with the entity key and a time (each row scored as of its time), or the input columns of a plain-table model')
    .option('--entities <file>', 'entity ids to score as of --as-of (.csv/.parquet/.ndjson with the key column, or .txt with one id a line)')
    .option('--as-of <time>', 'with --entities: the time to score at, ISO 8601 in UTC (default: now)')
    .requiredOption('-o, --out <file>', 'the output file: .parquet or .csv (written atomically)')
    .option('--key <column>', "the spine's entity key column (default: the entity's key)")
    .option('--time <column>', "the spine's time column (default: the table's registered time column, or its only timestamp column)")
    .option('--reasons [which]', "adverse-action reasons: for declined rows, or 'all' for every row")
    .option('--chunk-rows <n>', 'rows scored at a time (default 65536)')
    .option('--quiet', 'no progress output', false)
    .option('--json', 'print the result as JSON', false)
    .action(async (opts: ScoreFlags, cmd: Command) => withProject(cmd, async (project) => {
      const { scoreBatch } = await import('../../serve/index.js');
      if (typeof opts.reasons === 'string' && opts.reasons !== 'all') {
        throw new KilnError('USAGE', `--reasons ${opts.reasons}: give --reasons (declined rows) or --reasons all (every row)`, { path: ['reasons'] });
      }
      const chunkRows = opts.chunkRows === undefined ? undefined : Number(opts.chunkRows);
      if (chunkRows !== undefined && !(Number.isInteger(chunkRows) && chunkRows >= 1)) {
        throw new KilnError('USAGE', `--chunk-rows ${opts.chunkRows}: expected a whole number >= 1`, { path: ['chunk-rows'] });
      }
      const interrupt = onInterrupt();
      try {
        const r = await scoreBatch(project, {
          model: opts.model, output: opts.out, quiet: opts.quiet, signal: interrupt.signal,
          ...(opts.spine !== undefined ? { spine: opts.spine } : {}),
          ...(opts.entities !== undefined ? { entities: opts.entities } : {}),
          ...(opts.asOf !== undefined ? { asOf: opts.asOf } : {}),
          ...(opts.key !== undefined ? { key: opts.key } : {}),
          ...(opts.time !== undefined ? { time: opts.time } : {}),
          ...(opts.reasons !== undefined ? { reasons: opts.reasons === 'all' ? 'all' as const : true } : {}),
          ...(chunkRows !== undefined ? { chunkRows } : {}),
        });
        if (opts.json) { process.stdout.write(`${JSON.stringify(r, null, 2)}\n`); return; }
        const rate = r.scoreSeconds > 0 ? Math.round(r.rows / r.scoreSeconds) : r.rows;
        process.stdout.write(`${r.model} version ${r.version} (${r.ref}): ${r.rows} rows scored, ${r.declined} declined -> ${r.output} (${r.format}); ${r.seconds.toFixed(1)}s, ${rate} rows/s scoring\n`);
      } finally {
        interrupt.dispose();
      }
    }));
}
