import { existsSync, writeFileSync } from 'node:fs';
import { extname, resolve } from 'node:path';
import type { Command } from 'commander';
import { KilnError, didYouMean } from '../../core/errors.js';
import { formatCount } from '../../core/progress.js';
import { describeDefinition, listRows, loadFeatureRegistry, shortVersion } from '../../features/index.js';
import type { SpineInput } from '../../features/training/index.js';
import { formatTable } from '../table.js';
import { withProject } from '../project-option.js';

const out = (s: string): void => { process.stdout.write(`${s}\n`); };


interface DiscoverFlags {
  source: string;
  label: string;
  budget: string;
  top: string;
  confirm?: string;
  maxValues: string;
  seed: string;
  out?: string;
  report?: string;
  json: boolean;
}

interface TrainingSetFlags {
  features: string;
  spine?: string;
  asOf?: string;
  key?: string;
  time?: string;
  out?: string;
  table?: string;
  inclusive: boolean;
  engine: string;
  json: boolean;
}

const FILE_EXTENSIONS = new Set(['.parquet', '.csv', '.tsv', '.json', '.ndjson', '.jsonl']);

function spineOf(flags: TrainingSetFlags): SpineInput {
  if (flags.spine !== undefined && flags.asOf !== undefined) {
    throw new KilnError('USAGE', '--spine and --as-of are alternatives: a spine table or file, or every entity as of one time');
  }
  if (flags.asOf !== undefined) return { entities: 'all', asOf: flags.asOf };
  if (flags.spine === undefined) throw new KilnError('USAGE', 'say which rows to build: --spine TABLE|FILE, or --as-of TIME for every entity as of that time');
  const cols = { ...(flags.key ? { key: flags.key } : {}), ...(flags.time ? { timestamp: flags.time } : {}) };
  const isFile = FILE_EXTENSIONS.has(extname(flags.spine).toLowerCase()) || existsSync(flags.spine);
  return isFile ? { file: flags.spine, ...cols } : { table: flags.spine, ...cols };
}

