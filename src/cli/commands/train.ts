import { copyFileSync, existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { KilnError } from '../../core/errors.js';
import { onInterrupt } from '../../core/interrupt.js';
import { projectOption } from '../project-option.js';

export function registerTrain(program: Command): void {
  program
    .command('train <model>')
    .description("train a model declared in kiln.config.ts: training set, early stopping, out-of-time evaluation, a tracked run and a registered version")
    .option('--quiet', 'no progress lines', false)
    .option('--json', 'print the result as JSON', false)
    .option('--force', 'register the model even when it learned nothing (best iteration 0 or validation AUC at chance)', false)
    .action(async (model: string, opts: { quiet: boolean; json: boolean; force: boolean }, cmd: Command) => {
      const [{ trainModel }, { Project }] = await Promise.all([import('../../pipelines/index.js'), import('../../store/index.js')]);
      const project = await Project.open(projectOption(cmd));
      const interrupt = onInterrupt();
      try {
        const r = await trainModel(project, model, { quiet: opts.quiet, signal: interrupt.signal, force: opts.force });
        if (opts.json) { process.stdout.write(`${JSON.stringify({ model: r.model, version: r.version, runId: r.runId, metrics: r.evaluation.metrics, seconds: r.seconds, warnings: r.warnings }, null, 2)}\n`); return; }
        const m = r.evaluation.metrics;
        process.stdout.write(`${r.model} version ${r.version} (run ${r.runId}): test AUC ${m.auc.toFixed(4)}, Gini ${m.gini.toFixed(4)}, KS ${m.ks.toFixed(4)}, log loss ${m.logLoss.toFixed(4)}; ${r.bestEpoch !== undefined ? `best epoch ${r.bestEpoch + 1}` : `best iteration ${r.bestIteration ?? '-'}`}; ${r.seconds.toFixed(1)}s\n`);
        if (r.evaluation.fairness) process.stdout.write(`fairness (${r.evaluation.fairness.feature}): min adverse impact ratio ${r.evaluation.fairness.minAdverseImpactRatio?.toFixed(3) ?? '-'}${r.evaluation.fairness.flagged.length ? ` — below four-fifths for ${r.evaluation.fairness.flagged.join(', ')}` : ''}\n`);
        process.stdout.write(`report: kiln report ${r.runId}\n`);
      } finally {
        interrupt.dispose();
        project.close();
      }
    });
  program
    .command('report <run>')
    .description("write a run's self-contained HTML report and Markdown model card")
    .option('-o, --out <file>', 'the HTML file to write (default: <model>-<run>.html here)')
    .action(async (id: string, opts: { out?: string }, cmd: Command) => {
      const { Project } = await import('../../store/open/index.js');
      const project = await Project.open(projectOption(cmd));
      try {
        const run = project.tracker.getRun(id);
        const dir = join(project.paths.artifactsDir, run.id);
        const html = join(dir, 'report.html');
        if (!existsSync(html)) {
          throw new KilnError('RUN_NOT_FOUND', `run ${run.id} (${run.status}) has no report; reports are written by 'kiln train' when a run finishes`);
        }
        const out = resolve(opts.out ?? `${run.experiment}-${run.id}.html`);
        copyFileSync(html, out);
        const card = out.replace(/\.html?$/i, '') + '.model-card.md';
        if (existsSync(join(dir, 'model-card.md'))) copyFileSync(join(dir, 'model-card.md'), card);
        process.stdout.write(`wrote ${out}\nwrote ${card}\n`);
      } finally {
        project.close();
      }
    });
}
