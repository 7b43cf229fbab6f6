/**
 * The load generator of bench/serve.ts, run as a process of its own (so its work is not charged to the
 * server). Two modes:
 * - `--rate R` (R > 0): open loop at a constant rate. A request is sent every 1/R s on a keep-alive
 *   connection from a pool (`--connections`, more are opened if all are busy), whether or not earlier
 *   ones have been answered, as independent clients would. (autocannon's `overallRate` is not this: each
 *   connection sends its per-second quota back to back and then waits for the next second, so its
 *   "1,000 requests/s" is a saturated burst at the start of every second.)
 * - `--rate 0`: saturated, through autocannon: as fast as `--connections` keep-alive connections go.
 * Every response time (fractional ms) is kept and the percentiles are computed from them (autocannon's
 * own histogram keeps whole milliseconds, too coarse for a 2 ms target). Requests cycle through the
 * bodies in the JSON file given by `--bodies` (one per entity, say), or GET the paths in the JSON file given
 * by `--paths` (e.g. one look-up per entity; the URL's path is then ignored). Prints one JSON line.
 *   node --import tsx bench/serve-load.ts --url URL [--bodies FILE | --paths FILE] [--rate 1000] [--seconds 10] [--connections 8] [--key KEY]
 */
import { readFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import autocannon, { type Request } from 'autocannon';

function opt(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const url = opt('url');
if (!url) throw new Error('--url is required');
const rate = Number(opt('rate') ?? 0);
const seconds = Number(opt('seconds') ?? 10);
const connections = Number(opt('connections') ?? 8);
const key = opt('key');
const bodiesFile = opt('bodies');
const bodies: string[] | null = bodiesFile ? (JSON.parse(readFileSync(bodiesFile, 'utf8')) as unknown[]).map((b) => JSON.stringify(b)) : null;
const pathsFile = opt('paths');
const paths: string[] | null = pathsFile ? (JSON.parse(readFileSync(pathsFile, 'utf8')) as string[]) : null;
if (bodies && paths) throw new Error('give --bodies or --paths, not both');

const times: number[] = [];
let next = 0;
const statuses = new Map<number, number>();
const headers: Record<string, string> = { 'content-type': 'application/json' };
if (key) headers.authorization = `Bearer ${key}`;

if (rate > 0) openLoop();
else {
  const instance = autocannon({
    url,
    method: bodies ? 'POST' : 'GET',
    headers,
    connections,
    duration: seconds,
    ...(bodies
      ? {
          requests: [{
            setupRequest: (req: Request): Request => {
              const body = bodies[next++ % bodies.length]!;
              return { ...req, body };
            },
          }],
        }
      : paths
        ? { requests: [{ setupRequest: (req: Request): Request => ({ ...req, path: paths[next++ % paths.length]! }) }] }
        : {}),
  }, (err, result) => {
    if (err) throw err;
    done(result);
  });
  instance.on('response', (_client: unknown, status: number, _bytes: number, ms: number) => {
    statuses.set(status, (statuses.get(status) ?? 0) + 1);
    times.push(ms);
  });
}

/** Constant-rate open loop over keep-alive connections; latency from each request's send to its response. */
function openLoop(): void {
  const agent = new Agent({ keepAlive: true, maxSockets: Infinity, maxFreeSockets: connections });
  const target = new URL(url!);
  const interval = 1000 / rate;
  const total = Math.round(rate * seconds);
  const lags: number[] = [];
  let sent = 0;
  let answered = 0;
  let errors = 0;
  const t0 = performance.now();
  // the first second warms this process up (JIT, connections): sent, not counted
  const skip = Math.min(Math.round(rate), Math.floor(total / 5));
  const send = (): void => {
    const counted = sent > skip;
    const body = bodies ? bodies[next++ % bodies.length]! : null;
    const path = paths ? paths[next++ % paths.length]! : target.pathname;
    const started = performance.now();
    const req = request({ agent, host: target.hostname, port: target.port, path, method: body ? 'POST' : 'GET', headers: body ? { ...headers, 'content-length': Buffer.byteLength(body) } : headers }, (res) => {
      res.resume();
      res.on('end', () => {
        if (counted) times.push(performance.now() - started);
        statuses.set(res.statusCode!, (statuses.get(res.statusCode!) ?? 0) + 1);
        if (++answered + errors === total) finish();
      });
    });
    req.on('error', () => { errors++; if (answered + errors === total) finish(); });
    req.end(body ?? undefined);
  };
  const tick = (): void => {
    const now = performance.now();
    while (sent < total && t0 + sent * interval <= now) {
      if (sent > skip) lags.push(now - (t0 + sent * interval));
      sent++;
      send();
    }
    if (sent < total) setTimeout(tick, Math.max(0, t0 + sent * interval - performance.now() - 0.5));
  };
  const finish = (): void => {
    agent.destroy();
    const elapsed = (performance.now() - t0) / 1000;
    const non2xx = [...statuses].reduce((n, [code, c]) => n + (code >= 200 && code < 300 ? 0 : c), 0);
    report({ duration: elapsed * (times.length / answered || 1), errors, non2xx, scheduleLagP99: quantile(Float64Array.from(lags).sort(), 0.99) });
  };
  tick();
}

function quantile(sorted: Float64Array, p: number): number {
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]! : NaN;
}

function done(result: autocannon.Result): void {
  report({ duration: result.duration, errors: result.errors + result.timeouts, non2xx: result.non2xx });
}

function report(r: { duration: number; errors: number; non2xx: number; scheduleLagP99?: number }): void {
  const sorted = Float64Array.from(times).sort();
  const q = (p: number): number => quantile(sorted, p);
  console.log(JSON.stringify({
    requests: times.length,
    rps: times.length / r.duration,
    errors: r.errors,
    non2xx: r.non2xx,
    statuses: Object.fromEntries(statuses),
    p50: q(0.5), p90: q(0.9), p99: q(0.99), p999: q(0.999), max: sorted[sorted.length - 1] ?? NaN,
    ...(r.scheduleLagP99 !== undefined ? { scheduleLagP99: r.scheduleLagP99 } : {}),
  }));
}
