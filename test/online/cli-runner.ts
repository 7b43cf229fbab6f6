import { Command } from 'commander';
import { vi } from 'vitest';
import { registerOnline } from '../../src/cli/commands/online.js';

/** Runs `kiln --project DIR online ARGS` in process; returns what it wrote to stdout and stderr. */
export async function runOnline(dir: string, args: string[]): Promise<{ stdout: string; stderr: string }> {
  const program = new Command().name('kiln').option('-p, --project <dir>').exitOverride();
  registerOnline(program);
  let stdout = '';
  let stderr = '';
  const out = vi.spyOn(process.stdout, 'write').mockImplementation((c: string | Uint8Array) => { stdout += String(c); return true; });
  const err = vi.spyOn(process.stderr, 'write').mockImplementation((c: string | Uint8Array) => { stderr += String(c); return true; });
  try {
    await program.parseAsync(['node', 'kiln', '--project', dir, 'online', ...args]);
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
  return { stdout, stderr };
}

/** Epoch microseconds as ISO text. */
export const iso = (us: number): string => new Date(us / 1000).toISOString();
