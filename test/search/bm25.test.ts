import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isKilnError } from '../../src/core/errors.js';
import { Rng } from '../../src/core/rng.js';
import { Analyzer, Bm25Index, type SearchDocument, type SearchId } from '../../src/search/index.js';

const WORDS = ['flow', 'flows', 'wing', 'wings', 'shock', 'layer', 'boundary', 'heat', 'heated', 'heating', 'plate', 'the', 'of', 'a', 'mach', 'number',
  'pressure', 'turbulent', 'laminar', 'jet', 'nozzle', 'cone', 'body', 'supersonic', 'hypersonic', 'vortex', 'drag', 'lift'];

function randomText(rng: Rng, n: number): string {
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push(WORDS[Math.floor(WORDS.length * rng.uniform() ** 2)]!);
  return out.join(rng.bernoulli(0.2) ? '-' : ' ');
}

function corpus(seed: number, n: number): SearchDocument[] {
  const rng = new Rng(seed);
  return Array.from({ length: n }, (_, i) => ({ id: `d${i}`, fields: { title: randomText(rng, 1 + rng.int(6)), body: rng.bernoulli(0.1) ? null : randomText(rng, rng.int(60)) } }));
}

/** BM25F written out from the formula, document by document (the reference for the index). */
function naiveScores(docs: SearchDocument[], query: string, fields: { name: string; weight: number; b: number }[], k1: number): Map<SearchId, number> {
  const an = new Analyzer();
  const terms = docs.map((d) => fields.map((f) => an.terms(d.fields[f.name] ?? '')));
  const avg = fields.map((_, f) => terms.reduce((s, t) => s + t[f]!.length, 0) / docs.length);
  const out = new Map<SearchId, number>();
  const N = docs.length;
  for (const q of an.terms(query)) {
    const df = terms.filter((t) => t.some((ft) => ft.includes(q))).length;
    if (df === 0) continue;
    const idf = Math.log(1 + (N - df + 0.5) / (df + 0.5));
    docs.forEach((d, i) => {
      let x = 0;
      fields.forEach((f, j) => {
        const tf = terms[i]![j]!.filter((t) => t === q).length;
        x += (f.weight * tf) / (1 - f.b + (f.b * terms[i]![j]!.length) / avg[j]!);
      });
      if (x > 0) out.set(d.id, (out.get(d.id) ?? 0) + (idf * (k1 + 1) * x) / (k1 + x));
    });
  }
  return out;
}

function naiveTop(scores: Map<SearchId, number>, docs: SearchDocument[], k: number): SearchId[] {
  const order = new Map(docs.map((d, i) => [d.id, i]));
  return [...scores.entries()].sort((a, b) => b[1] - a[1] || order.get(a[0])! - order.get(b[0])!).slice(0, k).map(([id]) => id);
}

