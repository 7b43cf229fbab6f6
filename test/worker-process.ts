/**
 * `kiln worker` as a real process for the queue tests (backfills, scoring, materialisation, searches,
 * single jobs): started with short lock and stall intervals so a killed one's job moves on in about a
 * second, its stderr lines kept; and the waits those tests share.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';

const ROOT = join(import.meta.dirname, '..');
const BIN = join(ROOT, 'bin', 'kiln.js');
export const WORKER_ENV = { KILN_FROM_SOURCE: '1', NO_COLOR: '1' };

export interface WorkerProcess { child: ChildProcess; log: string[]; out: string; exited: Promise<number | null> }

/**
 * Starts `kiln ...args` (stdout kept in `out`, stderr lines in `log`); resolves once a stderr line starts
 * with `readyLine` (at once without one), rejects if it exits before.
 */
export function startKiln(args: string[], readyLine?: string): Promise<WorkerProcess> {
  const child = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, env: { ...process.env, ...WORKER_ENV }, stdio: ['ignore', 'pipe', 'pipe'] });
  const p: WorkerProcess = { child, log: [], out: '', exited: new Promise((r) => child.once('exit', (code) => r(code))) };
  child.stdout!.on('data', (d: Buffer) => { p.out += d.toString(); });
  let buf = '';
  return new Promise((resolve, reject) => {
    child.stderr!.on('data', (d: Buffer) => {
      buf += d.toString();
      const lines = buf.split('\n');
      buf = lines.pop()!;
      p.log.push(...lines);
      if (!readyLine || lines.some((l) => l.startsWith(readyLine))) resolve(p);
    });
    if (!readyLine) resolve(p);
    void p.exited.then((code) => { if (readyLine && !p.log.some((l) => l.startsWith(readyLine))) reject(new Error(`kiln ${args[0]} exited early (${code}): ${p.log.join('\n')}${buf}`)); });
  });
}

/** Starts `kiln worker --project dir --backfill-queue prefix ...args` and resolves once it says it runs. */
export function startWorker(dir: string, prefix: string, args: string[] = []): Promise<WorkerProcess> {
  return startKiln(['worker', '--project', dir, '--backfill-queue', prefix, '--lock-duration', '2000', '--stalled-interval', '500', ...args], 'kiln worker: pid');
}

export const exited = (c: ChildProcess): Promise<unknown> => (c.exitCode !== null || c.signalCode !== null ? Promise.resolve() : new Promise((r) => c.once('exit', r)));

/** Kills what is still running of `workers` (SIGKILL) and waits for them. */
export async function killAll(workers: readonly WorkerProcess[]): Promise<void> {
  for (const w of workers) if (w.child.exitCode === null && w.child.signalCode === null) { w.child.kill('SIGKILL'); await exited(w.child); }
}

/** Polls `get` every 20 ms until it gives something truthy; throws after `ms`. */
export async function until<T>(what: string, get: () => T | Promise<T>, ms = 60_000): Promise<NonNullable<T>> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await get();
    if (v) return v as NonNullable<T>;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
