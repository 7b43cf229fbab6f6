import { existsSync } from 'node:fs';
import { extname } from 'node:path';
import type { Command } from 'commander';
import { KilnError, didYouMean } from '../../core/errors.js';
import { formatCount } from '../../core/progress.js';
import { describeDefinition, listRows, loadFeatureRegistry, shortVersion } from '../../features/index.js';
import type { SpineInput } from '../../features/training/index.js';
import { formatTable } from '../table.js';
import { withProject } from '../project-option.js';

const out = (s: string): void => { process.stdout.write(`${s}\n`); };


interface TrainingSetFlags {
  features: string;
  spine?: string;
  asOf?: string;
  key?: string;
  time?: string;
  out?: string;
  table?: string;
  inclusive: boolean;
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

/** `kiln features list|describe|training-set`. */
export function registerFeatures(program: Command): void {
  const features = program.command('features').description('feature definitions: list, describe, and build point-in-time training sets');

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
    .option('--json', 'print the summary as JSON', false)
    .action(async (flags: TrainingSetFlags, cmd: Command) => {
      const spine = spineOf(flags);
      const names = flags.features.split(',').map((s) => s.trim()).filter(Boolean);
      await withProject(cmd, async (project) => {
        const { buildTrainingSet } = await import('../../features/training/index.js');
        const s = await buildTrainingSet(project, {
          spine, features: names.length === 1 ? names[0]! : names, eventTimeBound: flags.inclusive ? 'inclusive' : 'strict',
          ...(flags.out !== undefined ? { out: flags.out } : {}), ...(flags.table !== undefined ? { table: flags.table } : {}),
        });
        if (flags.json) { out(JSON.stringify(s, null, 2)); return; }
        const where = [s.file, s.table ? `table ${s.table}` : null].filter(Boolean).join(' and ');
        out(`built ${formatCount(s.rows)} rows x ${s.columns.length} columns (${s.features.length} features${s.set ? ` of ${s.set.name} ${shortVersion(s.set.version)}` : ''}) in ${s.seconds.toFixed(2)}s -> ${where}`);
        out(`events counted ${s.eventTimeBound === 'strict' ? 'strictly before' : 'at or before'} each spine time; all times UTC`);
      });
    });
}
