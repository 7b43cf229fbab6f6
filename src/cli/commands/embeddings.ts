import type { Command } from 'commander';
import { KilnError } from '../../core/errors.js';
import { collect, parseFilters } from '../filters.js';
import { formatTable } from '../table.js';
import { withProject } from '../project-option.js';

const out = (s: string): void => { process.stdout.write(s.endsWith('\n') ? s : `${s}\n`); };
const json = (v: unknown): void => out(JSON.stringify(v, null, 2));

/** 'merchants@3' -> ['merchants', 3]. */
function spaceAtVersion(ref: string): [string, number] {
  const m = /^(.+)@(\d+)$/.exec(ref);
  if (!m) throw new KilnError('USAGE', `'${ref}': expected SPACE@VERSION, e.g. merchants@3`);
  return [m[1]!, Number(m[2])];
}



/** Cut times from --from to --to every day, week, month or quarter (ISO dates). */
export function backfillCuts(from: string, to: string, every: string): string[] {
  const step = { day: [0, 1], week: [0, 7], month: [1, 0], quarter: [3, 0] }[every];
  if (!step) throw new KilnError('USAGE', `--every '${every}': expected day, week, month or quarter`, { path: ['every'] });
  const start = new Date(`${from}T00:00:00Z`), end = new Date(`${to}T00:00:00Z`);
  if (Number.isNaN(start.getTime()) || Number.isNaN(end.getTime()) || !(start < end)) throw new KilnError('USAGE', `--from ${from} --to ${to}: expected two dates YYYY-MM-DD, the first before the second`, { path: ['from'] });
  const cuts: string[] = [];
  for (let d = start, k = 0; d <= end && k < 1000; k++) {
    cuts.push(d.toISOString().slice(0, 10));
    d = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + step[0]!, d.getUTCDate() + step[1]!));
  }
  return cuts;
}

