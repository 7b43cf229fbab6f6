/**
 * Config-declared search indexes over a table: build, lexical / vector / hybrid queries, filters,
 * passages, evaluation on judged queries (a synthetic topical collection; the Cranfield collection when
 * ../shared/data/cranfield is there), and the CLI.
 */
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { topicalCorpus, trainSpace } from '../../src/embeddings/index.js';
import { buildSearchIndex, cranfieldQueries, evaluateSearchIndex, loadCranfield, readJudgedQueries, SearchIndexHandle } from '../../src/search/index.js';
import { initProject, Project } from '../../src/store/index.js';
import { kiln, tempDir } from '../helpers.js';

const CRANFIELD = join(import.meta.dirname, '..', '..', '..', 'shared', 'data', 'cranfield');
const hasCranfield = existsSync(join(CRANFIELD, 'cran.all.1400'));

let project: Project;
let dir: string;
let cleanup: () => void;
let topic: Int32Array;
let vocab: string[][];

beforeAll(async () => {
  ({ dir, cleanup } = tempDir('kiln-search-idx-'));
  writeFileSync(join(dir, 'kiln.config.ts'), `import { defineConfig } from 'kiln';
export default defineConfig({ name: 'searchidx',
  embeddings: { docs_lsa: { entity: 'document', source: { kind: 'text', table: 'docs', id: 'doc_id', text: ['title', 'body'] }, trainer: 'text-lsa', dim: 16 }${hasCranfield ? `,
    cran_lsa: { entity: 'document', source: { kind: 'text', table: 'cran', id: 'id', text: ['title', 'abstract'] }, trainer: 'text-lsa', dim: 128, params: { minDf: 1 } }` : ''} },
  search: {
    docs: { table: 'docs', id: 'doc_id', fields: [{ name: 'title', weight: 2 }, 'body'], store: ['title'], filters: ['section'], passages: { length: 16, overlap: 4 }, vector: { space: 'docs_lsa' } },
    docs_lexical: { table: 'docs', id: 'doc_id', fields: ['title', 'body'] },${hasCranfield ? `
    cran: { table: 'cran', id: 'id', fields: ['title', 'abstract'], vector: { space: 'cran_lsa' } },` : ''}
  },
});
`);
  await initProject(dir);
  project = await Project.open({ project: dir });
  const corpus = topicalCorpus({ texts: 400, words: 40, seed: 4 });
  topic = corpus.topic;
  vocab = corpus.vocabularies;
  const lines = ['doc_id,section,title,body'];
  corpus.texts.forEach((t, i) => {
    const w = t.split(' ');
    lines.push(`d${i},s${i % 2},"${w.slice(0, 5).join(' ')}","${w.slice(5).join(' ')}"`);
  });
  writeFileSync(join(dir, 'docs.csv'), `${lines.join('\n')}\n`);
  await project.offline.run(`CREATE TABLE docs AS SELECT * FROM read_csv('${join(dir, 'docs.csv')}')`);
  if (hasCranfield) {
    const c = loadCranfield(CRANFIELD);
    const rows = c.docs.map((d) => JSON.stringify({ id: String(d.id), title: d.fields.title ?? '', abstract: d.fields.abstract ?? '' }));
    writeFileSync(join(dir, 'cran.ndjson'), `${rows.join('\n')}\n`);
    await project.offline.run(`CREATE TABLE cran AS SELECT * FROM read_json('${join(dir, 'cran.ndjson')}', columns = { id: 'VARCHAR', title: 'VARCHAR', abstract: 'VARCHAR' })`);
  }
  await trainSpace(project, 'docs_lsa', { quiet: true });
}, 60_000);
afterAll(() => { project?.close(); cleanup?.(); });

