import type { Command } from 'commander';
import { KilnError } from '../../core/errors.js';
import type { DecisionLogRef, DecisionRecord, VersionScore } from '../../serve/index.js';
import { formatTable } from '../table.js';
import { withProject } from '../project-option.js';

/**
 * `kiln decisions list|show`: the decision log of the project, read while a server writes it (readers
 * take no lock). Only meta.sqlite is opened (for the data folder); the offline store is never touched.
 */

const UNITS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** '2024-06-01', '2024-06-01T12:00:00Z', or an age ('30m', '2h', '7d' ago). */
export function parseWhen(text: string, option: string, now = Date.now()): number {
  const rel = /^(\d+(?:\.\d+)?)([smhd])$/.exec(text.trim());
  if (rel) return now - Number(rel[1]) * UNITS[rel[2]!]!;
  const ms = Date.parse(text);
  if (!Number.isFinite(ms)) throw new KilnError('USAGE', `--${option} ${text}: expected an ISO time (2024-06-01, 2024-06-01T12:00:00Z) or an age such as 30m, 2h or 7d`, { path: [option] });
  return ms;
}

async function logDir(cmd: Command): Promise<DecisionLogRef> {
  const { decisionLogOf } = await import('../../serve/decisions/index.js');
  return withProject(cmd, (p) => decisionLogOf(p));
}

const num = (v: number | null, digits = 4): string => (v === null ? '-' : v.toFixed(digits));
const scoreText = (s: VersionScore): string =>
  `${s.model}@${s.version}  raw ${num(s.raw)}  calibrated ${num(s.calibrated)}  points ${s.points.toFixed(1)}  ${s.declined ? 'declined' : 'approved'}`;

function showText(r: DecisionRecord): string {
  const out = [
    `decision ${r.id}  ${r.time}`,
    `model ${r.model}@${r.version} (decided by the ${r.decidedBy})  entity ${r.entityId ?? '- (feature row)'}  as of ${r.asOf ?? '-'}  latency ${r.latencyMs.toFixed(2)} ms`,
    `score ${scoreText(r.score)}`,
  ];
  if (r.reasons?.length) out.push('', 'reasons:', ...r.reasons.map((c, i) => `  ${i + 1}. ${c.reason}  ${c.text}  (+${c.contribution.toFixed(4)})`));
  out.push('', 'features:', ...Object.entries(r.features).map(([k, v]) => `  ${k} = ${v === null ? 'null (missing)' : String(v)}`));
  if (r.shadow.length) out.push('', 'shadow (scored, not returned):', ...r.shadow.map((s) => `  ${scoreText(s)}`));
  out.push('', `request: ${JSON.stringify(r.request)}`);
  return out.join('\n');
}

export function registerDecisions(program: Command): void {
  const decisions = program.command('decisions').description('the decision log: every decision kiln serve made, with its features, scores and reasons');
  decisions
    .command('list')
    .description('recent decisions, newest first')
    .option('--model <name>', 'only this model (NAME, or NAME@VERSION)')
    .option('--since <time>', 'made at or after this time: ISO (2024-06-01T12:00:00Z) or an age (30m, 2h, 7d)')
    .option('--until <time>', 'made before this time: ISO or an age')
    .option('--limit <n>', 'at most this many', '20')
    .option('--json', 'print JSON', false)
    .action(async (opts: { model?: string; since?: string; until?: string; limit: string; json: boolean }, cmd: Command) => {
      const limit = Number(opts.limit);
      if (!Number.isInteger(limit) || limit < 1) throw new KilnError('USAGE', `--limit ${opts.limit}: expected a whole number >= 1`, { path: ['limit'] });
      const m = opts.model === undefined ? null : /^([^@]+)(?:@(\d+))?$/.exec(opts.model);
      if (opts.model !== undefined && !m) throw new KilnError('USAGE', `--model ${opts.model}: expected NAME or NAME@VERSION, e.g. credit or credit@3`, { path: ['model'] });
      const dir = await logDir(cmd);
      const { readDecisions } = await import('../../serve/decisions/index.js');
      const rows: DecisionRecord[] = [];
      const torn: string[] = [];
      for await (const r of readDecisions(dir, {
        order: 'desc', limit,
        ...(m ? { model: m[1]!, ...(m[2] ? { version: Number(m[2]) } : {}) } : {}),
        ...(opts.since ? { since: parseWhen(opts.since, 'since') } : {}),
        ...(opts.until ? { until: parseWhen(opts.until, 'until') } : {}),
        onTorn: (t) => torn.push(`${t.file}:${t.line}`),
      })) rows.push(r);
      for (const t of torn) process.stderr.write(`note: skipped an incomplete last line at ${t} (a crash, or a write under way)\n`);
      if (opts.json) { process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`); return; }
      if (!rows.length) { process.stdout.write(`no decisions${opts.model || opts.since || opts.until ? ' match' : ' recorded yet'} (${dir})\n`); return; }
      process.stdout.write(`${formatTable(
        ['id', 'time (UTC)', 'model', 'entity', 'score', 'points', 'decision', 'by', 'latency ms'],
        rows.map((r) => [r.id, r.time.slice(0, 23).replace('T', ' '), `${r.model}@${r.version}`, r.entityId ?? '-', num(r.score.calibrated ?? r.score.raw),
          r.score.points.toFixed(1), r.score.declined ? 'declined' : 'approved', r.decidedBy, r.latencyMs.toFixed(2)]),
      )}\n`);
    });
  decisions
    .command('show <id>')
    .description('one decision in full: request, features as used, scores, reasons, shadow scores')
    .option('--json', 'print JSON', false)
    .action(async (id: string, opts: { json: boolean }, cmd: Command) => {
      const dir = await logDir(cmd);
      const { getDecision } = await import('../../serve/decisions/index.js');
      const r = await getDecision(dir, id);
      process.stdout.write(`${opts.json ? JSON.stringify(r, null, 2) : showText(r)}\n`);
    });
}
