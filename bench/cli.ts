/**
 * How fast `kiln` answers a short command: each command N times in fresh processes (bin/kiln.js, as a
 * user runs it), median and p90 wall time in ms, and the median as a multiple of plain `node -e 1` run
 * the same way, interleaved round by round so that load from elsewhere falls on every command alike.
 *
 * The project is a small one made here (kiln init, one ingested 1,000-row table, no runs, no models).
 * kiln runs dist/ when it is up to date (the bench builds it first if not: `npm run build`, which
 * `npm ci` runs as its prepare step); --source also times the same commands from src/ through tsx
 * (KILN_FROM_SOURCE=1), what a clone without a build runs.
 *
 * --baseline DIR also times another kiln checkout's bin/kiln.js (e.g. the code before a change, extracted
 * with `git archive REV | tar -x -C DIR` and a node_modules link), as it runs there.
 *
 *   npx tsx bench/cli.ts [--runs 15] [--source] [--baseline DIR]
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { arg, machine, printTable } from './util.js';

const RUNS = arg('runs', 15);
const SOURCE = process.argv.includes('--source');
const BASELINE = process.argv.includes('--baseline') ? resolve(process.argv[process.argv.indexOf('--baseline') + 1]!) : null;
const ROOT = resolve(import.meta.dirname, '..');
const KILN = join(ROOT, 'bin', 'kiln.js');

const COMMANDS: { name: string; args: string[] }[] = [
  { name: 'kiln --help', args: ['--help'] },
  { name: 'kiln --version', args: ['--version'] },
  { name: 'kiln runs list', args: ['runs', 'list'] },
  { name: 'kiln models list', args: ['models', 'list'] },
  { name: 'kiln tables', args: ['tables'] },
];

function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))]!;
}

function timeOnce(args: string[], cwd: string, env: NodeJS.ProcessEnv): number {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, args, { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
  const ms = performance.now() - t0;
  if (r.status !== 0) throw new Error(`${args.join(' ')} exited ${r.status}: ${r.stderr.toString()}`);
  return ms;
}

console.log(`machine: ${machine()}; load average ${loadavg().map((x) => x.toFixed(2)).join(' ')} on ${cpus().length} cores${loadavg()[0]! > cpus().length / 2 ? ' (busy: figures are noisy)' : ''}`);

// dist/ built and up to date, as after `npm ci`.
const build = spawnSync(process.execPath, [join(ROOT, 'scripts', 'build.mjs')], { stdio: 'inherit' });
if (build.status !== 0) throw new Error('npm run build failed');

const dir = mkdtempSync(join(tmpdir(), 'kiln-bench-cli-'));
try {
  execFileSync(process.execPath, [KILN, 'init', dir, '--name', 'bench'], { stdio: 'ignore' });
  writeFileSync(join(dir, 'loans.csv'), `loan_id,funded_at,amount\n${Array.from({ length: 1000 }, (_, i) => `${i},2024-01-${String(1 + (i % 28)).padStart(2, '0')}T00:00:00Z,${(i * 37) % 5000}`).join('\n')}\n`);
  execFileSync(process.execPath, [KILN, 'ingest', 'loans', 'loans.csv', '--timestamp', 'funded_at', '--key', 'loan_id', '--quiet'], { cwd: dir, stdio: 'ignore' });

  const modes: { label: string; env: NodeJS.ProcessEnv; bin: string }[] = [{ label: 'dist', env: { KILN_FROM_SOURCE: '' }, bin: KILN }];
  if (SOURCE) modes.push({ label: 'src (tsx)', env: { KILN_FROM_SOURCE: '1' }, bin: KILN });
  if (BASELINE) modes.push({ label: `baseline ${BASELINE}`, env: {}, bin: join(BASELINE, 'bin', 'kiln.js') });
  const ref: number[] = [];
  const times = new Map<string, number[]>();
  for (let r = 0; r < RUNS; r++) {
    ref.push(timeOnce(['-e', '1'], dir, {}));
    for (const m of modes) {
      for (const c of COMMANDS) {
        const key = `${m.label}\t${c.name}`;
        times.set(key, [...(times.get(key) ?? []), timeOnce([m.bin, ...c.args], dir, m.env)]);
      }
    }
  }
  const base = quantile(ref, 0.5);
  console.log(`\n${RUNS} fresh processes per command, interleaved; reference: node -e 1, median ${base.toFixed(0)} ms (p90 ${quantile(ref, 0.9).toFixed(0)} ms)\n`);
  printTable(['command', 'from', 'median ms', 'p90 ms', 'x node -e 1'], [...times].map(([key, xs]) => {
    const [mode, name] = key.split('\t');
    const med = quantile(xs, 0.5);
    return [name!, mode!, med.toFixed(0), quantile(xs, 0.9).toFixed(0), (med / base).toFixed(1)];
  }));
} finally {
  rmSync(dir, { recursive: true, force: true });
}
