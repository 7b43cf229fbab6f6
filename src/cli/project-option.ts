import type { Command } from 'commander';

/** The global --project option, wherever it was given on the command line. */
export function projectOption(cmd: Command): { project?: string } {
  const p = cmd.optsWithGlobals<{ project?: string }>().project;
  return p === undefined ? {} : { project: p };
}