export function registerEmbeddings(program: Command): void {
  const emb = program.command('embeddings').description('embedding spaces: train versions, look up vectors and neighbours, move aliases, compare versions');
  emb.command('list')
    .description('the spaces the config declares, with their trained versions and aliases')
    .option('--json', 'print JSON', false)
    .action(async (opts: { json: boolean }, cmd: Command) => withProject(cmd, (project) => {
      const trained = new Map(project.embeddings.spaces().map((s) => [s.space, s]));
      const names = [...new Set([...Object.keys(project.config.embeddings), ...trained.keys()])].sort();
      const rows = names.map((n) => {
        const spec = project.config.embeddings[n];
        const t = trained.get(n);
        const latest = t?.latestVersion ? project.embeddings.get(n, t.latestVersion) : null;
        return { space: n, declared: spec !== undefined, entity: spec?.entity ?? latest?.entity ?? null, trainer: spec?.trainer ?? latest?.trainer ?? null, dim: latest?.dim ?? spec?.dim ?? null, versions: t?.versions ?? 0, latestVersion: t?.latestVersion ?? null, aliases: t?.aliases ?? {} };
      });
      if (opts.json) return json(rows);
      if (!rows.length) return out('no embedding spaces: declare one under embeddings: { ... } in kiln.config.ts');
      out(formatTable(['space', 'entity', 'trainer', 'dim', 'versions', 'latest', 'aliases'], rows.map((r) => [r.space + (r.declared ? '' : ' (not in config)'), r.entity ?? '-', r.trainer ?? '-', r.dim ?? '-', r.versions, r.latestVersion ?? '-', Object.entries(r.aliases).map(([a, v]) => `${a}=${v}`).join(' ') || '-'])));
    }));
  emb.command('train <space>')
    .description('train a new version of a space (an immutable version with lineage, its own vectors and HNSW index)')
    .option('--until <time>', 'train only on data before this time (ISO date or time): the version as it could have been built then')
    .option('--every <period>', 'backfill: one version per day, week, month or quarter from --from to --to (each trained on data before its date)')
    .option('--from <date>', 'backfill: first cut (YYYY-MM-DD)')
    .option('--to <date>', 'backfill: last cut (YYYY-MM-DD)')
    .option('--alias <alias>', 'point this alias at the (last) new version (needs --reason)')
    .option('--reason <text>', 'why (kept in the audit log)')
    .option('--quiet', 'no progress', false)
    .option('--json', 'print JSON', false)
    .option('--on-workers', "enqueue the training as one job for a 'kiln worker' (on any machine) instead of training here; prints the job id", false)
    .option('--wait', '--on-workers: follow the job until it ends', false)
    .option('--queue <prefix>', '--on-workers: the BullMQ key prefix (default kiln-backfill, as `kiln worker --backfill-queue`)')
    .option('--redis-url <url>', '--on-workers: Redis (default $KILN_REDIS_URL, else redis://127.0.0.1:6379)')
    .action(async (space: string, opts: { until?: string; every?: string; from?: string; to?: string; alias?: string; reason?: string; quiet: boolean; json: boolean; onWorkers: boolean; wait: boolean; queue?: string; redisUrl?: string }, cmd: Command) => withProject(cmd, async (project) => {
      const { trainSpace, spaceSpec } = await import('../../embeddings/index.js');
      if (opts.alias && !opts.reason) throw new KilnError('USAGE', '--alias needs --reason "..." (kept in the audit log)', { path: ['reason'] });
      if (opts.every !== undefined && (opts.from === undefined || opts.to === undefined || opts.until !== undefined)) throw new KilnError('USAGE', '--every needs --from and --to (and no --until)', { path: ['every'] });
      const cuts: (string | undefined)[] = opts.every !== undefined ? backfillCuts(opts.from!, opts.to!, opts.every) : [opts.until];
      if (opts.onWorkers) {
        spaceSpec(project, space);
        const [{ JobQueue, newJobId }, { backfillRedis }] = await Promise.all([import('../../jobs/index.js'), import('./backfill.js')]);
        const queue = await JobQueue.connect(backfillRedis(opts));
        try {
          const spec = { id: newJobId('embeddings-train'), kind: 'embeddings-train' as const, space, cuts: cuts.map((c) => c ?? null), ...(opts.reason ? { reason: opts.reason } : {}), ...(opts.alias ? { alias: { name: opts.alias, reason: opts.reason! } } : {}), project: project.paths.root, createdAt: new Date().toISOString() };
          await queue.enqueue(spec);
          process.stderr.write(`job ${spec.id}: train embedding space ${space} (${cuts.length} version${cuts.length > 1 ? 's' : ''}) on a 'kiln worker'\n`);
          if (!opts.wait) { out(opts.json ? JSON.stringify(spec) : spec.id); return; }
          const r = await queue.wait(spec.id, (st) => { if (!opts.quiet) process.stderr.write(`job ${spec.id}: ${st.state}, attempt ${st.attempts}${st.progress?.total ? `, ${st.progress.done}/${st.progress.total} versions` : ''}\n`); });
          if (opts.json) return json(r);
          out(`job ${spec.id}: ${space} version${r.versions.length > 1 ? 's' : ''} ${r.versions.join(', ')} (worker ${r.worker}, attempt ${r.attempt}, ${r.seconds.toFixed(1)} s)`);
          return;
        } finally {
          await queue.close();
        }
      }
      const done = [];
      for (const until of cuts) {
        const r = await trainSpace(project, space, { ...(until ? { until } : {}), quiet: opts.quiet, ...(opts.reason ? { reason: opts.reason } : {}) });
        done.push(r.version);
      }
      const last = done[done.length - 1]!;
      if (opts.alias) project.embeddings.setAlias(space, opts.alias, last.version, { reason: opts.reason! });
      if (opts.json) return json(done.length === 1 ? last : done);
      for (const v of done) out(`${v.space} version ${v.version}: ${v.size} ${v.entity} vectors of ${v.dim} (${v.trainer}), data ${v.dataFrom ?? '-'} .. ${v.dataTo ?? '-'}, index recall@10 ${Number(v.metrics.index_recall_at_10).toFixed(3)}`);
      if (opts.alias) out(`${opts.alias} -> ${space}@${last.version}`);
    }));
  emb.command('show <ref>')
    .description('a space (every version) or one version (SPACE@VERSION or SPACE@ALIAS): lineage, metrics, aliases')
    .option('--json', 'print JSON', false)
    .action(async (ref: string, opts: { json: boolean }, cmd: Command) => withProject(cmd, (project) => {
      const r = project.embeddings;
      const versions = ref.includes('@') ? [r.resolve(ref)] : (r.requireSpace(ref), r.versions(ref));
      if (opts.json) return json(versions);
      for (const v of versions) {
        out(`${v.space} version ${v.version}${v.aliases.length ? `  [${v.aliases.join(', ')}]` : ''}\n  ${v.size} ${v.entity} vectors of ${v.dim} (${v.metric}), trainer ${v.trainer}, created ${v.createdAt} by ${v.createdBy}\n` +
          `  data ${v.dataFrom ?? '-'} .. ${v.dataTo ?? '-'}${v.trainedUntil ? `, trained until ${v.trainedUntil}` : ''}; sources ${v.lineage.sources.map((s) => `${s.kind} ${s.name}${s.version ? `@${s.version}` : ''}${s.rows !== undefined ? ` (${s.rows} rows)` : ''}`).join(', ')}\n` +
          `  ${v.lineage.alignedTo ? `aligned to version ${v.lineage.alignedTo.version} over ${v.lineage.alignedTo.shared} entities (residual ${v.lineage.alignedTo.residual.toFixed(3)})` : 'not aligned'}\n` +
          `  params ${JSON.stringify(v.params)}\n  metrics ${Object.entries(v.metrics).map(([k, x]) => `${k} ${typeof x === 'number' && !Number.isInteger(x) ? x.toPrecision(4) : x}`).join(', ')}\n  files ${v.path}`);
      }
    }));
  emb.command('get <ref> <ids...>')
    .description('vectors of entities in a version (SPACE, SPACE@VERSION or SPACE@ALIAS)')
    .option('--json', 'print JSON', false)
    .action(async (ref: string, ids: string[], opts: { json: boolean }, cmd: Command) => withProject(cmd, async (project) => {
      const { EmbeddingLookup } = await import('../../embeddings/index.js');
      const r = new EmbeddingLookup(project.embeddings).get(ref, ids);
      const rows = ids.map((id, i) => ({ id, vector: r.vectors[i] ? Array.from(r.vectors[i]!) : null }));
      if (opts.json) return json({ space: r.version.space, version: r.version.version, vectors: rows });
      for (const row of rows) out(`${row.id}\t${row.vector ? row.vector.map((x) => x.toFixed(4)).join(' ') : '(not in this version)'}`);
    }));
  emb.command('neighbors <ref> <id>')
    .description('the nearest entities to one, from the version\'s HNSW index (SPACE, SPACE@VERSION or SPACE@ALIAS)')
    .option('-k <n>', 'how many', '10')
    .option('--filter <col=value>', 'only neighbours with this attribute value (repeatable; col=a|b for any of several)', collect, [])
    .option('--json', 'print JSON', false)
    .action(async (ref: string, id: string, opts: { k: string; filter: string[]; json: boolean }, cmd: Command) => withProject(cmd, async (project) => {
      const k = Number(opts.k);
      if (!Number.isInteger(k) || k < 1) throw new KilnError('USAGE', `-k '${opts.k}': expected a whole number of 1 or more`, { path: ['k'] });
      const { EmbeddingLookup } = await import('../../embeddings/index.js');
      const r = new EmbeddingLookup(project.embeddings).neighbors(ref, { id, k, filters: parseFilters(opts.filter) });
      if (opts.json) return json({ space: r.version.space, version: r.version.version, id, neighbors: r.neighbors });
      out(`${r.version.space}@${r.version.version}: neighbours of ${r.version.entity} ${id}`);
      out(formatTable(['rank', r.version.entity, 'similarity'], r.neighbors.map((n, i) => [i + 1, n.id, n.score.toFixed(4)])));
    }));
  emb.command('alias <ref> <alias>')
    .description('point an alias (e.g. current) at a version, SPACE@VERSION; with --remove, remove it (SPACE)')
    .option('--reason <text>', 'why (required; kept in the audit log)')
    .option('--remove', 'remove the alias', false)
    .action(async (ref: string, alias: string, opts: { reason?: string; remove: boolean }, cmd: Command) => withProject(cmd, (project) => {
      if (opts.remove) {
        const r = project.embeddings.removeAlias(ref.replace(/@.*$/, ''), alias, { reason: opts.reason ?? '' });
        return out(`removed ${alias} (was version ${r.previousVersion})`);
      }
      const [space, version] = spaceAtVersion(ref);
      const r = project.embeddings.setAlias(space, alias, version, { reason: opts.reason ?? '' });
      out(`${alias} -> ${space}@${version}${r.previousVersion !== null ? ` (was ${r.previousVersion})` : ''}`);
    }));
  emb.command('compare <from> <to>')
    .description("compare two versions of a space before a cut-over: neighbour overlap, coverage, and each consumer model's test AUC on either")
    .option('-k <n>', 'neighbours compared per entity', '10')
    .option('--sample <n>', 'entities sampled', '500')
    .option('--no-consumers', 'skip the consumer models (retraining each on the candidate version)')
    .option('--json', 'print JSON', false)
    .action(async (from: string, to: string, opts: { k: string; sample: string; consumers: boolean; json: boolean }, cmd: Command) => withProject(cmd, async (project) => {
      const { compareVersions } = await import('../../embeddings/index.js');
      const r = await compareVersions(project, from, to, { k: Number(opts.k), sample: Number(opts.sample), consumers: opts.consumers });
      if (opts.json) return json(r);
      out(`${r.space}: version ${r.from} -> ${r.to}\n  neighbour overlap@${r.k} ${r.overlap.toFixed(3)} over ${r.sampled} entities; only in ${r.from}: ${r.onlyInFrom}, only in ${r.to}: ${r.onlyInTo}`);
      if (r.consumers.length) out(formatTable(['consumer', 'trained on', `test AUC on ${r.from}`, `test AUC on ${r.to}`, 'delta'], r.consumers.map((c) => [c.model, c.trainedOn ?? '-', c.aucFrom?.toFixed(4) ?? '-', c.aucTo?.toFixed(4) ?? '-', c.aucFrom !== null && c.aucTo !== null ? (c.aucTo - c.aucFrom).toFixed(4) : '-'])));
    }));
  emb.command('history <space>')
    .description('the audit of a space: versions registered, aliases moved, who and why')
    .option('--json', 'print JSON', false)
    .action(async (space: string, opts: { json: boolean }, cmd: Command) => withProject(cmd, (project) => {
      const log = project.embeddings.auditLog(space);
      if (opts.json) return json(log);
      out(formatTable(['at', 'actor', 'action', 'version', 'alias', 'was', 'reason'], log.map((e) => [e.at, e.actor, e.action, e.version ?? '-', e.alias ?? '-', e.previousVersion ?? '-', e.reason ?? '-'])));
    }));
}
