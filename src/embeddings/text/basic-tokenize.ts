/**
 * BERT's basic tokenisation, before WordPiece: drop NUL, U+FFFD and control characters, turn every
 * whitespace character into a space, put spaces around CJK ideographs (each is a word), split on
 * whitespace, then per word lower-case and strip accents (NFD, drop combining marks) when asked, and
 * split off every punctuation character (ASCII symbols count as punctuation, as in BERT) as its own
 * word. Words in `neverSplit` (the special tokens) pass through untouched.
 */

const WHITESPACE = /^[\t\n\r\p{Zs}]$/u;
const CONTROL = /^\p{C}$/u;
const PUNCT = /^\p{P}$/u;
const MARK = /\p{Mn}/gu;

/** Tab, newline, carriage return and the Unicode space separators. */
export function isWhitespace(ch: string): boolean {
  return WHITESPACE.test(ch);
}

/** Control and format characters (Unicode category C*) other than the whitespace ones. */
export function isControl(ch: string): boolean {
  return ch !== '\t' && ch !== '\n' && ch !== '\r' && CONTROL.test(ch);
}

/** Unicode punctuation, and every non-alphanumeric ASCII printable character (`$`, `+`, `^`, ...). */
export function isPunctuation(ch: string): boolean {
  const cp = ch.codePointAt(0)!;
  if ((cp >= 33 && cp <= 47) || (cp >= 58 && cp <= 64) || (cp >= 91 && cp <= 96) || (cp >= 123 && cp <= 126)) return true;
  return PUNCT.test(ch);
}

/** The CJK Unified Ideographs blocks (not Hangul, Hiragana or Katakana, which are written with spaces). */
export function isCjk(cp: number): boolean {
  return (cp >= 0x4e00 && cp <= 0x9fff) || (cp >= 0x3400 && cp <= 0x4dbf) || (cp >= 0x20000 && cp <= 0x2a6df) || (cp >= 0x2a700 && cp <= 0x2b73f) ||
    (cp >= 0x2b740 && cp <= 0x2b81f) || (cp >= 0x2b820 && cp <= 0x2ceaf) || (cp >= 0xf900 && cp <= 0xfaff) || (cp >= 0x2f800 && cp <= 0x2fa1f);
}

export interface BasicTokenizeOptions {
  lowerCase: boolean;
  stripAccents: boolean;
  neverSplit?: ReadonlySet<string>;
}

/** Cleaned text with CJK ideographs spaced out: one pass over the code points. */
function clean(text: string): string {
  let out = '';
  for (const ch of text) {
    const cp = ch.codePointAt(0)!;
    if (cp === 0 || cp === 0xfffd || isControl(ch)) continue;
    if (isWhitespace(ch)) out += ' ';
    else if (isCjk(cp)) out += ` ${ch} `;
    else out += ch;
  }
  return out;
}

function stripAccents(word: string): string {
  return word.normalize('NFD').replace(MARK, '');
}

function splitPunctuation(word: string, into: string[]): void {
  let cur = '';
  for (const ch of word) {
    if (isPunctuation(ch)) {
      if (cur) into.push(cur);
      into.push(ch);
      cur = '';
    } else cur += ch;
  }
  if (cur) into.push(cur);
}

/** The words of a text, as BERT's BasicTokenizer makes them. */
export function basicTokenize(text: string, o: BasicTokenizeOptions): string[] {
  const words: string[] = [];
  for (const raw of clean(text).split(' ')) {
    if (!raw) continue;
    if (o.neverSplit?.has(raw)) {
      words.push(raw);
      continue;
    }
    let w = raw;
    if (o.lowerCase) w = w.toLowerCase();
    if (o.stripAccents) w = stripAccents(w);
    splitPunctuation(w, words);
  }
  return words;
}
