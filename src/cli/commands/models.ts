import type { Command } from 'commander';
import { KilnError } from '../../core/errors.js';
import { ModelRegistry, aliasHistory } from '../../registry/index.js';
import { formatTable } from '../table.js';
import { withProject } from '../project-option.js';

function withRegistry<T>(cmd: Command, fn: (r: ModelRegistry) => T): Promise<T> {
  return withProject(cmd, (project) => fn(new ModelRegistry(project.meta.db)));
}

/** 'credit@3' → ['credit', 3]; the version is required where an alias is being pointed. */
function nameAtVersion(ref: string): [string, number] {
  const m = /^(.+)@(\d+)$/.exec(ref);
  if (!m) throw new KilnError('INVALID_ARGUMENT', `'${ref}': expected NAME@VERSION, e.g. credit@3`);
  return [m[1]!, Number(m[2])];
}

export function registerModels(program: Command): void {
  const models = program.command('models').description('the model registry: versions, aliases (champion, challenger, ...) and their history');
  models
    .command('list')
    .description('models with their latest version and aliases')
    .option('--json', 'print JSON', false)
    .action(async (opts: { json: boolean }, cmd: Command) => withRegistry(cmd, (r) => {
      const rows = r.listModels();
      if (opts.json) { process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`); return; }
      if (!rows.length) { process.stdout.write('no models registered yet\n'); return; }
      process.stdout.write(`${formatTable(['model', 'versions', 'latest', 'aliases'], rows.map((m) => [m.name, m.versions, m.latestVersion ?? '-', Object.entries(m.aliases).map(([a, v]) => `${a}=${v}`).join(' ') || '-']))}\n`);
    }));
  models
    .command('show <ref>')
    .description('a model (all versions) or one version: NAME, NAME@VERSION or NAME@ALIAS')
    .option('--json', 'print JSON', false)
    .action(async (ref: string, opts: { json: boolean }, cmd: Command) => withRegistry(cmd, (r) => {
      const versions = ref.includes('@') ? [r.resolve(ref)] : r.listVersions(ref);
      if (opts.json) { process.stdout.write(`${JSON.stringify(versions, null, 2)}\n`); return; }
      for (const v of versions) {
        process.stdout.write(`${v.model} version ${v.version}${v.aliases.length ? `  [${v.aliases.join(', ')}]` : ''}\n  created ${v.createdAt} by ${v.createdBy}  run ${v.runId ?? '-'}\n  artifact ${v.artifactPath ?? '-'}\n  signature: ${v.signature.features.map((f) => `${f.name} ${f.type}${f.version ? `@${f.version}` : ''}`).join(', ')}\n`);
      }
    }));
  const alias = models.command('alias').description('point or remove an alias; every change is kept in the audit log');
  alias
    .command('set <nameAtVersion> <alias>')
    .description('point ALIAS at NAME@VERSION (moves it atomically if it pointed elsewhere)')
    .requiredOption('--reason <text>', 'why (kept in the audit log)')
    .action(async (ref: string, name: string, opts: { reason: string }, cmd: Command) => withRegistry(cmd, (r) => {
      const [model, version] = nameAtVersion(ref);
      const { previousVersion } = r.setAlias(model, name, version, { reason: opts.reason });
      process.stdout.write(`${model}@${name} -> version ${version}${previousVersion !== null ? ` (was ${previousVersion})` : ''}\n`);
    }));
  alias
    .command('rm <name> <alias>')
    .description('remove ALIAS from model NAME')
    .requiredOption('--reason <text>', 'why (kept in the audit log)')
    .action(async (model: string, name: string, opts: { reason: string }, cmd: Command) => withRegistry(cmd, (r) => {
      const { previousVersion } = r.removeAlias(model, name, { reason: opts.reason });
      process.stdout.write(`removed ${model}@${name} (it pointed at version ${previousVersion})\n`);
    }));
  models
    .command('history <name>')
    .description('which version held each alias, when, set by whom and why (from the audit log)')
    .option('--at <time>', 'only what held at this instant (ISO date or timestamp, UTC)')
    .option('--json', 'print JSON', false)
    .action(async (model: string, opts: { at?: string; json: boolean }, cmd: Command) => withRegistry(cmd, (r) => {
      const rows = aliasHistory(r, model, opts.at ? { at: opts.at } : {});
      if (opts.json) { process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`); return; }
      if (!rows.length) { process.stdout.write(opts.at ? `no alias of '${model}' held at ${opts.at}\n` : `'${model}' has never had an alias\n`); return; }
      process.stdout.write(`${formatTable(['alias', 'version', 'from (UTC)', 'to', 'set by', 'reason'], rows.map((i) => [i.alias, i.version, i.from.slice(0, 19), i.to?.slice(0, 19) ?? 'now', i.setBy, i.reason ?? '-']))}\n`);
    }));
}
