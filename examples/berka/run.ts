/**
 * One command from the Berka bank's raw exports to a reported loan-default model: a project in DIR
 * (default: a new temp dir) with this folder's kiln.config.ts, every Berka file ingested as exported
 * (`;`-separated, YYMMDD dates, the gzipped partial transaction file), the model trained with its
 * coverage warning, and its report and model card written to DIR.
 *
 *   npx tsx examples/berka/run.ts [DIR] [--data PATH] [--sequence]
 *
 * With --sequence it also trains `loan_default_seq`, a GRU over each account's last 64 transactions of
 * the year before the loan (`txn_history`), whose report compares it with a GBDT on the aggregates alone,
 * the GBDT with the encoder's embeddings, and the joint model (docs/nn.md); its report goes to
 * DIR/loan_default_seq-report.html. Its validation and test splits are small (about 19 and 18 defaults):
 * bench/nn-evidence.ts gives its spread across seeds.
 *
 * The data defaults to $BERKA_DATA, else ../shared/data/berka from the repository root.
 * (`ingest.sh` beside this file does the ingest step through the CLI, one `kiln ingest` per file.)
 */
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { KilnError } from '../../src/core/errors.js';
import { trainModel, type TrainResult } from '../../src/pipelines/index.js';
import { Project, ingest, initProject } from '../../src/store/index.js';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '..', '..');
const TABLES = ['account', 'client', 'disp', 'district', 'loan', 'order', 'card'] as const;

export function defaultData(): string {
  return process.env.BERKA_DATA ?? resolve(root, '..', 'shared', 'data', 'berka');
}

export interface BerkaRun { dir: string; report: string; card: string; result: TrainResult; sequence?: { report: string; result: TrainResult } }

/** Creates the project, ingests every file, trains `loan_default` (and `loan_default_seq` with `sequence`); returns where the reports went. */
export async function runExample(dir: string, data: string, opts: { quiet?: boolean; sequence?: boolean } = {}): Promise<BerkaRun> {
  if (!existsSync(join(data, 'loan.asc'))) throw new KilnError('FILE_NOT_FOUND', `${data} has no loan.asc; pass --data PATH or set BERKA_DATA to the folder with the Berka .asc files`, { path: [data] });
  const trans = readdirSync(data).filter((f) => /^trans.*\.asc(\.gz)?$/.test(f)).map((f) => join(data, f));
  if (trans.length === 0) throw new KilnError('FILE_NOT_FOUND', `${data} has no trans*.asc or trans*.asc.gz file`, { path: [data] });
  mkdirSync(dir, { recursive: true });
  copyFileSync(join(here, 'kiln.config.ts'), join(dir, 'kiln.config.ts'));
  await initProject(dir);
  const project = await Project.open({ project: dir });
  try {
    for (const table of TABLES) {
      const r = await ingest(project, { table, inputs: [join(data, `${table}.asc`)], mode: 'replace', progress: !opts.quiet });
      if (!opts.quiet) process.stderr.write(`ingested ${r.tableRows} rows into ${table}\n`);
    }
    const t = await ingest(project, { table: 'trans', inputs: trans, mode: 'replace', progress: !opts.quiet });
    if (!opts.quiet) process.stderr.write(`ingested ${t.tableRows} rows into trans\n`);
    const result = await trainModel(project, 'loan_default', { quiet: opts.quiet });
    const artifacts = join(project.paths.artifactsDir, result.runId);
    const report = join(dir, 'loan_default-report.html');
    const card = join(dir, 'loan_default-model-card.md');
    copyFileSync(join(artifacts, 'report.html'), report);
    copyFileSync(join(artifacts, 'model-card.md'), card);
    if (!opts.sequence) return { dir, report, card, result };
    const seq = await trainModel(project, 'loan_default_seq', { quiet: opts.quiet });
    const seqReport = join(dir, 'loan_default_seq-report.html');
    copyFileSync(join(project.paths.artifactsDir, seq.runId, 'report.html'), seqReport);
    return { dir, report, card, result, sequence: { report: seqReport, result: seq } };
  } finally {
    project.close();
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const at = args.indexOf('--data');
  const data = at >= 0 ? resolve(args[at + 1] ?? '') : defaultData();
  const positional = args.filter((a, i) => a !== '--data' && a !== '--sequence' && args[i - 1] !== '--data');
  const dir = resolve(positional[0] ?? mkdtempSync(join(tmpdir(), 'kiln-berka-')));
  try {
    const r = await runExample(dir, data, { sequence: args.includes('--sequence') });
    const m = r.result.evaluation.metrics;
    writeFileSync(1, `project ${dir}\nrun ${r.result.runId}: test AUC ${m.auc.toFixed(4)}, KS ${m.ks.toFixed(4)} on ${r.result.evaluation.rows} loans\nreport ${r.report}\nmodel card ${r.card}\n`);
    if (r.sequence) writeFileSync(1, `sequence model run ${r.sequence.result.runId}: test AUC ${r.sequence.result.evaluation.metrics.auc.toFixed(4)}\nreport ${r.sequence.report}\n`);
  } catch (e) {
    process.stderr.write(`${e instanceof KilnError ? `${e.code}: ` : ''}${e instanceof Error ? e.message : String(e)}\n`);
    process.exitCode = 1;
  }
}
