import { execFileSync } from 'node:child_process';
import { hostname, userInfo } from 'node:os';

/** Who is acting, for the audit log: KILN_ACTOR, else the OS user. */
export function currentActor(): string {
  const fromEnv = process.env.KILN_ACTOR?.trim();
  if (fromEnv) return fromEnv;
  try {
    return userInfo().username || process.env.USER || 'unknown';
  } catch {
    return process.env.USER ?? 'unknown';
  }
}

/** The git commit of `dir` (with a '+dirty' mark for uncommitted changes), or null outside a repository. */
export function gitCommit(dir: string): string | null {
  try {
    const opts = { cwd: dir, stdio: ['ignore', 'pipe', 'ignore'] as ['ignore', 'pipe', 'ignore'], encoding: 'utf8' as const, timeout: 5000 };
    const sha = execFileSync('git', ['rev-parse', 'HEAD'], opts).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], opts).trim() !== '';
    return dirty ? `${sha}+dirty` : sha;
  } catch {
    return null;
  }
}

export function host(): string {
  return hostname();
}

export function nowIso(): string {
  return new Date().toISOString();
}

export { processAlive } from '../core/process.js';
