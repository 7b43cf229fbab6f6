import type { Command } from 'commander';

export function registerSim(program: Command): void {
  program
    .command('sim')
    .description('write a seeded synthetic lending world into the offline store')
    .action(() => {
      throw new Error('not wired yet');
    });
}
