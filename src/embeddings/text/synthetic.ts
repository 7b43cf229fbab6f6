/**
 * A synthetic topical corpus for the text encoders' tests and benchmark: `topics` topics, each with its
 * own vocabulary of made-up words (syllables drawn per topic), plus filler words every topic shares.
 * A text picks one topic and draws `words` words: filler with probability `filler`, otherwise a topic
 * word by a Zipf-like law (weight 1 / (rank + 1)); a topic word gets a typo (one letter replaced,
 * dropped or doubled) with probability `typos`. So texts of one topic share content words, and a good
 * encoder puts a text's nearest neighbours in its topic. Seeded: same seed, same corpus.
 */
import { Rng } from '../../core/rng.js';

export interface TopicalCorpus {
  texts: string[];
  /** Topic of each text. */
  topic: Int32Array;
  /** The content words of each topic. */
  vocabularies: string[][];
}

export interface TopicalCorpusOptions {
  texts: number;
  /** Words per text. */
  words: number;
  seed: number;
  topics?: number;
  /** Content words per topic (default 60). */
  topicWords?: number;
  /** Share of filler words (default 0.5). */
  filler?: number;
  /** Probability of a typo in a content word (default 0.05). */
  typos?: number;
}

const FILLER = `the a an of and to in on for with at by from this that is was are be has have it its as or but not new best good
great one two all more most very just also about into over after before some any each other than then so such own same`.split(/\s+/).filter(Boolean);
const ONSETS = ['b', 'c', 'd', 'f', 'g', 'h', 'k', 'l', 'm', 'n', 'p', 'r', 's', 't', 'v', 'w', 'z', 'br', 'ch', 'cl', 'dr', 'fl', 'gr', 'pl', 'pr', 'sh', 'st', 'th', 'tr'];
const VOWELS = ['a', 'e', 'i', 'o', 'u', 'ai', 'ea', 'io', 'ou'];
const CODAS = ['', '', 'n', 'r', 's', 'l', 'x', 'nd', 'rk', 'st'];
const LETTERS = 'abcdefghijklmnopqrstuvwxyz';

function madeUpWord(rng: Rng): string {
  const syllables = 2 + rng.int(2);
  let w = '';
  for (let s = 0; s < syllables; s++) w += ONSETS[rng.int(ONSETS.length)]! + VOWELS[rng.int(VOWELS.length)]!;
  return w + CODAS[rng.int(CODAS.length)]!;
}

function typo(w: string, rng: Rng): string {
  const i = rng.int(w.length);
  switch (rng.int(3)) {
    case 0: return w.slice(0, i) + LETTERS[rng.int(26)]! + w.slice(i + 1);
    case 1: return w.length > 3 ? w.slice(0, i) + w.slice(i + 1) : w;
    default: return w.slice(0, i + 1) + w.slice(i);
  }
}

export function topicalCorpus(o: TopicalCorpusOptions): TopicalCorpus {
  const topics = o.topics ?? 5;
  const perTopic = o.topicWords ?? 60;
  const filler = o.filler ?? 0.5;
  const typos = o.typos ?? 0.05;
  const rng = new Rng(o.seed, 0);
  const used = new Set(FILLER);
  const vocabularies: string[][] = [];
  for (let t = 0; t < topics; t++) {
    const v: string[] = [];
    while (v.length < perTopic) {
      const w = madeUpWord(rng);
      if (used.has(w)) continue;
      used.add(w);
      v.push(w);
    }
    vocabularies.push(v);
  }
  const cumulative = new Float64Array(perTopic);
  let total = 0;
  for (let r = 0; r < perTopic; r++) cumulative[r] = total += 1 / (r + 1);
  const zipf = (): number => {
    const u = rng.uniform() * total;
    let lo = 0;
    let hi = perTopic - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cumulative[mid]! > u) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  };
  const texts: string[] = [];
  const topic = new Int32Array(o.texts);
  for (let d = 0; d < o.texts; d++) {
    const t = rng.int(topics);
    topic[d] = t;
    const words: string[] = [];
    for (let k = 0; k < o.words; k++) {
      if (rng.uniform() < filler) words.push(FILLER[rng.int(FILLER.length)]!);
      else {
        const w = vocabularies[t]![zipf()]!;
        words.push(rng.uniform() < typos ? typo(w, rng) : w);
      }
    }
    texts.push(words.join(' '));
  }
  return { texts, topic, vocabularies };
}
