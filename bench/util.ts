import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { existsSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { cpus, totalmem } from 'node:os';

/** A one-line description of this machine, for quoting figures with. */
export function machine(): string {
  const c = cpus();
  return `${c.length} x ${c[0]?.model.trim() ?? 'unknown CPU'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}, ${process.platform}/${process.arch}`;
}

export function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number(process.argv[i + 1]) : Number(process.env[`BENCH_${name.toUpperCase().replace(/-/g, '_')}`] ?? NaN);
  return Number.isFinite(v) ? v : fallback;
}

/** The median of a list (the mean of the middle two for an even count). */
export function median(a: readonly number[]): number {
  const s = [...a].sort((x, y) => x - y);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

export function printTable(header: string[], rows: (string | number)[][]): void {
  const cells = [header, ...rows.map((r) => r.map(String))];
  const widths = header.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]): string => `| ${r.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  console.log(line(header));
  console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
  for (const r of cells.slice(1)) console.log(line(r));
}

/** Fortran-order float32 .npy (columns written as they are), or a vector. */
export function writeNpy(path: string, cols: Float32Array[], n: number): void {
  let header = `{'descr': '<f4', 'fortran_order': ${cols.length > 1 ? 'True' : 'False'}, 'shape': ${cols.length > 1 ? `(${n}, ${cols.length})` : `(${n},)`}, }`;
  header += ' '.repeat((64 - ((10 + header.length + 1) % 64)) % 64) + '\n';
  const pre = Buffer.alloc(10);
  pre.write('\x93NUMPY', 0, 'latin1');
  pre[6] = 1;
  pre.writeUInt16LE(header.length, 8);
  writeFileSync(path, Buffer.concat([pre, Buffer.from(header, 'latin1'), ...cols.map((c) => Buffer.from(c.buffer, c.byteOffset, c.byteLength))]));
}

/** What bench/serve-load.ts reports for one run. */
export interface LoadResult { requests: number; rps: number; errors: number; non2xx: number; p50: number; p90: number; p99: number; p999: number; max: number }

export interface LoadOptions { rate: number; seconds: number; connections: number; bodies?: string; paths?: string }

/** One run of the load generator (bench/serve-load.ts) in a process of its own against `url`. */
export function loadRun(url: string, opts: LoadOptions): LoadResult {
  const args = ['--import', 'tsx', join(import.meta.dirname, 'serve-load.ts'), '--url', url, '--rate', String(opts.rate), '--seconds', String(opts.seconds), '--connections', String(opts.connections)];
  if (opts.bodies) args.push('--bodies', opts.bodies);
  if (opts.paths) args.push('--paths', opts.paths);
  const r = spawnSync(process.execPath, args, { encoding: 'utf8', cwd: join(import.meta.dirname, '..') });
  if (r.status !== 0) throw new Error(`load generator failed:\n${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as LoadResult;
}

/** loadRun without blocking: several generators at once (one per replica). */
export function loadRunAsync(url: string, opts: LoadOptions): Promise<LoadResult> {
  const args = ['--import', 'tsx', join(import.meta.dirname, 'serve-load.ts'), '--url', url, '--rate', String(opts.rate), '--seconds', String(opts.seconds), '--connections', String(opts.connections)];
  if (opts.bodies) args.push('--bodies', opts.bodies);
  if (opts.paths) args.push('--paths', opts.paths);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd: join(import.meta.dirname, '..'), stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout!.on('data', (d: Buffer) => { out += d.toString(); });
    child.stderr!.on('data', (d: Buffer) => { err += d.toString(); });
    child.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out.trim().split('\n').pop()!) as LoadResult) : reject(new Error(`load generator failed:\n${err}`))));
  });
}

/** A warm-up run (a third of the time, at least 2 s), then the measured run. */
export function loadMeasure(url: string, opts: LoadOptions): LoadResult {
  loadRun(url, { ...opts, seconds: Math.max(2, Math.round(opts.seconds / 3)) });
  return loadRun(url, opts);
}

/** A TCP port free on 127.0.0.1 now. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

/**
 * Starts `node ARGS --port P` (a kiln server or any HTTP process), waits until GET readyPath answers 2xx
 * (120 s at most; a process that exits first fails with its stderr), and records the child in `children`
 * so the caller can kill what is left on exit.
 */
export async function startProcess(args: string[], what: string, readyPath: string, children: ChildProcess[]): Promise<{ url: string; stop: () => Promise<void> }> {
  const port = await freePort();
  const child = spawn(process.execPath, [...args, '--port', String(port)], { env: { ...process.env, NO_COLOR: '1' }, stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (d: Buffer) => { err += d.toString(); });
  children.push(child);
  const url = `http://127.0.0.1:${port}`;
  const t0 = Date.now();
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${what} exited with ${child.exitCode} before it was ready:\n${err}`);
    try {
      if ((await fetch(`${url}${readyPath}`)).ok) break;
    } catch { /* not listening yet */ }
    if (Date.now() - t0 > 120_000) throw new Error(`${what} was not ready within 120 s:\n${err}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return { url, stop: async () => { child.kill('SIGTERM'); await new Promise((r) => child.once('exit', r)); } };
}

/**
 * The module at src/<rel>.ts as users get it: dist/<rel>.js (the built package, which `kiln` and
 * `import 'kiln/...'` run) when dist/ is current (its .kiln-build stamp newer than every file under
 * src/, bin/kiln.js's rule), else the source through tsx, which costs worker threads ~0.2 s more to start
 * (they compile their TypeScript). `from` names which one ran.
 */
export async function builtOrSource<T>(rel: string): Promise<{ mod: T; from: 'dist' | 'src' }> {
  const root = resolve(import.meta.dirname, '..');
  const stamp = join(root, 'dist', '.kiln-build');
  const built = join(root, 'dist', `${rel}.js`);
  const newer = (dir: string, t: number): boolean =>
    statSync(dir).mtimeMs > t || readdirSync(dir, { withFileTypes: true }).some((e) => (e.isDirectory() ? newer(join(dir, e.name), t) : statSync(join(dir, e.name)).mtimeMs > t));
  if (process.env.KILN_FROM_SOURCE !== '1' && existsSync(stamp) && existsSync(built) && !newer(join(root, 'src'), statSync(stamp).mtimeMs)) {
    return { mod: (await import(pathToFileURL(built).href)) as T, from: 'dist' };
  }
  return { mod: (await import(pathToFileURL(join(root, 'src', `${rel}.ts`)).href)) as T, from: 'src' };
}
