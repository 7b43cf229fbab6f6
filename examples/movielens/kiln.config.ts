import { defineConfig } from 'kiln';

const GENRES = ['unknown', 'action', 'adventure', 'animation', 'children', 'comedy', 'crime', 'documentary', 'drama', 'fantasy', 'film_noir', 'horror', 'musical', 'mystery', 'romance', 'sci_fi', 'thriller', 'war', 'western'];

/**
 * MovieLens-100k (examples/movielens/run.ts loads u.data, u.item and u.user into ratings, movies and
 * users). Every rating is an interaction (implicit feedback, as in Microsoft's `recommenders` table); the
 * rating is the row's weight, which the ranker's features read. The generators' settings are the ones
 * bench/recs.ts chose on a validation split carved out of the training split (seed 42), never on its test
 * split.
 */
export default defineConfig({
  name: 'movielens',
  recommenders: {
    movies: {
      description: 'Which films a user will rate next',
      interactions: { table: 'ratings', user: 'user_id', item: 'movie_id', time: 'rated_at', weight: 'rating' },
      items: { table: 'movies', id: 'movie_id', numeric: ['year', ...GENRES.map((g) => `genre_${g}`)], categorical: ['genre'] },
      users: { table: 'users', id: 'user_id', numeric: ['age'], categorical: ['gender', 'occupation'] },
      generators: [
        { kind: 'popularity' },
        { kind: 'item2vec', dim: 64, epochs: 10, popularityWeight: 0.2 },
        { kind: 'als', factors: 32, regularization: 10, alpha: 1, iterations: 15 },
        { kind: 'bpr', factors: 64, regularization: 0.01, epochs: 40, learningRate: 0.05 },
        { kind: 'ease', lambda: 800 },
        { kind: 'cooccurrence', window: 5, decay: 0.5, popularityExponent: 0.5 },
      ],
      candidates: 200,
      validation: { folds: 4 },
      base: null,
      seed: 1,
    },
  },
});
