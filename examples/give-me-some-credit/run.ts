/**
 * One command: a Give Me Some Credit project in DIR (default: a new temp dir), cs-training.csv ingested,
 * the plain-table model trained, and its report and model card written to DIR.
 *
 *   npx tsx examples/give-me-some-credit/run.ts [DIR] [--csv PATH]
 *
 * The CSV defaults to $KILN_GMSC_CSV, else ../shared/data/give-me-some-credit/cs-training.csv from the
 * repository root.
 */
import { copyFileSync, existsSync, mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { KilnError } from '../../src/core/errors.js';
import { trainModel } from '../../src/pipelines/index.js';
import { Project, ingest, initProject } from '../../src/store/index.js';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '..', '..');

export function defaultCsv(): string {
  return process.env.KILN_GMSC_CSV ?? resolve(root, '..', 'shared', 'data', 'give-me-some-credit', 'cs-training.csv');
}

/** Creates the project, ingests, trains; returns where the report went. */
export async function runExample(dir: string, csv: string, opts: { quiet?: boolean } = {}): Promise<{ report: string; card: string; runId: string; auc: number }> {
  if (!existsSync(csv)) throw new KilnError('FILE_NOT_FOUND', `${csv} does not exist; pass --csv PATH or set KILN_GMSC_CSV to Give Me Some Credit's cs-training.csv`);
  mkdirSync(dir, { recursive: true });
  copyFileSync(join(here, 'kiln.config.ts'), join(dir, 'kiln.config.ts'));
  await initProject(dir);
  const project = await Project.open({ project: dir });
  try {
    const ing = await ingest(project, { table: 'gmsc', inputs: [csv], mode: 'replace', progress: !opts.quiet });
    if (!opts.quiet) process.stderr.write(`ingested ${ing.tableRows} rows into gmsc in ${ing.seconds.toFixed(1)}s\n`);
    const r = await trainModel(project, 'gmsc', { quiet: opts.quiet });
    const run = project.tracker.getRun(r.runId);
    const artifacts = join(project.paths.artifactsDir, run.id);
    const report = join(dir, 'gmsc-report.html');
    const card = join(dir, 'gmsc-model-card.md');
    copyFileSync(join(artifacts, 'report.html'), report);
    copyFileSync(join(artifacts, 'model-card.md'), card);
    return { report, card, runId: r.runId, auc: r.evaluation.metrics.auc };
  } finally {
    project.close();
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const at = args.indexOf('--csv');
  const csv = at >= 0 ? resolve(args[at + 1] ?? '') : defaultCsv();
  const positional = args.filter((a, i) => a !== '--csv' && args[i - 1] !== '--csv');
  const dir = resolve(positional[0] ?? mkdtempSync(join(tmpdir(), 'kiln-gmsc-')));
  try {
    const r = await runExample(dir, csv);
    writeFileSync(1, `project ${dir}\nrun ${r.runId}: test AUC ${r.auc.toFixed(4)}\nreport ${r.report}\nmodel card ${r.card}\n`);
  } catch (e) {
    process.stderr.write(`${e instanceof KilnError ? `${e.code}: ` : ''}${e instanceof Error ? e.message : String(e)}\n`);
    process.exitCode = 1;
  }
}
