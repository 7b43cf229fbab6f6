import type { Command } from 'commander';
import { Project } from '../store/index.js';

/** The global --project option, wherever it was given on the command line. */
export function projectOption(cmd: Command): { project?: string } {
  const p = cmd.optsWithGlobals<{ project?: string }>().project;
  return p === undefined ? {} : { project: p };
}

/** Opens the command's project, runs `fn`, and always closes it. */
export async function withProject<T>(cmd: Command, fn: (project: Project) => T | Promise<T>): Promise<T> {
  const project = await Project.open(projectOption(cmd));
  try {
    return await fn(project);
  } finally {
    project.close();
  }
}
