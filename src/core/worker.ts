/**
 * Starts a worker thread from a module beside the caller: `<name>.js` when built; from source (tsx,
 * vitest) `<name>.ts` through a bootstrap that registers tsx's loader inside the worker, since Node 20
 * does not carry the parent's loader over.
 */
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Worker, type WorkerOptions } from 'node:worker_threads';

const PRELOAD_FLAGS = new Set(['--import', '--require', '-r', '--loader', '--experimental-loader']);

/**
 * The parent's execArgv without module preloads (`--import tsx` and the like, given as `--flag value` or
 * `--flag=value`): a built worker needs none, and each costs its start-up again in every thread (tsx:
 * ~65 ms of a GBDT pool's 140 ms start when the caller runs under tsx).
 */
export function execArgvWithoutPreloads(argv: readonly string[] = process.execArgv): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (PRELOAD_FLAGS.has(a)) { i++; continue; }
    const eq = a.indexOf('=');
    if (eq > 0 && PRELOAD_FLAGS.has(a.slice(0, eq))) continue;
    out.push(a);
  }
  return out;
}

/** `from` is the caller's import.meta.url; `name` the worker module's file name without extension. */
export function startModuleWorker(from: string, name: string, opts: WorkerOptions): Worker {
  if (!from.endsWith('.ts')) {
    const url = new URL(`./${name}.js`, from);
    const argv = execArgvWithoutPreloads();
    if (opts.execArgv !== undefined || argv.length === process.execArgv.length) return new Worker(url, opts);
    try {
      return new Worker(url, { ...opts, execArgv: argv });
    } catch (e) {
      // Flags given to a worker explicitly must be valid in workers (V8 flags such as --no-liftoff are
      // not; inherited ones are not checked): then inherit them all, preloads included, as before.
      if ((e as { code?: string }).code === 'ERR_WORKER_INVALID_EXEC_ARGV') return new Worker(url, opts);
      throw e;
    }
  }
  const target = new URL(`./${name}.ts`, from).href;
  const tsxDir = pathToFileURL(createRequire(from).resolve('tsx/package.json'));
  const api = new URL('dist/esm/api/index.mjs', tsxDir).href;
  const code = `import(${JSON.stringify(api)})
    .then((m) => { m.register(); return import(${JSON.stringify(target)}); })
    .catch((e) => { require('node:worker_threads').parentPort.postMessage({ type: 'error', message: String(e && e.stack || e) }); });`;
  return new Worker(code, { ...opts, eval: true });
}

/**
 * Resolves when the worker posts `{ type: 'ready' }`; rejects on any other first message (its `message`
 * is the worker's start-up error), on an error or exit, or after `timeoutMs`.
 */
export function workerReady(worker: Worker, timeoutMs: number): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs / 1000}s`)), timeoutMs);
    worker.once('message', (m: { type: string; message?: string }) => {
      clearTimeout(timer);
      if (m.type === 'ready') resolve();
      else reject(new Error(m.message ?? 'unknown start-up failure'));
    });
    worker.once('error', (e) => { clearTimeout(timer); reject(e); });
    worker.once('exit', (code) => { clearTimeout(timer); reject(new Error(`exited with code ${code}`)); });
  });
}
