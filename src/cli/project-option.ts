import type { Command } from 'commander';
import { KilnError } from '../core/errors.js';
import type { OfflineAccess, Project } from '../store/index.js';

interface GlobalFlags { project?: string; waitTimeout?: string }

/** The global --wait-timeout option (seconds), when given. */
export function waitTimeoutOption(cmd: Command): { waitTimeoutSeconds?: number } {
  const raw = cmd.optsWithGlobals<GlobalFlags>().waitTimeout ?? process.env.KILN_WAIT_TIMEOUT;
  if (raw === undefined || raw === '') return {};
  const s = Number(raw);
  if (!Number.isFinite(s) || s < 0) {
    throw new KilnError('USAGE', `--wait-timeout ${raw}: expected a number of seconds >= 0 (0: do not wait for a busy offline store)`, { path: ['wait-timeout'] });
  }
  return { waitTimeoutSeconds: s };
}

/** The global --project and --wait-timeout options, wherever they were given on the command line. */
export function projectOption(cmd: Command): { project?: string; waitTimeoutSeconds?: number } {
  const p = cmd.optsWithGlobals<GlobalFlags>().project;
  return { ...(p === undefined ? {} : { project: p }), ...waitTimeoutOption(cmd) };
}

/**
 * Opens the command's project, runs `fn`, and always closes it. `offline: 'read'` opens the offline
 * store read-only (several such commands run at once); a command that never touches the offline store
 * never opens it. The store (DuckDB, SQLite) is loaded here, when a command runs, not at start-up.
 */
export async function withProject<T>(cmd: Command, fn: (project: Project) => T | Promise<T>, opts: { offline?: OfflineAccess } = {}): Promise<T> {
  const { Project } = await import('../store/open/index.js');
  const project = await Project.open({ ...projectOption(cmd), ...opts });
  try {
    return await fn(project);
  } finally {
    project.close();
  }
}
