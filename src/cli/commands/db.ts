import type { Command } from 'commander';
import { KilnError } from '../../core/errors.js';
import { formatCount } from '../../core/progress.js';

interface GlobalFlags { project?: string }

export function registerDb(program: Command): void {
  const db = program.command('db').description('the metadata database: embedded meta.sqlite, or PostgreSQL named by metadata.url / KILN_DATABASE_URL (docs/scale.md)');

  db
    .command('migrate')
    .description("bring the metadata schema to this kiln's version in one transaction; --from sqlite then copies the embedded meta.sqlite into the (empty) PostgreSQL schema")
    .option('--from <engine>', "copy an embedded project's metadata over: 'sqlite'")
    .option('--sqlite <path>', 'the meta.sqlite to copy (default: the project\'s)')
    .option('--json', 'JSON output', false)
    .action(async (opts: { from?: string; sqlite?: string; json: boolean }, cmd: Command) => {
      if (opts.from !== undefined && opts.from !== 'sqlite') throw new KilnError('USAGE', `--from ${opts.from}: expected 'sqlite'`, { path: ['from'] });
      if (opts.sqlite !== undefined && opts.from === undefined) throw new KilnError('USAGE', '--sqlite PATH goes with --from sqlite', { path: ['sqlite'] });
      const { migrateDb } = await import('../../store/meta-admin.js');
      const project = cmd.optsWithGlobals<GlobalFlags>().project;
      const r = await migrateDb({
        ...(project !== undefined ? { project } : {}),
        ...(opts.from ? { fromSqlite: opts.sqlite ?? true } : {}),
        ...(opts.json ? {} : { onTable: (name: string, rows: number) => process.stderr.write(`copied ${name}: ${formatCount(rows)} rows\n`) }),
      });
      if (opts.json) { process.stdout.write(`${JSON.stringify(r)}\n`); return; }
      const what = r.applied.length ? `migrated from schema ${r.from} to ${r.to} (applied ${r.applied.join(', ')})` : `already at schema ${r.to}`;
      process.stdout.write(`${r.engine} ${r.location}: ${what}\n`);
      if (r.copied) process.stdout.write(`copied ${formatCount(r.copied.rows)} rows from meta.sqlite in one transaction (${r.copied.tables.filter((t) => t.rows > 0).map((t) => `${t.name} ${t.rows}`).join(', ') || 'nothing to copy'})\n`);
    });

  db
    .command('status')
    .description('where the metadata lives, its schema version against this kiln\'s, and rows per table')
    .option('--json', 'JSON output', false)
    .action(async (opts: { json: boolean }, cmd: Command) => {
      const { dbStatus } = await import('../../store/meta-admin.js');
      const project = cmd.optsWithGlobals<GlobalFlags>().project;
      const s = await dbStatus(project !== undefined ? { project } : {});
      if (opts.json) { process.stdout.write(`${JSON.stringify(s)}\n`); return; }
      const state = s.schema === s.known ? 'current' : s.schema > s.known ? 'newer than this kiln: upgrade kiln' : "older: run 'kiln db migrate'";
      process.stdout.write(`${s.engine} ${s.location}\nschema ${s.schema} (this kiln: ${s.known}; ${state})\n`);
      for (const [t, n] of Object.entries(s.rows)) process.stdout.write(`  ${t.padEnd(20)} ${formatCount(n)}\n`);
    });
}
