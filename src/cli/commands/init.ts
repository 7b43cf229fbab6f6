import type { Command } from 'commander';
import { relative } from 'node:path';
import type { RepairReport } from '../../store/index.js';
import { waitTimeoutOption } from '../project-option.js';

const out = (s: string): void => { process.stdout.write(`${s}\n`); };

export function registerInit(program: Command): void {
  program
    .command('init [dir]')
    .description('create a kiln project: kiln.config.ts and .kiln/ (offline.duckdb, meta.sqlite, artifacts/); --repair rebuilds a lost meta.sqlite')
    .option('--name <name>', 'project name (default: the directory name)')
    .option('--repair', 'rebuild a missing, empty or damaged meta.sqlite from the offline store and the run artifacts (a damaged file is moved aside)', false)
    .option('--json', 'print the repair report as JSON (with --repair)', false)
    .action(async (dir: string | undefined, opts: { name?: string; repair: boolean; json: boolean }, cmd: Command) => {
      const { initProject } = await import('../../store/index.js');
      const { paths, created, repair } = await initProject(dir ?? '.', { ...(opts.name ? { name: opts.name } : {}), repair: opts.repair, ...waitTimeoutOption(cmd) });
      if (repair) { printRepair(paths.metaDb, repair, opts.json); return; }
      if (created.length === 0) {
        out(`${paths.root} is already a kiln project; nothing to create`);
        return;
      }
      out(`initialised kiln project in ${paths.root}`);
      for (const p of created) out(`  created ${relative(process.cwd(), p) || p}`);
    });
}

function printRepair(metaDb: string, r: RepairReport, json: boolean): void {
  if (json) { out(JSON.stringify(r, null, 2)); return; }
  if (r.healthy) { out(`${metaDb} is present and sound; nothing to repair`); return; }
  out(`rebuilt ${metaDb}${r.movedAside ? ` (the damaged file was moved to ${r.movedAside})` : ''}:`);
  out(`  ${r.tables.length} table${r.tables.length === 1 ? '' : 's'}${r.tables.length ? `: ${r.tables.map((t) => t.name).join(', ')}` : ''}; ${r.ingestBatches} ingest batch${r.ingestBatches === 1 ? '' : 'es'}`);
  out(`  ${r.runs.length} run${r.runs.length === 1 ? '' : 's'} from the artifacts (${r.runs.filter((x) => x.status === 'finished').length} finished)`);
  out(`  ${r.versions.length} model version${r.versions.length === 1 ? '' : 's'}${r.versions.length ? `: ${r.versions.map((v) => `${v.model}@${v.version}`).join(', ')}` : ''}`);
  out('not recovered:');
  for (const n of r.notRecovered) out(`  - ${n}`);
}