const dir = mkdtempSync(join(tmpdir(), 'kiln-bm25-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('Bm25Index search', () => {
  const docs = corpus(3, 300);
  const fields = [{ name: 'title', weight: 2.5, b: 0.5 }, { name: 'body', weight: 1, b: 0.75 }];
  const index = Bm25Index.build(docs, { fields, k1: 1.4 });
  const rng = new Rng(11);
  const queries = Array.from({ length: 40 }, () => randomText(rng, 1 + rng.int(5)));

  it('scores BM25F exactly as the formula, on seeded random documents and queries', () => {
    for (const q of queries) {
      const ref = naiveScores(docs, q, fields, 1.4);
      const hits = index.search(q, 1000);
      expect(hits.ids.length).toBe(ref.size);
      hits.ids.forEach((id, i) => expect(hits.scores[i]).toBeCloseTo(ref.get(id)!, 9));
      expect(hits.ids.slice(0, 10)).toEqual(naiveTop(ref, docs, 10));
    }
  });

  it('is plain Okapi BM25 with one field of weight 1', () => {
    const one = Bm25Index.build(docs.map((d) => ({ id: d.id, fields: { text: `${d.fields.title}\n${d.fields.body ?? ''}` } })), { fields: ['text'] });
    const q = 'turbulent boundary layer heating';
    const an = new Analyzer();
    const toks = docs.map((d) => an.terms(`${d.fields.title}\n${d.fields.body ?? ''}`));
    const avg = toks.reduce((s, t) => s + t.length, 0) / toks.length;
    const hits = one.search(q, 5);
    hits.ids.forEach((id, i) => {
      const t = toks[Number(String(id).slice(1))]!;
      let s = 0;
      for (const w of an.terms(q)) {
        const df = toks.filter((x) => x.includes(w)).length;
        const tf = t.filter((x) => x === w).length;
        s += Math.log(1 + (300 - df + 0.5) / (df + 0.5)) * (tf * 2.2) / (tf + 1.2 * (0.25 + (0.75 * t.length) / avg));
      }
      expect(hits.scores[i]).toBeCloseTo(s, 9);
    });
  });

  it('returns k hits best first, ties by index order, and nothing for unknown or stop-word queries', () => {
    const hits = index.search('shock', 7);
    expect(hits.ids.length).toBe(7);
    for (let i = 1; i < 7; i++) expect(hits.scores[i - 1]).toBeGreaterThanOrEqual(hits.scores[i]!);
    expect(index.search('zeppelin', 5).ids).toEqual([]);
    expect(index.search('the of a', 5).ids).toEqual([]);
    const tie = Bm25Index.build([{ id: 2, fields: { t: 'jet' } }, { id: 1, fields: { t: 'jet' } }, { id: 3, fields: { t: 'cone' } }], { fields: ['t'] });
    expect(tie.search('jet', 5).ids).toEqual([2, 1]);
  });

  it('filters by id with a predicate or a set, before taking the top k', () => {
    const all = index.search('vortex drag', 300).ids;
    const allowed = new Set<SearchId>(all.filter((_, i) => i % 3 === 1));
    expect(index.search('vortex drag', 5, allowed).ids).toEqual(all.filter((id) => allowed.has(id)).slice(0, 5));
    expect(index.search('vortex drag', 5, (id) => String(id).endsWith('7')).ids).toEqual(all.filter((id) => String(id).endsWith('7')).slice(0, 5));
  });

  it('gives per-field BM25, coverage and length for re-ranking features', () => {
    const q = 'heated wing vortex zeppelin';
    const ids = index.search(q, 3).ids;
    const s = index.scoreDocs(q, [...ids, 'nope']);
    expect(Array.from(s.total.subarray(0, 3))).toEqual(Array.from(index.search(q, 3).scores).map((x) => expect.closeTo(x, 12)));
    expect(s.queryTerms).toBe(4);
    expect(s.coverage[0]).toBeGreaterThan(0);
    expect(s.coverage[0]).toBeLessThanOrEqual(0.75);
    expect([s.total[3], s.coverage[3], s.length[3]]).toEqual([0, 0, 0]);
    const an = new Analyzer();
    const d0 = docs.find((d) => d.id === ids[0])!;
    expect(s.length[0]).toBe(an.terms(d0.fields.title ?? '').length + an.terms(d0.fields.body ?? '').length);
    // the title's own BM25: its length normalisation (b 0.5), idf over whole documents
    const all = docs.map((d) => [an.terms(d.fields.title ?? ''), an.terms(d.fields.body ?? '')]);
    const avgTitle = all.reduce((x, t) => x + t[0]!.length, 0) / all.length;
    const t0 = an.terms(d0.fields.title ?? '');
    let ref = 0;
    for (const w of an.terms(q)) {
      const df = all.filter((t) => t[0]!.includes(w) || t[1]!.includes(w)).length;
      const tf = t0.filter((x) => x === w).length;
      if (df > 0) ref += (Math.log(1 + (300 - df + 0.5) / (df + 0.5)) * tf * 2.4) / (tf + 1.4 * (0.5 + (0.5 * t0.length) / avgTitle));
    }
    expect(s.perField[0]![0]).toBeCloseTo(ref, 9);
  });
});

describe('Bm25Index passages', () => {
  const text = Array.from({ length: 23 }, (_, i) => `w${i}`).join(' ');
  const docs: SearchDocument[] = [
    { id: 1, fields: { title: 'Shock waves', body: text } },
    { id: 2, fields: { title: 'Heated plates', body: 'a heated plate in laminar flow; the heated plate again and again' } },
    { id: 3, fields: { title: '', body: '' } },
  ];

  it('cuts fields into windows of `length` tokens starting every length - overlap, with offsets and text', () => {
    const index = Bm25Index.build(docs, { fields: ['title', 'body'], passages: { length: 10, overlap: 3, fields: ['body'] } });
    expect(index.passageCount).toBe(3 + 2);
    const hits = index.searchPassages('w8', 5);
    expect(hits.map((h) => [h.id, h.field, h.text])).toEqual([
      [1, 'body', 'w0 w1 w2 w3 w4 w5 w6 w7 w8 w9'],
      [1, 'body', 'w7 w8 w9 w10 w11 w12 w13 w14 w15 w16'],
    ]);
    const last = index.searchPassages('w22', 1)[0]!;
    expect([last.text, text.slice(last.start, last.end), last.stored]).toEqual(['w14 w15 w16 w17 w18 w19 w20 w21 w22', 'w14 w15 w16 w17 w18 w19 w20 w21 w22', { body: text }]);
    const hp = index.searchPassages('heated plates', 5);
    expect(hp.map((h) => [h.id, h.passage, h.start])).toEqual([[2, 3, 0], [2, 4, 36]]);
    expect(hp[0]!.score).toBeGreaterThan(hp[1]!.score);
    expect(index.searchPassages('heated', 5, new Set([1]))).toEqual([]);
  });

  it('has no passages without the option, and keeps no text of unstored fields', () => {
    expect(Bm25Index.build(docs, { fields: ['body'] }).searchPassages('w1', 3)).toEqual([]);
    const h = Bm25Index.build(docs, { fields: ['title', 'body'], passages: { length: 50 }, store: ['title'] }).searchPassages('w3', 3);
    expect(h.map((x) => [x.id, x.field, x.text, x.stored])).toEqual([[1, 'body', undefined, { title: 'Shock waves' }]]);
  });
});

