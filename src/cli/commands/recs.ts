import type { Command } from 'commander';
import { KilnError } from '../../core/errors.js';
import { collect } from '../filters.js';
import { formatTable } from '../table.js';
import { withProject } from '../project-option.js';

const out = (s: string): void => { process.stdout.write(s.endsWith('\n') ? s : `${s}\n`); };
const err = (s: string): void => { process.stderr.write(`${s}\n`); };

function intOption(value: string, flag: string, min: number): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) throw new KilnError('USAGE', `${flag} '${value}': expected an integer >= ${min}`, { path: [flag.replace(/^--?/, '')] });
  return n;
}

export function registerRecs(program: Command): void {
  const recs = program.command('recs').description('recommenders: train (retrieve-then-rank), evaluate on a held-out split, recommend');
  recs.command('list')
    .description('declared recommenders and their trained versions')
    .option('--json', 'print JSON', false)
    .action(async (opts: { json: boolean }, cmd: Command) => withProject(cmd, async (project) => {
      const { recommenderVersions, recommenderDir, readMeta } = await import('../../recs/index.js');
      const rows = Object.keys(project.config.recommenders).map((name) => {
        const versions = recommenderVersions(project, name);
        const meta = versions.length ? readMeta(`${recommenderDir(project, name)}/v${versions.at(-1)}`) : null;
        return { name, versions, latest: meta ? { version: meta.version, trainedAt: meta.trainedAt, users: meta.users, items: meta.items, interactions: meta.interactions } : null };
      });
      if (opts.json) return out(JSON.stringify(rows, null, 2));
      if (rows.length === 0) return out('no recommenders declared; add one under recommenders: { ... } in kiln.config.ts (docs/recommendations.md)');
      out(formatTable(['recommender', 'versions', 'latest trained', 'users', 'items', 'interactions'], rows.map((r) => [
        r.name, r.versions.length ? r.versions.join(', ') : '(not trained)', r.latest?.trainedAt ?? '', r.latest?.users ?? '', r.latest?.items ?? '', r.latest?.interactions ?? '',
      ])));
    }));
  recs.command('train <name>')
    .description('fit the generators and the ranker on the declared interactions and save the next version')
    .option('--quiet', 'no progress', false)
    .option('--json', 'print JSON', false)
    .action(async (name: string, opts: { quiet: boolean; json: boolean }, cmd: Command) => withProject(cmd, async (project) => {
      const { trainRecommender } = await import('../../recs/index.js');
      const meta = await trainRecommender(project, name, { log: opts.quiet ? undefined : err });
      if (opts.json) return out(JSON.stringify(meta, null, 2));
      const r = meta.report;
      out(`recs ${name}: v${meta.version} (${meta.users} users, ${meta.items} items, ${meta.interactions} interactions) in ${meta.seconds.toFixed(1)} s; ranker ${r.rounds} rounds on ${r.groups} groups, candidate recall ${r.candidateRecall.toFixed(3)}`);
    }, { offline: 'read' }));
  recs.command('eval <name>')
    .description('nDCG, recall and precision at k over the full catalogue on a per-user held-out split: each generator, popularity, retrieve-then-rank')
    .option('-k <n>', 'cut-off', '10')
    .option('--ratio <share>', 'share of each user\'s interactions in train', '0.75')
    .option('--seed <n>', 'split seed', '42')
    .option('--json', 'print JSON', false)
    .action(async (name: string, opts: { k: string; ratio: string; seed: string; json: boolean }, cmd: Command) => withProject(cmd, async (project) => {
      const { evaluateRecommender } = await import('../../recs/index.js');
      const ratio = Number(opts.ratio);
      if (!(ratio > 0 && ratio < 1)) throw new KilnError('USAGE', `--ratio '${opts.ratio}': expected a number in (0, 1)`, { path: ['ratio'] });
      const k = intOption(opts.k, '-k', 1);
      const r = await evaluateRecommender(project, name, { k, ratio, seed: intOption(opts.seed, '--seed', 0), log: opts.json ? undefined : err });
      if (opts.json) return out(JSON.stringify(r, null, 2));
      out(`recs ${name}: ${r.users} users with held-out items; ${r.train} train / ${r.test} test interactions (split ${r.ratio}, seed ${r.seed}), full ranking`);
      out(formatTable(['model', `nDCG@${k}`, `Recall@${k}`, `Precision@${k}`], r.rows.map((x) => [x.model, x.ndcg.toFixed(4), x.recall.toFixed(4), x.precision.toFixed(4)])));
    }, { offline: 'read' }));
  recs.command('recommend <name> <user>')
    .description('the top items for a user (popularity for a user the model has not seen)')
    .option('-k <n>', 'how many', '10')
    .option('--exclude <item>', 'never return this item (repeatable)', collect, [])
    .option('--version <n>', 'a trained version (default the newest)')
    .option('--json', 'print JSON', false)
    .action(async (name: string, user: string, opts: { k: string; exclude: string[]; version?: string; json: boolean }, cmd: Command) => withProject(cmd, async (project) => {
      const { RecommenderHandle } = await import('../../recs/index.js');
      const h = RecommenderHandle.open(project, name, opts.version !== undefined ? intOption(opts.version, '--version', 1) : undefined);
      const req = { user, k: intOption(opts.k, '-k', 1), exclude: opts.exclude, attributes: true };
      let r;
      if (h.readsFeatureStore) {
        const { openOnlineStore } = await import('../../online/index.js');
        const online = await openOnlineStore(project);
        try {
          r = await h.recommendOnline(req, online);
        } finally {
          await online.close();
        }
      } else r = h.recommend(req);
      if (opts.json) return out(JSON.stringify(r, null, 2));
      out(`recs ${name} v${r.version} for '${r.user}' (${r.strategy === 'popularity' ? 'not in the training data: most popular' : 'retrieve-then-rank'}${r.featureValues === 'online' ? ', features from the online store' : ''})`);
      const cols = Object.keys(r.items[0]?.attributes ?? {}).slice(0, 3);
      out(formatTable(['rank', 'item', 'score', ...cols], r.items.map((i) => [i.rank, i.item, i.score.toFixed(4), ...cols.map((c) => String(i.attributes?.[c] ?? ''))])));
    }));
}
