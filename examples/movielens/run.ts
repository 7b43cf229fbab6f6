/**
 * MovieLens-100k as a kiln project: the three files loaded into tables (ratings, movies, users), the
 * `movies` recommender of kiln.config.ts evaluated on the full-ranking protocol of Microsoft's
 * `recommenders` benchmark (`kiln recs eval movies`), then trained on all ratings and asked for a user's
 * films (`kiln recs recommend movies 196`).
 *
 *   npx tsx examples/movielens/run.ts [DIR] [--data PATH] [--no-eval]
 *
 * The data folder defaults to $MOVIELENS_DATA, else ../shared/data/movielens-100k from the repository
 * root (u.data, u.item, u.user). After it, `kiln serve --project DIR` answers POST /v1/recommend/movies.
 */
import { copyFileSync, existsSync, mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { KilnError } from '../../src/core/errors.js';
import { evaluateRecommender, RecommenderHandle, trainRecommender, type RecsEvalReport } from '../../src/recs/index.js';
import { Project, initProject, quoteLiteral } from '../../src/store/index.js';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '..', '..');

export const GENRES = ['unknown', 'action', 'adventure', 'animation', 'children', 'comedy', 'crime', 'documentary', 'drama', 'fantasy', 'film_noir', 'horror', 'musical', 'mystery', 'romance', 'sci_fi', 'thriller', 'war', 'western'];

export function defaultData(): string {
  return process.env.MOVIELENS_DATA ?? resolve(root, '..', 'shared', 'data', 'movielens-100k');
}

/** Loads u.data, u.item and u.user into the project's offline store as ratings, movies and users. */
export async function loadMovieLens(project: Project, data: string): Promise<void> {
  for (const f of ['u.data', 'u.item', 'u.user']) {
    if (!existsSync(join(data, f))) throw new KilnError('FILE_NOT_FOUND', `${join(data, f)} does not exist; pass --data PATH or set MOVIELENS_DATA to the MovieLens-100k folder`, { path: [f] });
  }
  const file = (f: string): string => quoteLiteral(join(data, f));
  const store = project.offline;
  await store.run(`CREATE OR REPLACE TABLE ratings AS SELECT user_id, movie_id, rating, to_timestamp(ts) AS rated_at
    FROM read_csv(${file('u.data')}, delim = '\t', header = false, columns = { user_id: 'INTEGER', movie_id: 'INTEGER', rating: 'INTEGER', ts: 'BIGINT' })`);
  const genreCols = Object.fromEntries(GENRES.map((g) => [`g_${g}`, 'INTEGER']));
  const cols = { movie_id: 'INTEGER', title: 'VARCHAR', release: 'VARCHAR', video: 'VARCHAR', url: 'VARCHAR', ...genreCols };
  const firstGenre = `CASE ${GENRES.map((g) => `WHEN g_${g} = 1 THEN '${g}'`).join(' ')} END`;
  await store.run(`CREATE OR REPLACE TABLE movies AS SELECT movie_id, title, TRY_CAST(regexp_extract(release, '(\\d{4})$', 1) AS INTEGER) AS year,
    ${GENRES.map((g) => `g_${g} AS genre_${g}`).join(', ')}, ${firstGenre} AS genre
    FROM read_csv(${file('u.item')}, delim = '|', header = false, quote = '', encoding = 'latin-1', columns = ${JSON.stringify(cols).replace(/"/g, "'")})`);
  await store.run(`CREATE OR REPLACE TABLE users AS SELECT user_id, age, gender, occupation
    FROM read_csv(${file('u.user')}, delim = '|', header = false, columns = { user_id: 'INTEGER', age: 'INTEGER', gender: 'VARCHAR', occupation: 'VARCHAR', zip: 'VARCHAR' })`);
}

export async function runExample(dir: string, data: string, opts: { evaluate?: boolean; log?: (line: string) => void } = {}): Promise<{ evaluation: RecsEvalReport | null; version: number }> {
  mkdirSync(dir, { recursive: true });
  copyFileSync(join(here, 'kiln.config.ts'), join(dir, 'kiln.config.ts'));
  await initProject(dir);
  const project = await Project.open({ project: dir });
  try {
    await loadMovieLens(project, data);
    const evaluation = opts.evaluate === false ? null : await evaluateRecommender(project, 'movies', { seed: 42, log: opts.log });
    const meta = await trainRecommender(project, 'movies', { log: opts.log });
    return { evaluation, version: meta.version };
  } finally {
    project.close();
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const at = args.indexOf('--data');
  const data = at >= 0 ? resolve(args[at + 1] ?? '') : defaultData();
  const positional = args.filter((a, i) => !a.startsWith('--') && args[i - 1] !== '--data');
  const dir = resolve(positional[0] ?? mkdtempSync(join(tmpdir(), 'kiln-movielens-')));
  try {
    const log = (l: string): void => { process.stderr.write(`${l}\n`); };
    const r = await runExample(dir, data, { evaluate: !args.includes('--no-eval'), log });
    const lines = [`project ${dir}`];
    if (r.evaluation) {
      lines.push(`kiln recs eval movies (split 75/25 per user, seed 42, full ranking; ${r.evaluation.users} users):`);
      for (const row of r.evaluation.rows) lines.push(`  ${row.model.padEnd(28)} nDCG@10 ${row.ndcg.toFixed(4)}  Recall@10 ${row.recall.toFixed(4)}`);
    }
    const project = await Project.open({ project: dir, offline: 'read' });
    try {
      const rec = RecommenderHandle.open(project, 'movies').recommend({ user: '196', k: 5 });
      lines.push(`movies v${r.version} for user 196: ${rec.items.map((i) => i.item).join(', ')}`);
    } finally {
      project.close();
    }
    writeFileSync(1, `${lines.join('\n')}\n`);
  } catch (e) {
    process.stderr.write(`${e instanceof KilnError ? `${e.code}: ` : ''}${e instanceof Error ? e.message : String(e)}\n`);
    process.exitCode = 1;
  }
}