/** `kiln features list|describe|training-set|discover`. */
export function registerFeatures(program: Command): void {
  const features = program.command('features').description('feature definitions: list, describe, build point-in-time training sets, discover new ones');

  features
    .command('list')
    .description('list features and feature sets with versions, sources, owners and where each is used')
    .option('--json', 'print JSON', false)
    .action(async (opts: { json: boolean }, cmd: Command) => {
      await withProject(cmd, async (project) => {
        const registry = loadFeatureRegistry(project.config.features);
        if (opts.json) {
          out(JSON.stringify({
            features: [...registry.features.keys()].map((n) => describeDefinition(registry, n)),
            sets: [...registry.sets.keys()].map((n) => describeDefinition(registry, n)),
          }, null, 2));
          return;
        }
        if (registry.features.size === 0) {
          out(`no features defined in ${project.paths.configFile}; declare them with kiln's DSL and list them in the config's 'features'`);
          return;
        }
        out(formatTable(['feature', 'computes', 'source', 'version', 'used by', 'owner', 'description'], listRows(registry)));
        if (registry.sets.size) {
          out('');
          out(formatTable(['feature set', 'features', 'version', 'description'],
            [...registry.sets.values()].map((s) => [s.name, s.spec.features.length, shortVersion(s.version), s.spec.meta.description ?? ''])));
        }
        const { checkSourcesAgainstStore } = await import('../../features/training/index.js');
        const issues = await checkSourcesAgainstStore(project, registry);
        if (issues.length) {
          process.stderr.write(`\nnote: ${issues.length} problem(s) against the offline store; training sets need them fixed:\n${issues.map((i) => `  - ${i.message}`).join('\n')}\n`);
        }
      }, { offline: 'read' });
    });

  features
    .command('describe')
    .description('show one feature or feature set: what it computes, its version, source, columns and users')
    .argument('<name>', 'a feature or feature set')
    .option('--json', 'print JSON', false)
    .action(async (name: string, opts: { json: boolean }, cmd: Command) => {
      await withProject(cmd, async (project) => {
        const registry = loadFeatureRegistry(project.config.features);
        const d = describeDefinition(registry, name);
        if (!d) {
          const h = didYouMean(name, [...registry.features.keys(), ...registry.sets.keys()]);
          throw new KilnError('FEATURE_NOT_FOUND', `no feature or feature set '${name}'${h ? `; did you mean '${h}'?` : ''}; run 'kiln features list'`);
        }
        if (opts.json) { out(JSON.stringify(d, null, 2)); return; }
        for (const [k, v] of Object.entries(d)) {
          if (k === 'spec' || v === null || (Array.isArray(v) && v.length === 0)) continue;
          const text = Array.isArray(v)
            ? v.map((x) => (typeof x === 'object' && x ? `${(x as { name: string }).name} ${shortVersion(String((x as { version: string }).version))}` : String(x))).join(', ')
            : typeof v === 'object' ? Object.entries(v as object).filter(([, x]) => x !== null).map(([a, b]) => `${a}=${String(b)}`).join(' ') : String(v);
          out(`${k.padEnd(12)} ${text}`);
        }
      });
    });

  features
    .command('training-set')
    .description('build a point-in-time training set: each feature sees only events before each spine row\'s time')
    .requiredOption('-f, --features <set|names>', 'a feature set, or comma-separated feature names')
    .option('-s, --spine <table|file>', 'spine rows (entity key, time, labels...): an offline-store table or a .parquet/.csv/.ndjson file')
    .option('--as-of <time>', 'instead of a spine: every entity as of this UTC time (e.g. 2025-01-01T00:00:00Z)')
    .option('--key <column>', "the spine's entity key column (default: the entity's key)")
    .option('--time <column>', "the spine's time column (default: its only timestamp column)")
    .option('-o, --out <file.parquet>', 'write the training set to a Parquet file')
    .option('--table <name>', "keep it as an offline-store table (default 'training_set' without --out)")
    .option('--inclusive', 'count events at exactly the spine time (default: strictly before)', false)
    .option('--engine <auto|bands|sql>', "'bands': windowed counts, sums, means, extremes, deviations, distinct counts and times-since of a source in one pass (the band kernel); 'sql': DuckDB SQL alone; 'auto': bands from 100 columns a source", 'auto')
    .option('--json', 'print the summary as JSON', false)
    .action(async (flags: TrainingSetFlags, cmd: Command) => {
      const spine = spineOf(flags);
      if (!['auto', 'bands', 'sql'].includes(flags.engine)) throw new KilnError('USAGE', `--engine ${flags.engine}: expected auto, bands or sql`);
      const names = flags.features.split(',').map((s) => s.trim()).filter(Boolean);
      await withProject(cmd, async (project) => {
        const { buildTrainingSet } = await import('../../features/training/index.js');
        const s = await buildTrainingSet(project, {
          spine, features: names.length === 1 ? names[0]! : names, eventTimeBound: flags.inclusive ? 'inclusive' : 'strict',
          engine: flags.engine as 'auto' | 'bands' | 'sql', progress: !flags.json,
          ...(flags.out !== undefined ? { out: flags.out } : {}), ...(flags.table !== undefined ? { table: flags.table } : {}),
        });
        if (flags.json) { out(JSON.stringify(s, null, 2)); return; }
        const where = [s.file, s.table ? `table ${s.table}` : null].filter(Boolean).join(' and ');
        out(`built ${formatCount(s.rows)} rows x ${s.columns.length} columns (${s.features.length} features${s.set ? ` of ${s.set.name} ${shortVersion(s.set.version)}` : ''}) in ${s.seconds.toFixed(2)}s -> ${where}`);
        out(`events counted ${s.eventTimeBound === 'strict' ? 'strictly before' : 'at or before'} each spine time; all times UTC`);
      });
    });

  features
    .command('discover')
    .description("propose candidate features over a source, compute them point in time on a model's spine, rank them by added validation AUC, IV, stability and online cost, reject leaks; write typed definitions and a report")
    .requiredOption('--source <name>', 'the source to propose candidates over (a source of the config)')
    .requiredOption('--label <model>', "the model whose spine, label, label availability, split and current features are used")
    .option('--budget <n>', 'compute and evaluate at most N candidates: the first N in a fixed order that interleaves the families (counts, per-value counts and shares, aggregations, recency, trends, distinct counts), after dropping those equal to current features', '80')
    .option('--top <n>', 'select at most N candidates', '8')
    .option('--confirm <n>', 'add-one models for the N best-screened candidates (default 2 x top)')
    .option('--max-values <n>', 'values per categorical column (the most entity-specific first)', '12')
    .option('--seed <n>', 'seed of the GBDTs', '7')
    .option('-o, --out <file.ts>', 'the TypeScript module of the selected definitions (default discovered-<source>.ts in the project)')
    .option('--report <file.html>', 'the HTML report (default discover-<source>.html in the project)')
    .option('--json', 'print the ranking as JSON', false)
    .action(async (flags: DiscoverFlags, cmd: Command) => {
      const int = (name: string, v: string | undefined): number | undefined => {
        if (v === undefined) return undefined;
        const n = Number(v);
        if (!Number.isInteger(n) || n < 1) throw new KilnError('USAGE', `--${name} ${v}: expected a whole number >= 1`);
        return n;
      };
      const seed = Number(flags.seed);
      if (!Number.isInteger(seed)) throw new KilnError('USAGE', `--seed ${flags.seed}: expected an integer`);
      await withProject(cmd, async (project) => {
        const { discoverFeatures, discoveredModule, discoverReport } = await import('../../discover/index.js');
        const { loadFeatureRegistry } = await import('../../features/index.js');
        const r = await discoverFeatures(project, {
          source: flags.source, model: flags.label, budget: int('budget', flags.budget)!, top: int('top', flags.top)!, seed, maxValues: int('max-values', flags.maxValues)!,
          ...(flags.confirm !== undefined ? { confirm: int('confirm', flags.confirm)! } : {}),
        });
        const command = `kiln features discover --source ${flags.source} --label ${flags.label} --budget ${flags.budget}`;
        const registry = loadFeatureRegistry(project.config.features);
        const source = registry.sources.get(r.source)!;
        const file = resolve(project.paths.root, flags.out ?? `discovered-${r.source}.ts`);
        const report = resolve(project.paths.root, flags.report ?? `discover-${r.source}.html`);
        writeFileSync(file, discoveredModule(r, source, registry.entities.get(source.entity)!, command));
        writeFileSync(report, discoverReport(r, command));
        if (flags.json) {
          out(JSON.stringify({ ...r, candidates: r.candidates.map(({ candidate: _c, ...rest }) => rest), file, report }, null, 2));
          return;
        }
        const f = (x: number | null, d: number): string => (x === null ? '-' : x.toFixed(d));
        out(formatTable(['#', 'candidate', 'status', 'Δ valid AUC', 'IV', 'AUC', 'PSI excess', 'state B', 'note'],
          r.candidates.slice(0, 20).map((c, i) => [i + 1, c.name, c.status, f(c.deltaAuc, 4), f(c.iv, 3), f(c.auc, 3), f(c.psiMax, 3), c.stateBytes, c.reason ?? ''])));
        const sel = r.candidates.filter((c) => c.status === 'selected').length;
        const rej = r.candidates.filter((c) => c.status === 'rejected').length;
        out(`\n${r.candidates.length} of ${r.generated} candidates evaluated (${r.skipped.length} equal to current features); ${sel} selected, ${rej} rejected as leaks`);
        out(`validation AUC ${f(r.current.validAuc, 4)} with the current features, ${f(r.selectedValidAuc, 4)} with the selected added (${r.seconds.toFixed(1)}s)`);
        out(`definitions -> ${file} (add ...DISCOVERED to the config's features)\nreport      -> ${report}`);
      });
    });
}
