import type { Command } from 'commander';
import { KilnError } from '../../core/errors.js';
import { aliasHistory, describeSignature, type ModelRegistry } from '../../registry/index.js';
import { formatTable } from '../table.js';
import { withProject } from '../project-option.js';

function withRegistry<T>(cmd: Command, fn: (r: ModelRegistry) => T): Promise<T> {
  return withProject(cmd, (project) => fn(project.registry));
}

/** 'credit@3' → ['credit', 3]; the version is required where an alias is being pointed. */
function nameAtVersion(ref: string): [string, number] {
  const m = /^(.+)@(\d+)$/.exec(ref);
  if (!m) throw new KilnError('USAGE', `'${ref}': expected NAME@VERSION, e.g. credit@3`);
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
    .option('--json', 'print JSON (the signature with every input)', false)
    .option('--top <n>', 'list every input up to N inputs, else summarise them by declared feature (first N features)', '25')
    .action(async (ref: string, opts: { json: boolean; top: string }, cmd: Command) => withRegistry(cmd, (r) => {
      const top = Number(opts.top);
      if (!Number.isInteger(top) || top < 1) throw new KilnError('USAGE', `--top is '${opts.top}'; expected a whole number of 1 or more`, { path: ['top'] });
      const versions = ref.includes('@') ? [r.resolve(ref)] : r.listVersions(ref);
      if (opts.json) { process.stdout.write(`${JSON.stringify(versions, null, 2)}\n`); return; }
      for (const v of versions) {
        process.stdout.write(`${v.model} version ${v.version}${v.aliases.length ? `  [${v.aliases.join(', ')}]` : ''}\n  created ${v.createdAt} by ${v.createdBy}  run ${v.runId ?? '-'}\n  artifact ${v.artifactPath ?? '-'}\n  signature: ${describeSignature(v.signature, top)}\n`);
      }
    }));
  models
    .command('export <ref>')
    .description("write a version's model bundle (kiln.model@1, with its checksum) to a file: NAME, NAME@VERSION or NAME@ALIAS")
    .option('-o, --out <file>', 'the file to write (default: NAME-vVERSION.kiln.json here)')
    .option('--json', 'print JSON', false)
    .action(async (ref: string, opts: { out?: string; json: boolean }, cmd: Command) => withProject(cmd, async (project) => {
      const { exportModel } = await import('../../pipelines/index.js');
      const version = project.registry.resolve(ref);
      const r = exportModel(project, `${version.model}@${version.version}`, opts.out ?? `${version.model}-v${version.version}.kiln.json`);
      if (opts.json) { process.stdout.write(`${JSON.stringify({ model: r.version.model, version: r.version.version, path: r.path, checksum: r.checksum, sha256: r.sha256, bytes: r.bytes }, null, 2)}\n`); return; }
      process.stdout.write(`wrote ${r.path}: ${r.version.model} version ${r.version.version}, ${r.bytes} bytes, sha256 ${r.sha256}\n`);
    }));
  models
    .command('import <file>')
    .description('register a model bundle (from kiln models export) as a new version in this project, checked first')
    .option('--name <name>', 'register under this model name (default: the name in the bundle)')
    .option('--alias <alias>', 'point this alias at the new version (needs --reason)')
    .option('--reason <text>', 'why the alias moves (kept in the audit log)')
    .option('--json', 'print JSON', false)
    .action(async (file: string, opts: { name?: string; alias?: string; reason?: string; json: boolean }, cmd: Command) => withProject(cmd, async (project) => {
      const { importModel } = await import('../../pipelines/index.js');
      const r = importModel(project, file, { ...(opts.name !== undefined ? { name: opts.name } : {}), ...(opts.alias !== undefined ? { alias: opts.alias } : {}), ...(opts.reason !== undefined ? { reason: opts.reason } : {}) });
      const p = r.bundle.provenance;
      if (opts.json) { process.stdout.write(`${JSON.stringify({ model: r.version.model, version: r.version.version, aliases: r.version.aliases, path: r.path, sha256: r.sha256, source: p }, null, 2)}\n`); return; }
      process.stdout.write(`${r.version.model} version ${r.version.version}: imported ${p.model} version ${p.version} (run ${p.runId ?? '-'}, kiln ${p.kilnVersion})${opts.alias ? `; ${r.version.model}@${opts.alias} -> version ${r.version.version}${r.previousAliasVersion !== null ? ` (was ${r.previousAliasVersion})` : ''}` : ''}\n`);
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
