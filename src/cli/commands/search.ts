import type { Command } from 'commander';
import { KilnError } from '../../core/errors.js';
import { collect, parseFilters } from '../filters.js';
import { formatTable } from '../table.js';
import { withProject } from '../project-option.js';

const out = (s: string): void => { process.stdout.write(s.endsWith('\n') ? s : `${s}\n`); };



export function registerSearch(program: Command): void {
  const search = program.command('search').description('search indexes over text columns: build, query (lexical, vector, hybrid), evaluate on judged queries');
  search.command('build <index>')
    .description("build (or rebuild) an index declared under search: { ... } from its table's text columns")
    .option('--quiet', 'no progress', false)
    .option('--json', 'print JSON', false)
    .action(async (name: string, opts: { quiet: boolean; json: boolean }, cmd: Command) => withProject(cmd, async (project) => {
      const { buildSearchIndex } = await import('../../search/index.js');
      const meta = await buildSearchIndex(project, name, { quiet: opts.quiet });
      if (opts.json) return out(JSON.stringify(meta, null, 2));
      out(`search ${name}: ${meta.documents} documents from '${meta.table}', ${meta.passages} passages, ${meta.vocabulary} terms in ${meta.seconds.toFixed(1)}s`);
    }));
  search.command('query <index> <text>')
    .description('the best documents for a query')
    .option('-k <n>', 'how many', '10')
    .option('--mode <mode>', 'lexical, vector or hybrid (default: hybrid when the index has a vector side)')
    .option('--filter <col=value>', 'only documents with this value (repeatable)', collect, [])
    .option('--passages', 'also print the best passages', false)
    .option('--json', 'print JSON', false)
    .action(async (name: string, text: string, opts: { k: string; mode?: string; filter: string[]; passages: boolean; json: boolean }, cmd: Command) => withProject(cmd, async (project) => {
      const { SearchIndexHandle, SEARCH_MODES } = await import('../../search/index.js');
      if (opts.mode !== undefined && !(SEARCH_MODES as readonly string[]).includes(opts.mode)) throw new KilnError('USAGE', `--mode '${opts.mode}': expected ${SEARCH_MODES.join(', ')}`, { path: ['mode'] });
      const handle = await SearchIndexHandle.open(project, name);
      try {
        const r = await handle.search({ query: text, k: Number(opts.k), ...(opts.mode ? { mode: opts.mode as 'lexical' } : {}), filters: parseFilters(opts.filter), passages: opts.passages });
        if (opts.json) return out(JSON.stringify(r, null, 2));
        out(`${r.mode} search of '${name}'${r.vector ? ` (vectors: ${r.vector.space}@${r.vector.version})` : ''}`);
        const first = (f: Record<string, string | null>): string => String(Object.values(f)[0] ?? '').slice(0, 80);
        out(formatTable(['rank', 'id', 'score', 'text'], r.hits.map((h, i) => [i + 1, h.id, h.score.toFixed(4), first(h.fields)])));
        for (const p of r.passages ?? []) out(`  passage of ${p.id} (${p.field} ${p.start}..${p.end}, ${p.score.toFixed(3)}): ${(p.text ?? '').slice(0, 120)}`);
      } finally {
        await handle.close();
      }
    }));
  search.command('eval <index>')
    .description('nDCG@10, MAP and recall@100 of each mode on judged queries (TSV queries + TREC qrels, or the Cranfield collection)')
    .option('--queries <file>', "queries: 'id<TAB>text' per line")
    .option('--qrels <file>', "judgements: 'query 0 doc grade' (TREC) or 'query doc grade' per line")
    .option('--cranfield <dir>', 'the Cranfield collection (cran.qry, cranqrel) instead')
    .option('--json', 'print JSON', false)
    .action(async (name: string, opts: { queries?: string; qrels?: string; cranfield?: string; json: boolean }, cmd: Command) => withProject(cmd, async (project) => {
      const { SearchIndexHandle, evaluateSearchIndex, readJudgedQueries, cranfieldQueries } = await import('../../search/index.js');
      if ((opts.cranfield === undefined) === (opts.queries === undefined || opts.qrels === undefined)) throw new KilnError('USAGE', 'give --queries FILE and --qrels FILE, or --cranfield DIR', { path: ['queries'] });
      const judged = opts.cranfield !== undefined ? cranfieldQueries(opts.cranfield) : readJudgedQueries(opts.queries!, opts.qrels!);
      const handle = await SearchIndexHandle.open(project, name);
      try {
        const rows = await evaluateSearchIndex(handle, judged);
        if (opts.json) return out(JSON.stringify(rows, null, 2));
        out(`search ${name}: ${judged.queries.length} queries (${rows[0]?.queries ?? 0} with a relevant document)`);
        out(formatTable(['mode', 'nDCG@10', 'MAP', 'recall@100', 'p50 ms', 'p99 ms'], rows.map((r) => [r.mode, r.ndcg10.toFixed(4), r.map.toFixed(4), r.recall100.toFixed(4), r.p50Ms.toFixed(2), r.p99Ms.toFixed(2)])));
      } finally {
        await handle.close();
      }
    }));
}
