import { describe, expect, it } from 'vitest';
import { porterStem } from '../../src/search/index.js';
import { measure, step1a, step1b, step1c, step2, step3, step4, step5a, step5b } from '../../src/search/porter.js';

/** [input, output] pairs of one step, as the paper (Porter 1980) works them. */
const cases = (step: (w: string) => string, pairs: [string, string][]): void => {
  expect(pairs.map(([w]) => [w, step(w)])).toEqual(pairs);
};

describe('the Porter stemmer, step by step (the examples of the 1980 paper)', () => {
  it('measures [C](VC)^m[V]', () => {
    for (const w of ['tr', 'ee', 'tree', 'y', 'by']) expect([w, measure(w)]).toEqual([w, 0]);
    for (const w of ['trouble', 'oats', 'trees', 'ivy']) expect([w, measure(w)]).toEqual([w, 1]);
    for (const w of ['troubles', 'private', 'oaten', 'orrery']) expect([w, measure(w)]).toEqual([w, 2]);
  });

  it('step 1a: plurals', () => {
    cases(step1a, [['caresses', 'caress'], ['ponies', 'poni'], ['ties', 'ti'], ['caress', 'caress'], ['cats', 'cat']]);
  });

  it('step 1b: -eed, -ed, -ing, and the repairs after -ed and -ing', () => {
    cases(step1b, [
      ['feed', 'feed'], ['agreed', 'agree'], ['plastered', 'plaster'], ['bled', 'bled'], ['motoring', 'motor'], ['sing', 'sing'],
      ['conflated', 'conflate'], ['troubled', 'trouble'], ['sized', 'size'], ['hopping', 'hop'], ['tanned', 'tan'],
      ['falling', 'fall'], ['hissing', 'hiss'], ['fizzed', 'fizz'], ['failing', 'fail'], ['filing', 'file'],
    ]);
  });

  it('step 1c: y -> i after a vowel in the stem', () => {
    cases(step1c, [['happy', 'happi'], ['sky', 'sky']]);
  });

  it('step 2: double suffixes when m > 0', () => {
    cases(step2, [
      ['relational', 'relate'], ['conditional', 'condition'], ['rational', 'rational'], ['valenci', 'valence'], ['hesitanci', 'hesitance'],
      ['digitizer', 'digitize'], ['conformabli', 'conformable'], ['radicalli', 'radical'], ['differentli', 'different'], ['vileli', 'vile'],
      ['analogousli', 'analogous'], ['vietnamization', 'vietnamize'], ['predication', 'predicate'], ['operator', 'operate'],
      ['feudalism', 'feudal'], ['decisiveness', 'decisive'], ['hopefulness', 'hopeful'], ['callousness', 'callous'],
      ['formaliti', 'formal'], ['sensitiviti', 'sensitive'], ['sensibiliti', 'sensible'],
    ]);
  });

  it('step 3: -ic-, -full, -ness etc. when m > 0', () => {
    cases(step3, [
      ['triplicate', 'triplic'], ['formative', 'form'], ['formalize', 'formal'], ['electriciti', 'electric'], ['electrical', 'electric'],
      ['hopeful', 'hope'], ['goodness', 'good'],
    ]);
  });

  it('step 4: single suffixes when m > 1 (-ion after s or t only)', () => {
    cases(step4, [
      ['revival', 'reviv'], ['allowance', 'allow'], ['inference', 'infer'], ['airliner', 'airlin'], ['gyroscopic', 'gyroscop'],
      ['adjustable', 'adjust'], ['defensible', 'defens'], ['irritant', 'irrit'], ['replacement', 'replac'], ['adjustment', 'adjust'],
      ['dependent', 'depend'], ['adoption', 'adopt'], ['homologou', 'homolog'], ['communism', 'commun'], ['activate', 'activ'],
      ['angulariti', 'angular'], ['homologous', 'homolog'], ['effective', 'effect'], ['bowdlerize', 'bowdler'],
      // -ion needs *S or *T; only the longest matching suffix is tried (-ement fails on 'agr', so -ent is not tried)
      ['opinion', 'opinion'], ['agreement', 'agreement'],
    ]);
  });

  it('step 5: a final e, and -ll', () => {
    cases(step5a, [['probate', 'probat'], ['rate', 'rate'], ['cease', 'ceas']]);
    cases(step5b, [['controll', 'control'], ['roll', 'roll']]);
  });

  it('chains the steps', () => {
    const pairs: [string, string][] = [
      ['generalizations', 'gener'], ['oscillators', 'oscil'], ['agreed', 'agre'], ['conflated', 'conflat'], ['aerodynamics', 'aerodynam'],
      ['slipstream', 'slipstream'], ['experimental', 'experiment'], ['investigation', 'investig'], ['boundary', 'boundari'],
      ['hypersonic', 'hyperson'], ['layers', 'layer'], ['is', 'i'], ['a', 'a'],
    ];
    expect(pairs.map(([w]) => [w, porterStem(w)])).toEqual(pairs);
  });
});
