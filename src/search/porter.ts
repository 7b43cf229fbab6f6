/**
 * The Porter stemmer as published: M. F. Porter, "An algorithm for suffix stripping", Program 14(3),
 * 1980, steps 1a to 5b, with the paper's rule tables (step 2 has ABLI -> ABLE, not the later BLI -> BLE,
 * and no LOGI rule). Words of any length are stemmed, as in the paper (the C release's "departure" of
 * leaving one- and two-letter words alone is not taken). Input is one lower-case word; letters outside
 * a-z count as consonants, so non-English words pass through almost unchanged.
 *
 * Notation of the paper: a consonant is a letter other than a, e, i, o, u and other than a y preceded by
 * a consonant; every word is [C](VC)^m[V], m its measure. *v*: the stem has a vowel; *d: it ends in a
 * double consonant; *o: it ends consonant-vowel-consonant, the last not w, x or y.
 */

function isConsonant(w: string, i: number): boolean {
  const c = w.charCodeAt(i);
  // a e i o u
  if (c === 97 || c === 101 || c === 105 || c === 111 || c === 117) return false;
  // y is a consonant at the start or after a vowel
  if (c === 121) return i === 0 || !isConsonant(w, i - 1);
  return true;
}

/** m of the first `len` letters of w. */
export function measure(w: string, len = w.length): number {
  let i = 0;
  let m = 0;
  while (i < len && isConsonant(w, i)) i++;
  for (;;) {
    while (i < len && !isConsonant(w, i)) i++;
    if (i >= len) return m;
    while (i < len && isConsonant(w, i)) i++;
    m++;
  }
}

function hasVowel(w: string, len: number): boolean {
  for (let i = 0; i < len; i++) if (!isConsonant(w, i)) return true;
  return false;
}

function endsDoubleConsonant(w: string, len: number): boolean {
  return len >= 2 && w[len - 1] === w[len - 2] && isConsonant(w, len - 1);
}

/** *o on the first `len` letters. */
function endsCvc(w: string, len: number): boolean {
  if (len < 3 || !isConsonant(w, len - 3) || isConsonant(w, len - 2) || !isConsonant(w, len - 1)) return false;
  const c = w[len - 1];
  return c !== 'w' && c !== 'x' && c !== 'y';
}

type Rule = readonly [suffix: string, replacement: string];

const byLength = (rules: Rule[]): readonly Rule[] => rules.sort((a, b) => b[0].length - a[0].length);

const STEP2 = byLength([
  ['ational', 'ate'], ['tional', 'tion'], ['enci', 'ence'], ['anci', 'ance'], ['izer', 'ize'], ['abli', 'able'],
  ['alli', 'al'], ['entli', 'ent'], ['eli', 'e'], ['ousli', 'ous'], ['ization', 'ize'], ['ation', 'ate'],
  ['ator', 'ate'], ['alism', 'al'], ['iveness', 'ive'], ['fulness', 'ful'], ['ousness', 'ous'], ['aliti', 'al'],
  ['iviti', 'ive'], ['biliti', 'ble'],
]);
const STEP3 = byLength([['icate', 'ic'], ['ative', ''], ['alize', 'al'], ['iciti', 'ic'], ['ical', 'ic'], ['ful', ''], ['ness', '']]);
const STEP4 = byLength(['al', 'ance', 'ence', 'er', 'ic', 'able', 'ible', 'ant', 'ement', 'ment', 'ent', 'ion', 'ou', 'ism', 'ate', 'iti', 'ous', 'ive', 'ize'].map((s): Rule => [s, '']));

/**
 * One rule of a step: the rule with the longest suffix the word ends with is chosen; it fires when its
 * stem satisfies `cond`, and no shorter rule is tried either way (the paper's "longest match").
 */
function applyStep(w: string, rules: readonly Rule[], cond: (w: string, stemLen: number, suffix: string) => boolean): string {
  for (const [suffix, rep] of rules) {
    if (!w.endsWith(suffix)) continue;
    const stemLen = w.length - suffix.length;
    return cond(w, stemLen, suffix) ? w.slice(0, stemLen) + rep : w;
  }
  return w;
}

export function step1a(w: string): string {
  if (w.endsWith('sses') || w.endsWith('ies')) return w.slice(0, -2);
  if (w.endsWith('ss')) return w;
  if (w.endsWith('s')) return w.slice(0, -1);
  return w;
}

export function step1b(w: string): string {
  if (w.endsWith('eed')) return measure(w, w.length - 3) > 0 ? w.slice(0, -1) : w;
  let stem: string;
  if (w.endsWith('ed') && hasVowel(w, w.length - 2)) stem = w.slice(0, -2);
  else if (w.endsWith('ing') && hasVowel(w, w.length - 3)) stem = w.slice(0, -3);
  else return w;
  if (stem.endsWith('at') || stem.endsWith('bl') || stem.endsWith('iz')) return `${stem}e`;
  const n = stem.length;
  if (endsDoubleConsonant(stem, n) && !'lsz'.includes(stem[n - 1]!)) return stem.slice(0, -1);
  if (measure(stem) === 1 && endsCvc(stem, n)) return `${stem}e`;
  return stem;
}

export function step1c(w: string): string {
  return w.endsWith('y') && hasVowel(w, w.length - 1) ? `${w.slice(0, -1)}i` : w;
}

export function step2(w: string): string {
  return applyStep(w, STEP2, (s, n) => measure(s, n) > 0);
}

export function step3(w: string): string {
  return applyStep(w, STEP3, (s, n) => measure(s, n) > 0);
}

export function step4(w: string): string {
  return applyStep(w, STEP4, (s, n, suffix) => measure(s, n) > 1 && (suffix !== 'ion' || s[n - 1] === 's' || s[n - 1] === 't'));
}

export function step5a(w: string): string {
  if (!w.endsWith('e')) return w;
  const n = w.length - 1;
  const m = measure(w, n);
  return m > 1 || (m === 1 && !endsCvc(w, n)) ? w.slice(0, n) : w;
}

export function step5b(w: string): string {
  return w.endsWith('ll') && measure(w) > 1 ? w.slice(0, -1) : w;
}

/**
 * The Porter (1980) stem of a lower-case word.
 * @example porterStem('generalizations') // 'gener'
 */
export function porterStem(word: string): string {
  return step5b(step5a(step4(step3(step2(step1c(step1b(step1a(word))))))));
}
