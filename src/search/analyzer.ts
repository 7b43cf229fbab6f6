/**
 * Text analysis of the search stage: text -> index terms.
 *
 * Tokens are the runs of Unicode letters, digits and combining marks in the text, lower-cased; any other
 * character (space, punctuation, hyphen, apostrophe, symbol) splits them, so `boundary-layer` gives
 * `boundary` and `layer`. Offsets are UTF-16 positions in the original text (what `String.slice` takes).
 * The analyzer then drops stop words (a named list or the caller's own) and stems what is left (Porter
 * 1980, or not at all). An analyzer is plain data (`AnalyzerSpec`), stored with every index, so a query
 * is analysed the way its index was built.
 */
import { KilnError } from '../core/errors.js';
import { porterStem } from './porter.js';
import { STOP_WORD_LISTS, type StopWordListName } from './stopwords.js';

const TOKEN = /[\p{L}\p{N}\p{M}]+/gu;

export interface Tokens {
  /** Lower-cased tokens, in text order. */
  tokens: string[];
  /** UTF-16 offset of each token's first character in the text. */
  starts: Int32Array;
  /** UTF-16 offset just past each token's last character. */
  ends: Int32Array;
}

/**
 * Lower-cased letter-and-digit tokens of a text, with their offsets.
 * @example tokenize('Boundary-layer flow.').tokens // ['boundary', 'layer', 'flow']
 */
export function tokenize(text: string): Tokens {
  const tokens: string[] = [];
  const starts: number[] = [];
  const ends: number[] = [];
  for (const m of text.matchAll(TOKEN)) {
    tokens.push(m[0].toLowerCase());
    starts.push(m.index);
    ends.push(m.index + m[0].length);
  }
  return { tokens, starts: Int32Array.from(starts), ends: Int32Array.from(ends) };
}

export const STEMMERS = {
  porter: porterStem,
  none: (w: string): string => w,
} as const satisfies Record<string, (w: string) => string>;

export type StemmerName = keyof typeof STEMMERS;

/** How text becomes terms; JSON-serialisable, stored with an index. */
export interface AnalyzerSpec {
  /** A named list (default 'english', the Snowball list) or the words themselves (lower-case). */
  stopWords?: StopWordListName | readonly string[];
  /** Default 'porter'. */
  stemmer?: StemmerName;
}

/** The spec with defaults filled in. */
export interface ResolvedAnalyzerSpec {
  stopWords: StopWordListName | string[];
  stemmer: StemmerName;
}

function oneOf<T extends string>(what: string, value: unknown, names: readonly T[], path: string[]): T {
  if (typeof value === 'string' && (names as readonly string[]).includes(value)) return value as T;
  throw new KilnError('SEARCH_PARAM_INVALID', `analyzer ${what} '${String(value)}' is unknown; use one of: ${names.join(', ')}`, { path });
}

export function resolveAnalyzerSpec(spec: AnalyzerSpec = {}): ResolvedAnalyzerSpec {
  if (spec === null || typeof spec !== 'object') throw new KilnError('SEARCH_PARAM_INVALID', 'analyzer must be an object { stopWords?, stemmer? }', { path: ['analyzer'] });
  const stemmer = oneOf('stemmer', spec.stemmer ?? 'porter', Object.keys(STEMMERS) as StemmerName[], ['analyzer', 'stemmer']);
  const sw = spec.stopWords ?? 'english';
  if (Array.isArray(sw)) {
    sw.forEach((w, i) => {
      if (typeof w !== 'string' || w.length === 0) throw new KilnError('SEARCH_PARAM_INVALID', `analyzer stopWords[${i}] must be a non-empty string`, { path: ['analyzer', 'stopWords', i] });
    });
    return { stopWords: (sw as string[]).map((w) => w.toLowerCase()), stemmer };
  }
  return { stopWords: oneOf('stopWords', sw, Object.keys(STOP_WORD_LISTS) as StopWordListName[], ['analyzer', 'stopWords']), stemmer };
}

/** Terms of each token of a text: null where the token is a stop word. */
export interface AnalyzedTokens extends Tokens {
  terms: (string | null)[];
}

/**
 * Turns text into index terms; keeps a cache of stems (a stem costs tens of string operations).
 * @example new Analyzer().terms('Similarity laws of heated models') // ['similar', 'law', 'heat', 'model']
 */
export class Analyzer {
  readonly spec: ResolvedAnalyzerSpec;
  private readonly stop: ReadonlySet<string>;
  private readonly stem: (w: string) => string;
  private readonly cache = new Map<string, string>();

  constructor(spec: AnalyzerSpec = {}) {
    this.spec = resolveAnalyzerSpec(spec);
    this.stop = typeof this.spec.stopWords === 'string' ? STOP_WORD_LISTS[this.spec.stopWords] : new Set(this.spec.stopWords);
    this.stem = STEMMERS[this.spec.stemmer];
  }

  /** The term of one lower-case token, or null for a stop word. */
  term(token: string): string | null {
    if (this.stop.has(token)) return null;
    let s = this.cache.get(token);
    if (s === undefined) {
      s = this.stem(token);
      if (this.cache.size < 1_000_000) this.cache.set(token, s);
    }
    return s;
  }

  /** The terms of a text, in order, stop words left out. */
  terms(text: string): string[] {
    const out: string[] = [];
    for (const m of text.matchAll(TOKEN)) {
      const t = this.term(m[0].toLowerCase());
      if (t !== null) out.push(t);
    }
    return out;
  }

  /** Tokens with offsets and the term of each (null for a stop word). */
  analyze(text: string): AnalyzedTokens {
    const t = tokenize(text);
    return { ...t, terms: t.tokens.map((tok) => this.term(tok)) };
  }
}