describe('Bm25Index files', () => {
  const docs = corpus(5, 120);
  const options = { fields: [{ name: 'title', weight: 2 }, 'body'], passages: { length: 20, overlap: 5 }, analyzer: { stopWords: 'lucene' as const } };

  it('loads back an index that answers the same, and writes the same bytes for the same input', () => {
    const a = Bm25Index.build(docs, options);
    a.save(join(dir, 'a.bm25'));
    Bm25Index.build(docs, options).save(join(dir, 'b.bm25'));
    expect(readFileSync(join(dir, 'a.bm25')).equals(readFileSync(join(dir, 'b.bm25')))).toBe(true);
    const b = Bm25Index.load(join(dir, 'a.bm25'));
    expect(b.options).toEqual(a.options);
    for (const q of ['heated wing', 'the turbulent jet nozzle', 'drag']) {
      expect(b.search(q, 20)).toEqual(a.search(q, 20));
      expect(b.searchPassages(q, 5)).toEqual(a.searchPassages(q, 5));
    }
  });

  it('rejects a file that is not an index, is truncated, or is newer', () => {
    const path = join(dir, 'a.bm25');
    Bm25Index.build(docs, options).save(path);
    const bytes = readFileSync(path);
    const code = (f: () => unknown): string | undefined => { try { f(); } catch (e) { return isKilnError(e) ? e.code : 'other'; } return undefined; };
    writeFileSync(join(dir, 'junk'), 'hello world, not an index');
    expect(code(() => Bm25Index.load(join(dir, 'junk')))).toBe('FILE_INVALID');
    writeFileSync(join(dir, 'cut'), bytes.subarray(0, bytes.length - 100));
    expect(code(() => Bm25Index.load(join(dir, 'cut')))).toBe('FILE_INVALID');
    const text = bytes.toString('latin1').replace('"kiln.bm25@1"', '"kiln.bm25@9"');
    writeFileSync(join(dir, 'new'), Buffer.from(text, 'latin1'));
    expect(code(() => Bm25Index.load(join(dir, 'new')))).toBe('MODEL_FORMAT_TOO_NEW');
    expect(code(() => Bm25Index.load(join(dir, 'absent')))).toBe('FILE_NOT_FOUND');
  });
});

describe('Bm25Index input checks', () => {
  const err = (f: () => unknown): { code: string; message: string; path?: unknown } | null => {
    try { f(); } catch (e) { return isKilnError(e) ? { code: e.code, message: e.message, path: e.path } : { code: 'other', message: String(e) }; }
    return null;
  };
  const rows = [{ id: 'a', fields: { t: 'x' } }];

  it('names the bad option', () => {
    expect(err(() => Bm25Index.build(rows, { fields: [] }))).toMatchObject({ code: 'SEARCH_PARAM_INVALID', path: ['fields'] });
    expect(err(() => Bm25Index.build(rows, { fields: ['t', 't'] }))?.message).toMatch(/'t' twice/);
    expect(err(() => Bm25Index.build(rows, { fields: ['t'], k1: -1 }))).toMatchObject({ code: 'SEARCH_PARAM_INVALID', path: ['k1'] });
    expect(err(() => Bm25Index.build(rows, { fields: [{ name: 't', b: 2 }] }))).toMatchObject({ path: ['fields', 0, 'b'] });
    expect(err(() => Bm25Index.build(rows, { fields: ['t'], passages: { length: 5, overlap: 5 } }))).toMatchObject({ path: ['passages', 'overlap'] });
    expect(err(() => Bm25Index.build(rows, { fields: ['t'], passages: { length: 5, fields: ['u'] } }))?.message).toMatch(/'u' is not an indexed field; use one of: t/);
    expect(err(() => Bm25Index.build(rows, { fields: ['t'] }).search('x', 0))).toMatchObject({ code: 'SEARCH_PARAM_INVALID', path: ['k'] });
  });

  it('names the bad row', () => {
    expect(err(() => Bm25Index.build([...rows, { id: 'a', fields: { t: 'y' } }], { fields: ['t'] }))).toMatchObject({ code: 'SEARCH_DATA_INVALID', path: ['rows', 1, 'id'] });
    expect(err(() => Bm25Index.build([{ id: 'a', fields: { t: 3 as never } }], { fields: ['t'] }))).toMatchObject({ code: 'SEARCH_DATA_INVALID', path: ['rows', 0, 'fields', 't'] });
    expect(err(() => Bm25Index.build([{ id: '', fields: {} }], { fields: ['t'] }))).toMatchObject({ path: ['rows', 0, 'id'] });
    expect(err(() => Bm25Index.build([], { fields: ['t'] }))).toMatchObject({ code: 'SEARCH_DATA_INVALID', path: ['rows'] });
  });
});
