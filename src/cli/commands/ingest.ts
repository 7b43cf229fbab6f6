import type { Command } from 'commander';
import { Option } from 'commander';
import { onInterrupt } from '../../core/interrupt.js';
import { formatCount } from '../../core/progress.js';
import { DEFAULT_NULL_VALUES, FILE_FORMATS, type FileFormat } from '../../config/formats/index.js';

import { projectOption } from '../project-option.js';

export function registerIngest(program: Command): void {
  program
    .command('ingest <table> <files...>')
    .description('load CSV, Parquet or NDJSON files (paths or globs) into an offline-store table, all or nothing')
    .addOption(new Option('--format <format>', 'input format (default: from the file extension)').choices([...FILE_FORMATS]))
    .option('--timestamp <col>', 'event-time column: parsed as a UTC timestamp, never empty')
    .option('--timestamp-format <fmt>', "format of the --timestamp column when not ISO 8601: DuckDB strptime ('%d/%m/%Y', '%y%m%d', '%b-%Y'), or epoch_s / epoch_ms")
    .option('--null-values <list>', `CSV: comma-separated values that load as NULL (default: ${DEFAULT_NULL_VALUES.filter((v) => v !== '').join(',')}; empty fields always)`)
    .option('--delimiter <char>', "CSV: field delimiter, one character or 'tab' (default: detected from the header: , ; tab |)")
    .option('--row-names <name>', "CSV: keep R's row-name column (empty first header field) under this name (default: drop it)")
    .option('--key <col>', 'primary key column: never empty, unique across the table')
    .addOption(new Option('--mode <mode>', 'append rows, or replace the table').choices(['append', 'replace']).default('append'))
    .option('--force', 'ingest content even if it was ingested into this table before', false)
    .option('--quiet', 'no progress output', false)
    .action(async (table: string, files: string[], opts: { format?: FileFormat; timestamp?: string; timestampFormat?: string; nullValues?: string; delimiter?: string; rowNames?: string; key?: string; mode: 'append' | 'replace'; force: boolean; quiet: boolean }, cmd: Command) => {
      const { ingest, Project } = await import('../../store/index.js');
      const project = await Project.open(projectOption(cmd));
      const interrupt = onInterrupt();
      try {
        const r = await ingest(project, {
          table, inputs: files, mode: opts.mode, force: opts.force, signal: interrupt.signal, progress: !opts.quiet,
          ...(opts.format ? { format: opts.format } : {}),
          ...(opts.timestamp ? { timestamp: opts.timestamp } : {}),
          ...(opts.key ? { key: opts.key } : {}),
          ...(opts.timestampFormat ? { timestampFormat: opts.timestampFormat } : {}),
          ...(opts.nullValues !== undefined ? { nullValues: opts.nullValues.split(',') } : {}),
          ...(opts.delimiter !== undefined ? { delimiter: opts.delimiter } : {}),
          ...(opts.rowNames ? { rowNames: opts.rowNames } : {}),
        });
        for (const n of r.notes) process.stdout.write(`note: ${n}\n`);
        for (const s of r.skipped) process.stdout.write(`skipped ${s.path}: the same content was ingested into '${table}' at ${s.ingestedAt} (ingest #${s.ingestId}); use --force to load it again\n`);
        if (r.files.length) {
          const mb = r.files.reduce((a, f) => a + f.bytes, 0) / 1e6;
          process.stdout.write(`${r.mode === 'replace' ? 'replaced' : 'appended'} ${formatCount(r.rowsAdded)} rows from ${r.files.length} file${r.files.length > 1 ? 's' : ''} into '${table}' in ${r.seconds.toFixed(2)}s (${formatCount(r.rowsAdded / r.seconds)} rows/s, ${(mb / r.seconds).toFixed(1)} MB/s); the table has ${formatCount(r.tableRows)} rows\n`);
        } else {
          process.stdout.write(`nothing to ingest: table '${table}' is unchanged (${formatCount(r.tableRows)} rows)\n`);
        }
      } finally {
        interrupt.dispose();
        project.close();
      }
    });
}
