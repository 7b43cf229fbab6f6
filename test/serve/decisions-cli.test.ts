import { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { registerDecisions } from '../../src/cli/commands/decisions.js';
import { decisionLogDir, openDecisionLog, type DecisionLog, type DecisionRecord } from '../../src/serve/index.js';
import { kiln, tempProject } from '../helpers.js';
import { fails } from '../fails.js';
import { decisionRecord } from './decision-records.js';

/** `kiln --project DIR decisions ARGS` in process (faster than the binary); its stdout. */
async function inProcess(dir: string, args: string[]): Promise<string> {
  const program = new Command().name('kiln').option('-p, --project <dir>').exitOverride();
  registerDecisions(program);
  let stdout = '';
  const out = vi.spyOn(process.stdout, 'write').mockImplementation((c: string | Uint8Array) => { stdout += String(c); return true; });
  try {
    await program.parseAsync(['node', 'kiln', '--project', dir, 'decisions', ...args]);
  } finally {
    out.mockRestore();
  }
  return stdout;
}

describe('kiln decisions', () => {
  let t: Awaited<ReturnType<typeof tempProject>>;
  let log: DecisionLog;
  const recs: DecisionRecord[] = [];
  beforeAll(async () => {
    t = await tempProject();
    // The writer stays open, as a running server's would: the CLI reads without its lock.
    log = await openDecisionLog(decisionLogDir(t.project.paths.dataDir));
    for (let i = 0; i < 5; i++) recs.push(decisionRecord(i, { decidedBy: i === 4 ? 'canary' : 'primary' }));
    await log.append(recs);
  });
  afterAll(async () => { await log.close(); t.cleanup(); });

  it('lists recent decisions, newest first, as a table or JSON, with filters', async () => {
    const r = await kiln(['decisions', 'list'], t.dir);
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^id\s+time \(UTC\)\s+model\s+entity\s+score\s+points\s+decision\s+by\s+latency ms$/);
    expect(lines.slice(1).map((l) => l.split(/\s+/)[0])).toEqual(recs.map((x) => x.id).reverse());
    const r4 = recs[4]!;
    expect(lines[1]).toContain(`${r4.model}@${r4.version}  b4`);
    expect(lines[1]).toMatch(/canary/);
    const json = await kiln(['decisions', 'list', '--json', '--limit', '2', '--model', 'credit@2', '--since', '1h'], t.dir);
    expect(json.code).toBe(0);
    const rows = JSON.parse(json.stdout) as DecisionRecord[];
    expect(rows.map((x) => x.id)).toEqual(recs.filter((x) => x.version === 2).map((x) => x.id).reverse().slice(0, 2));
    expect(await inProcess(t.dir, ['list', '--until', '2020-01-01'])).toContain('no decisions match');
    expect((await fails(inProcess(t.dir, ['list', '--since', 'last tuesday']), 'USAGE')).message).toContain('--since last tuesday: expected an ISO time');
    await fails(inProcess(t.dir, ['list', '--limit', '0']), 'USAGE');
    await fails(inProcess(t.dir, ['list', '--model', '@3']), 'USAGE');
  });

  it('shows one decision in full, or says clearly that there is none', async () => {
    const r = recs[3]!;
    const text = await kiln(['decisions', 'show', r.id], t.dir);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain(`decision ${r.id}  ${r.time}`);
    expect(text.stdout).toContain(`model credit@${r.version} (decided by the primary)  entity b3`);
    expect(text.stdout).toContain('  income = 1003');
    expect(text.stdout).toContain('  missing = null (missing)');
    expect(JSON.parse(await inProcess(t.dir, ['show', r.id.toLowerCase(), '--json']))).toEqual(r);
    expect(await inProcess(t.dir, ['show', recs[4]!.id])).toContain('decided by the canary');
    const missing = await kiln(['decisions', 'show', '01J0Z3N4X5Q8R2T6V9W1Y3Z5A7'], t.dir);
    expect(missing.code).toBe(66);
    expect(missing.stderr).toContain('error [DECISION_NOT_FOUND]: no decision 01J0Z3N4X5Q8R2T6V9W1Y3Z5A7');
  });
});
