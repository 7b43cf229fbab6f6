/**
 * examples/movielens: the three MovieLens-100k files load into tables as they are (tab- and
 * pipe-separated, latin-1 titles, epoch-second timestamps), and the example's `movies` recommender reads
 * them through its config: every rating, user and film, with the attribute columns it declares. The
 * whole pipeline (fit, eval) is bench/recs.ts's and the example's own run; here only what reading does.
 */
import { copyFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { defaultData, loadMovieLens } from '../../examples/movielens/run.js';
import { loadRecsData } from '../../src/recs/index.js';
import { initProject, Project } from '../../src/store/index.js';
import { tempDir } from '../helpers.js';

const DATA = defaultData();
const present = existsSync(join(DATA, 'u.data'));
if (!present) console.warn(`skipping the MovieLens example: ${DATA} is absent (set MOVIELENS_DATA to the MovieLens-100k folder)`);

describe.skipIf(!present)('examples/movielens', () => {
  it('loads the files as tables and the declared recommender reads all of them', async () => {
    const { dir, cleanup } = tempDir('kiln-movielens-');
    let project: Project | undefined;
    try {
      copyFileSync(join(import.meta.dirname, '..', '..', 'examples', 'movielens', 'kiln.config.ts'), join(dir, 'kiln.config.ts'));
      await initProject(dir);
      project = await Project.open({ project: dir });
      await loadMovieLens(project, DATA);
      const title = await project.offline.all<{ title: string; year: number; genre: string }>('SELECT title, year, genre FROM movies WHERE movie_id = 1');
      expect(title[0]).toEqual({ title: 'Toy Story (1995)', year: 1995, genre: 'animation' });
      const r = await loadRecsData(project, 'movies', project.config.recommenders.movies!);
      expect([r.rows, r.data.train.nUsers, r.data.train.nItems, r.timeUnit]).toEqual([100_000, 943, 1682, 'seconds']);
      expect(r.data.train.weights!.every((w) => w >= 1 && w <= 5)).toBe(true);
      expect(Object.keys(r.data.itemAttributes!.numeric!)).toHaveLength(20);
      expect(r.keys.categories.users.gender).toEqual(['F', 'M']);
      expect(r.keys.categories.users.occupation).toHaveLength(21);
      const u196 = r.keys.users.indexOf('196');
      expect(r.data.userAttributes!.numeric!.age![u196]).toBe(49);
    } finally {
      project?.close();
      cleanup();
    }
  }, 60_000);
});
