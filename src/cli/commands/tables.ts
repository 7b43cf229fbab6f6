import type { Command } from 'commander';
import { formatCount } from '../../core/progress.js';
import { KilnError } from '../../core/errors.js';
import { formatTable } from '../table.js';
import { projectOption } from '../project-option.js';

export function registerTables(program: Command): void {
  const tables = program
    .command('tables')
    .description('list offline-store tables with row counts, columns and time ranges')
    .option('--json', 'print JSON', false)
    .option('--columns', 'list every column with its type', false)
    .action(async (opts: { json: boolean; columns: boolean }, cmd: Command) => {
      // Read-only: several `kiln tables` run at once; beside a writer (ingest, train) it waits.
      const { listTables, Project } = await import('../../store/open/index.js');
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
  tables
    .command('show <table>')
    .description('print rows of a table: an aligned text table, or JSON lines with --json')
    .option('--limit <n>', 'at most this many rows', '20')
    .option('--where <predicate>', "a SQL condition on the table's columns, e.g. \"amount > 1000 AND status = 'B'\"")
    .option('--json', 'print one JSON object per row', false)
    .action(async (name: string, opts: { limit: string; where?: string; json: boolean }, cmd: Command) => {
      const limit = /^\d+$/.test(opts.limit) ? Number(opts.limit) : Number.NaN;
      if (Number.isNaN(limit)) throw new KilnError('USAGE', `--limit ${opts.limit}: expected a whole number >= 0`);
      const { Project, showTable } = await import('../../store/open/index.js');
      const project = await Project.open(projectOption(cmd));
      try {
        const r = await showTable(project, name, { limit, ...(opts.where !== undefined ? { where: opts.where } : {}) });
        // `tables` has its own --json, which commander may take for itself: either one counts.
        if (opts.json || cmd.optsWithGlobals<{ json?: boolean }>().json) {
          for (const row of r.rows) process.stdout.write(`${JSON.stringify(row)}\n`);
          return;
        }
        const cell = (v: unknown): string => {
          const s = v === null ? 'NULL' : String(v);
          return s.length > 40 ? `${s.slice(0, 39)}…` : s;
        };
        const body = r.rows.map((row) => r.columns.map((c) => cell(row[c.name])));
        if (body.length) process.stdout.write(`${formatTable(r.columns.map((c) => c.name), body)}\n`);
        process.stdout.write(`(${formatCount(r.rows.length)} of ${formatCount(r.matching)} row${r.matching === 1 ? '' : 's'}${opts.where ? ' matching' : ''} in '${r.table}')\n`);
      } finally {
        project.close();
      }
    });
}