describe('search indexes declared in the config', () => {
  it('builds, answers lexical, vector and hybrid queries with stored fields, filters and passages', async () => {
    const meta = await buildSearchIndex(project, 'docs', { quiet: true });
    expect([meta.documents, meta.table]).toEqual([400, 'docs']);
    expect(meta.passages).toBeGreaterThan(400);
    const h = await SearchIndexHandle.open(project, 'docs');
    try {
      const query = vocab[2]!.slice(0, 4).join(' ');
      for (const mode of ['lexical', 'vector', 'hybrid'] as const) {
        const r = await h.search({ query, k: 10, mode });
        expect(r.hits).toHaveLength(10);
        const onTopic = r.hits.filter((x) => topic[Number(x.id.slice(1))] === 2).length;
        expect(onTopic, mode).toBeGreaterThanOrEqual(8);
        expect(typeof r.hits[0]!.fields.title).toBe('string');
      }
      const filtered = await h.search({ query, k: 20, filters: { section: 's1' } });
      expect(filtered.hits.every((x) => Number(x.id.slice(1)) % 2 === 1)).toBe(true);
      const p = await h.search({ query, k: 3, mode: 'lexical', passages: true });
      expect(p.passages!.length).toBe(3);
      expect(p.passages![0]!.end).toBeGreaterThan(p.passages![0]!.start);
      await expect(h.search({ query, filters: { colour: 'x' } })).rejects.toThrow(/no filter column 'colour' \(filters: section\)/);
      await expect(h.search({ query: '  ' })).rejects.toThrow(/query: expected a non-empty text/);
    } finally {
      await h.close();
    }
    await buildSearchIndex(project, 'docs_lexical', { quiet: true });
    const lex = await SearchIndexHandle.open(project, 'docs_lexical');
    await expect(lex.search({ query: 'x', mode: 'hybrid' })).rejects.toThrow(/has no vector side/);
  }, 60_000);

  it('evaluates on judged queries from files, and the CLI prints the table', async () => {
    const queries = vocab.map((v, t) => `q${t}\t${v.slice(5, 8).join(' ')}`);
    const qrels: string[] = [];
    topic.forEach((t, i) => qrels.push(`q${t} 0 d${i} 1`));
    writeFileSync(join(dir, 'queries.tsv'), `${queries.join('\n')}\n`);
    writeFileSync(join(dir, 'qrels.txt'), `${qrels.join('\n')}\n`);
    const judged = readJudgedQueries(join(dir, 'queries.tsv'), join(dir, 'qrels.txt'));
    const h = await SearchIndexHandle.open(project, 'docs');
    const rows = await evaluateSearchIndex(h, judged);
    await h.close();
    expect(rows.map((r) => r.mode)).toEqual(['lexical', 'vector', 'hybrid']);
    for (const r of rows) expect(r.ndcg10, r.mode).toBeGreaterThan(0.8);
    project.releaseOffline();
    const cli = await kiln(['search', 'eval', 'docs', '--queries', join(dir, 'queries.tsv'), '--qrels', join(dir, 'qrels.txt')], dir);
    expect(cli.code).toBe(0);
    expect(cli.stdout).toMatch(/hybrid\s+[01]\.\d{4}/);
    writeFileSync(join(dir, 'bad.txt'), 'q0 d1\n');
    expect(() => readJudgedQueries(join(dir, 'queries.tsv'), join(dir, 'bad.txt'))).toThrow(/bad.txt line 1: expected 'query doc grade'/);
  }, 60_000);

  it('POST /v1/search/:index answers from the built index', async () => {
    const { testServer } = await import('../serve/http-helpers.js');
    const server = await testServer({ routes: [], online: null, project });
    try {
      const query = vocab[1]!.slice(0, 3).join(' ');
      const res = await server.app.inject({ method: 'POST', url: '/v1/search/docs', payload: { query, k: 5, filters: { section: ['s0'] } } });
      expect(res.statusCode).toBe(200);
      const body = res.json() as { mode: string; hits: { id: string; fields: { title: string } }[]; vector: { space: string } };
      expect([body.mode, body.hits.length, body.vector.space]).toEqual(['hybrid', 5, 'docs_lsa']);
      expect(body.hits.every((h) => Number(h.id.slice(1)) % 2 === 0 && topic[Number(h.id.slice(1))] === 1)).toBe(true);
      const missing = await server.app.inject({ method: 'POST', url: '/v1/search/nope', payload: { query } });
      expect(missing.statusCode).toBe(404);
      const bad = await server.app.inject({ method: 'POST', url: '/v1/search/docs', payload: { query, k: 0 } });
      expect(bad.statusCode).toBe(400);
      const doc = (await server.app.inject({ method: 'GET', url: '/openapi.json' })).json() as { paths: Record<string, unknown> };
      expect(Object.keys(doc.paths)).toContain('/v1/search/{index}');
    } finally {
      await server.close();
    }
  }, 60_000);

  it.skipIf(!hasCranfield)('on Cranfield, declared in config: hybrid above plain BM25', async () => {
    await trainSpace(project, 'cran_lsa', { quiet: true });
    await buildSearchIndex(project, 'cran', { quiet: true });
    const h = await SearchIndexHandle.open(project, 'cran');
    const rows = await evaluateSearchIndex(h, cranfieldQueries(CRANFIELD));
    await h.close();
    const by = Object.fromEntries(rows.map((r) => [r.mode, r]));
    // Plain Okapi BM25 (k1 1.2, b 0.75, Porter, English stop words, title + abstract) is 0.527 here.
    expect(by.lexical!.ndcg10).toBeGreaterThan(0.52);
    expect(by.hybrid!.ndcg10).toBeGreaterThan(by.lexical!.ndcg10);
  }, 120_000);
});
if (!hasCranfield) console.log(`search indexes: the Cranfield check is skipped (no ${CRANFIELD})`);
