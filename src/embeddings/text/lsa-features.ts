/**
 * The hashed features of TextLsa. A text is lower-cased and stripped of accents (NFKD, combining marks
 * dropped); its words are the runs of letters and digits. Features: every word (unigram), every pair of
 * adjacent words (bigram), and every character 3-gram of every word framed as `<word>` (so a typo
 * still shares most 3-grams with the right spelling). Each feature is hashed without building its
 * string: FNV-1a over the code points, started from a per-kind tag (so the word `abc` and the 3-gram
 * `abc` differ), bigram words joined by a space, then a murmur3 finaliser, modulo `buckets`. The hash
 * is part of the model format (FEATURES_ID): changing it changes every stored model's meaning.
 */

export const FEATURES_ID = 'words+bigrams+char3/fnv1a-fmix32@1';

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;
const TAG_WORD = 0x77;
const TAG_BIGRAM = 0x62;
const TAG_CHAR3 = 0x63;
const SPACE = 0x20;
const FRAME_OPEN = 0x3c;
const FRAME_CLOSE = 0x3e;

const WORD = /[\p{L}\p{N}]+/gu;
const MARKS = /\p{M}/gu;

function step(h: number, c: number): number {
  return Math.imul(h ^ c, FNV_PRIME);
}

function finish(h: number, buckets: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return (h >>> 0) % buckets;
}

/** The words of a text as arrays of code points. */
export function textWords(text: string): Int32Array[] {
  const norm = text.normalize('NFKD').replace(MARKS, '').toLowerCase();
  const words: Int32Array[] = [];
  for (const m of norm.matchAll(WORD)) {
    const w = m[0];
    const cps = new Int32Array(w.length);
    let n = 0;
    for (let i = 0; i < w.length; i++) {
      const cp = w.codePointAt(i)!;
      cps[n++] = cp;
      if (cp > 0xffff) i++;
    }
    words.push(n === w.length ? cps : cps.slice(0, n));
  }
  return words;
}

function wordHash(tag: number, w: Int32Array, h = step(FNV_OFFSET, tag)): number {
  for (let i = 0; i < w.length; i++) h = step(h, w[i]!);
  return h;
}

/**
 * Reusable counting space for `featureCounts`: a dense count per bucket and the list of buckets
 * touched, so a text costs its own size, not the bucket count.
 */
export class FeatureScratch {
  readonly counts: Int32Array;
  private touched: Int32Array;
  private nTouched = 0;

  constructor(readonly buckets: number) {
    this.counts = new Int32Array(buckets);
    this.touched = new Int32Array(256);
  }

  add(bucket: number): void {
    if (this.counts[bucket]!++ !== 0) return;
    if (this.nTouched === this.touched.length) {
      const t = new Int32Array(this.touched.length * 2);
      t.set(this.touched);
      this.touched = t;
    }
    this.touched[this.nTouched++] = bucket;
  }

  /** The buckets seen (ascending) and their counts; resets the scratch. */
  drain(): { buckets: Int32Array; counts: Int32Array } {
    const buckets = this.touched.slice(0, this.nTouched).sort();
    const counts = new Int32Array(buckets.length);
    for (let i = 0; i < buckets.length; i++) {
      counts[i] = this.counts[buckets[i]!]!;
      this.counts[buckets[i]!] = 0;
    }
    this.nTouched = 0;
    return { buckets, counts };
  }
}

/** The hashed feature counts of one text, buckets ascending. */
export function featureCounts(text: string, scratch: FeatureScratch): { buckets: Int32Array; counts: Int32Array } {
  const n = scratch.buckets;
  const words = textWords(text);
  for (let k = 0; k < words.length; k++) {
    const w = words[k]!;
    scratch.add(finish(wordHash(TAG_WORD, w), n));
    if (k > 0) scratch.add(finish(wordHash(TAG_BIGRAM, w, step(wordHash(TAG_BIGRAM, words[k - 1]!), SPACE)), n));
    const len = w.length + 2;
    for (let i = 0; i + 3 <= len; i++) {
      let h = step(FNV_OFFSET, TAG_CHAR3);
      for (let j = i; j < i + 3; j++) h = step(h, j === 0 ? FRAME_OPEN : j === len - 1 ? FRAME_CLOSE : w[j - 1]!);
      scratch.add(finish(h, n));
    }
  }
  return scratch.drain();
}
