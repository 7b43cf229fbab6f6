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

interface TensorDesc { name: string; type: string; dims: (number | string | null)[] | null }

/** 'num float32 [batch, 6, 5], len int64 [batch]'. */
function describeTensors(ts: readonly TensorDesc[]): string {
  return ts.map((t) => `${t.name} ${t.type} [${(t.dims ?? ['...']).map((d) => d ?? '?').join(', ')}]`).join(', ');
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
        const onnx = (v.signature as { onnx?: { inputs: TensorDesc[]; logit: string } }).onnx;
        process.stdout.write(`${v.model} version ${v.version}${v.aliases.length ? `  [${v.aliases.join(', ')}]` : ''}\n  created ${v.createdAt} by ${v.createdBy}  run ${v.runId ?? '-'}\n  artifact ${v.artifactPath ?? '-'}\n  signature: ${describeSignature(v.signature, top)}\n${onnx ? `  onnx inputs: ${describeTensors(onnx.inputs)}; logit ${onnx.logit}\n` : ''}`);
      }
    }));
  models
    .command('export <ref>')
    .description("write a version's model bundle (kiln.model@1, with its checksum) to a file, or with --onnx a sequence model as ONNX: NAME, NAME@VERSION or NAME@ALIAS")
    .option('-o, --out <file>', 'the file to write (default: NAME-vVERSION.kiln.json here)')
    .option('--onnx <file>', 'write the ONNX model of a sequence model instead (inputs num, len, c.<field>, gap, tab; outputs logits, embedding)')
    .option('--json', 'print JSON', false)
    .action(async (ref: string, opts: { out?: string; onnx?: string; json: boolean }, cmd: Command) => withProject(cmd, async (project) => {
      if (opts.onnx !== undefined) {
        if (opts.out !== undefined) throw new KilnError('USAGE', '--onnx FILE and --out FILE both name the file to write; give one', { path: ['out'] });
        const { exportSequenceOnnx } = await import('../../pipelines/index.js');
        const r = exportSequenceOnnx(project, ref, opts.onnx);
        if (opts.json) { process.stdout.write(`${JSON.stringify({ model: r.version.model, version: r.version.version, path: r.path, sha256: r.sha256, bytes: r.bytes, inputs: r.signature.inputs, outputs: r.signature.outputs }, null, 2)}\n`); return; }
        process.stdout.write(`wrote ${r.path}: ${r.version.model} version ${r.version.version} as ONNX (opset ${r.signature.opset}), ${r.bytes} bytes, sha256 ${r.sha256}\n  inputs: ${describeTensors(r.signature.inputs)}\n  outputs: ${describeTensors(r.signature.outputs)}\n`);
        return;
      }
      const { exportModel } = await import('../../pipelines/index.js');
      const version = project.registry.resolve(ref);
      const r = exportModel(project, `${version.model}@${version.version}`, opts.out ?? `${version.model}-v${version.version}.kiln.json`);
      if (opts.json) { process.stdout.write(`${JSON.stringify({ model: r.version.model, version: r.version.version, path: r.path, checksum: r.checksum, sha256: r.sha256, bytes: r.bytes }, null, 2)}\n`); return; }
      process.stdout.write(`wrote ${r.path}: ${r.version.model} version ${r.version.version}, ${r.bytes} bytes, sha256 ${r.sha256}\n`);
    }));
  models
    .command('import <file>')
    .description('register a model bundle (from kiln models export) as a new version in this project, checked first; or an ONNX sequence model (FILE.onnx, with --name and --encoding-from)')
    .option('--name <name>', 'register under this model name (default: the name in the bundle; required for ONNX)')
    .option('--encoding-from <ref>', 'ONNX: the kiln sequence model (NAME[@VERSION]) whose encoding builds the inputs num, len, c.<field>, gap, tab')
    .option('--output <name>', "ONNX: the default head's logit, NAME or NAME:COLUMN", 'logits')
    .option('--alias <alias>', 'point this alias at the new version (needs --reason)')
    .option('--reason <text>', 'why the alias moves (kept in the audit log)')
    .option('--json', 'print JSON', false)
    .action(async (file: string, opts: { name?: string; encodingFrom?: string; output: string; alias?: string; reason?: string; json: boolean }, cmd: Command) => withProject(cmd, async (project) => {
      const more = { ...(opts.alias !== undefined ? { alias: opts.alias } : {}), ...(opts.reason !== undefined ? { reason: opts.reason } : {}) };
      if (opts.encodingFrom !== undefined || /\.onnx$/i.test(file)) {
        if (opts.encodingFrom === undefined) throw new KilnError('USAGE', `${file} is an ONNX model: give --encoding-from MODEL[@VERSION], the kiln sequence model whose encoding builds its inputs`, { path: ['encoding-from'] });
        if (opts.name === undefined) throw new KilnError('USAGE', `an ONNX model has no kiln model name: give --name NAME`, { path: ['name'] });
        const { importOnnxModel, parseOutputRef } = await import('../../pipelines/index.js');
        const r = await importOnnxModel(project, file, { name: opts.name, encodingFrom: opts.encodingFrom, output: parseOutputRef(opts.output), ...more });
        const e = r.bundle.provenance.encodingFrom;
        if (opts.json) { process.stdout.write(`${JSON.stringify({ model: r.version.model, version: r.version.version, aliases: r.version.aliases, path: r.path, sha256: r.sha256, encodingFrom: e, signature: r.version.signature }, null, 2)}\n`); return; }
        process.stdout.write(`${r.version.model} version ${r.version.version}: imported ONNX model ${file}${r.bundle.provenance.source.producer ? ` (${r.bundle.provenance.source.producer})` : ''}, inputs built with the encoding of ${e.model} version ${e.version}\n  inputs: ${describeTensors(r.bundle.onnx.signature.inputs)}\n  logit: ${r.bundle.onnx.output.name}:${r.bundle.onnx.output.index}${r.bundle.onnx.embedding ? `, embedding: ${r.bundle.onnx.embedding}` : ''}${opts.alias ? `\n  ${r.version.model}@${opts.alias} -> version ${r.version.version}${r.previousAliasVersion !== null ? ` (was ${r.previousAliasVersion})` : ''}` : ''}\n`);
        return;
      }
      const { importModel } = await import('../../pipelines/index.js');
      const r = importModel(project, file, { ...(opts.name !== undefined ? { name: opts.name } : {}), ...more });
      const p = r.provenance;
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
