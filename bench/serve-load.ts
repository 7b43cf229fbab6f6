/**
 * The load generator of bench/serve.ts, run as a process of its own (so its work is not charged to the
 * server): autocannon against one URL, either at a fixed overall rate (`--rate R`: latency at a given
 * load) or saturated (`--rate 0`: as fast as `--connections` keep-alive connections go). autocannon's own
 * histogram keeps whole milliseconds, too coarse for a 2 ms target, so every response time (fractional
 * ms, from process.hrtime) is kept and the percentiles are computed from them. Requests cycle through the
 * bodies in the JSON file given by `--bodies` (one per entity, say). Prints one JSON line.
 *   node --import tsx bench/serve-load.ts --url URL [--bodies FILE] [--rate 1000] [--seconds 10] [--connections 8] [--key KEY]
 */
import { readFileSync } from 'node:fs';
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

const times: number[] = [];
let next = 0;
const statuses = new Map<number, number>();
const headers: Record<string, string> = { 'content-type': 'application/json' };
if (key) headers.authorization = `Bearer ${key}`;

const instance = autocannon({
  url,
  method: bodies ? 'POST' : 'GET',
  headers,
  connections,
  duration: seconds,
  ...(rate > 0 ? { overallRate: rate } : {}),
  ...(bodies
    ? {
        requests: [{
          setupRequest: (req: Request): Request => {
            const body = bodies[next++ % bodies.length]!;
            return { ...req, body };
          },
        }],
      }
    : {}),
}, (err, result) => {
  if (err) throw err;
  done(result);
});
instance.on('response', (_client: unknown, status: number, _bytes: number, ms: number) => {
  statuses.set(status, (statuses.get(status) ?? 0) + 1);
  times.push(ms);
});
function done(result: autocannon.Result): void {
  const sorted = Float64Array.from(times).sort();
  const q = (p: number): number => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]! : NaN);
  console.log(JSON.stringify({
    requests: times.length,
    rps: times.length / result.duration,
    errors: result.errors + result.timeouts,
    non2xx: result.non2xx,
    statuses: Object.fromEntries(statuses),
    p50: q(0.5), p90: q(0.9), p99: q(0.99), p999: q(0.999), max: sorted[sorted.length - 1] ?? NaN,
  }));
}
