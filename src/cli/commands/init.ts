import type { Command } from 'commander';
import { relative } from 'node:path';
import { initProject } from '../../store/index.js';

export function registerInit(program: Command): void {
  program
    .command('init [dir]')
    .description('create a kiln project: kiln.config.ts and .kiln/ (offline.duckdb, meta.sqlite, artifacts/)')
    .option('--name <name>', 'project name (default: the directory name)')
    .action(async (dir: string | undefined, opts: { name?: string }) => {
      const { paths, created } = await initProject(dir ?? '.', opts.name ? { name: opts.name } : {});
      if (created.length === 0) {
        process.stdout.write(`${paths.root} is already a kiln project; nothing to create\n`);
        return;
      }
      process.stdout.write(`initialised kiln project in ${paths.root}\n`);
      for (const p of created) process.stdout.write(`  created ${relative(process.cwd(), p) || p}\n`);
    });
}
