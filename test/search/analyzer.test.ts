import { describe, expect, it } from 'vitest';
import { isKilnError } from '../../src/core/errors.js';
import { Analyzer, ENGLISH_STOP_WORDS, STOP_WORD_LISTS, tokenize } from '../../src/search/index.js';

describe('tokenize', () => {
  it('lower-cases runs of letters and digits and splits on punctuation, hyphens and apostrophes', () => {
    expect(tokenize('Boundary-layer flow, at M=2.5; the wing\'s (NACA 0012) tip!').tokens)
      .toEqual(['boundary', 'layer', 'flow', 'at', 'm', '2', '5', 'the', 'wing', 's', 'naca', '0012', 'tip']);
  });

  it('keeps Unicode letters, digits and combining marks together', () => {
    expect(tokenize('Équation de Navier–Stokes: Ωmega naïve café\u0301 ٣٤').tokens).toEqual(['équation', 'de', 'navier', 'stokes', 'ωmega', 'naïve', 'café\u0301', '٣٤']);
  });

  it('gives UTF-16 offsets into the original text', () => {
    const text = '  Über-Schall 🚀 flow.';
    const t = tokenize(text);
    expect(t.tokens).toEqual(['über', 'schall', 'flow']);
    expect(Array.from(t.tokens, (_, i) => text.slice(t.starts[i], t.ends[i]))).toEqual(['Über', 'Schall', 'flow']);
  });

  it('has no token in an empty or all-punctuation text', () => {
    expect(tokenize('').tokens).toEqual([]);
    expect(tokenize(' -- ., !').tokens).toEqual([]);
  });
});

describe('Analyzer', () => {
  it('drops English stop words and Porter-stems the rest', () => {
    expect(new Analyzer().terms('What similarity laws must be obeyed when constructing aeroelastic models of heated high speed aircraft?'))
      .toEqual(['similar', 'law', 'must', 'obei', 'construct', 'aeroelast', 'model', 'heat', 'high', 'speed', 'aircraft']);
  });

  it('takes another list, the caller\'s own words, or no stemming', () => {
    expect(new Analyzer({ stopWords: 'lucene' }).terms('what are the flows')).toEqual(['what', 'flow']);
    expect(new Analyzer({ stopWords: ['Flows'], stemmer: 'none' }).terms('what are the flows')).toEqual(['what', 'are', 'the']);
    expect(new Analyzer({ stopWords: 'none', stemmer: 'none' }).terms('The Flows')).toEqual(['the', 'flows']);
  });

  it('reports null terms for stop words beside the tokens and offsets', () => {
    const a = new Analyzer().analyze('The heated wings');
    expect(a.tokens).toEqual(['the', 'heated', 'wings']);
    expect(a.terms).toEqual([null, 'heat', 'wing']);
    expect(Array.from(a.starts)).toEqual([0, 4, 11]);
  });

  it('has the Snowball list (174 words) and Lucene\'s 33', () => {
    expect(ENGLISH_STOP_WORDS.size).toBe(174);
    expect(STOP_WORD_LISTS.lucene.size).toBe(33);
    for (const w of ['the', 'of', 'and', 'which', 'ourselves', 'very']) expect(ENGLISH_STOP_WORDS.has(w)).toBe(true);
    for (const w of ['flow', 'wing', 'will']) expect(ENGLISH_STOP_WORDS.has(w)).toBe(false);
  });

  it('rejects an unknown list or stemmer, naming the choices', () => {
    const err = (f: () => unknown): unknown => { try { f(); } catch (e) { return e; } return null; };
    const e1 = err(() => new Analyzer({ stopWords: 'french' as never }));
    expect(isKilnError(e1, 'SEARCH_PARAM_INVALID') && e1.message).toMatch(/stopWords 'french' is unknown; use one of: english, lucene, none/);
    const e2 = err(() => new Analyzer({ stemmer: 'snowball' as never }));
    expect(isKilnError(e2, 'SEARCH_PARAM_INVALID') && e2.path).toEqual(['analyzer', 'stemmer']);
    expect(isKilnError(err(() => new Analyzer({ stopWords: ['ok', ''] })), 'SEARCH_PARAM_INVALID')).toBe(true);
  });
});
