import type { Command } from 'commander';
import { formatCount } from '../../core/progress.js';
import { listTables, Project } from '../../store/index.js';
import { formatTable } from '../output.js';
import { projectOption } from '../project-option.js';

export function registerTables(program: Command): void {
  program
    .command('tables')
    .description('list offline-store tables with row counts, columns and time ranges')
    .option('--json', 'print JSON', false)
    .option('--columns', 'list every column with its type', false)
    .action(async (opts: { json: boolean; columns: boolean }, cmd: Command) => {
      // Read-only: several `kiln tables` run at once; beside a writer (ingest, train) it waits.
      const project = await Project.open({ ...projectOption(cmd), offline: 'read' });
      try {
        const tables = await listTables(project);
        if (opts.json) {
          process.stdout.write(`${JSON.stringify(tables, null, 2)}\n`);
          return;
        }
        if (tables.length === 0) {
          process.stdout.write(`no tables yet in ${project.paths.offlineDb}; load some with 'kiln ingest' or 'kiln sim'\n`);
          return;
        }
        const rows = tables.map((t) => [
          t.name,
          formatCount(t.rows),
          t.timeRange ? `${t.timestampColumn}: ${t.timeRange.from?.slice(0, 19) ?? '-'} .. ${t.timeRange.to?.slice(0, 19) ?? '-'}` : '-',
          t.keyColumn ?? '-',
          opts.columns ? t.columns.map((c) => `${c.name} ${c.type}`).join(', ') : t.columns.map((c) => c.name).join(', '),
        ]);
        process.stdout.write(`${formatTable(['table', 'rows', 'time range (UTC)', 'key', 'columns'], rows)}\n`);
      } finally {
        project.close();
      }
    });
}
