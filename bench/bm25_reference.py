"""Reference Okapi BM25 on the Cranfield collection, for bench/search.ts to stand beside.

Plain Python 3, standard library only (nltk's stemmer is used when installed, else the Porter stemmer
below, written from Porter's 1980 paper). Prints one JSON line with nDCG@10, MAP and recall@100.

Protocol (the same as kiln's, so the figures can be compared):
  documents  .T title + .W abstract of cran.all.1400, concatenated (Cranfield's .W repeats the title)
  queries    the .W text of cran.qry; query number = position in the file (1..225), as cranqrel counts
  tokens     lower-cased runs of Unicode letters and digits (hyphenated words split), English stop
             words removed (the Snowball list below), Porter-stemmed
  BM25       k1 = 1.2, b = 0.75, idf = ln(1 + (N - df + 0.5) / (df + 0.5)) (never negative), query
             terms counted with their multiplicity, every document with a positive score ranked,
             ties by document number
  gains      cranqrel code 1 -> 4, 2 -> 3, 3 -> 2, 4 -> 1, -1 -> 4 (the query's source paper; see
             src/search/cranfield.ts), anything else 0
  nDCG@10    linear gains, discount 1 / log2(rank + 1), ideal DCG over all judged documents
  MAP        relevant = gain > 0, AP divided by the number of relevant documents
  a query with no relevant document is left out of every mean

  /usr/bin/python3 bench/bm25_reference.py [cranfield folder]
      [--stop snowball|lucene] [--idf plus1|robertson] [--fields tw|w] [--gain linear|exp] [--qtf count|unique]
  (the defaults are the protocol above; the flags are there to see how much each choice moves the figures)
"""
import json
import math
import os
import re
import sys
import time

K1, B = 1.2, 0.75
# cranqrel code -> gain; -1 marks the paper each query was written from (one per query), a complete answer
GAINS = {1: 4, 2: 3, 3: 2, 4: 1, -1: 4}

# The Snowball English stop list (Porter's list of 2001 for the Snowball English stemmer), as a set.
SNOWBALL_STOP = set("""
i me my myself we our ours ourselves you your yours yourself yourselves he him his himself she her
hers herself it its itself they them their theirs themselves what which who whom this that these
those am is are was were be been being have has had having do does did doing would should could
ought i'm you're he's she's it's we're they're i've you've we've they've i'd you'd he'd she'd we'd
they'd i'll you'll he'll she'll we'll they'll isn't aren't wasn't weren't hasn't haven't hadn't
doesn't don't didn't won't wouldn't shan't shouldn't can't cannot couldn't mustn't let's that's
who's what's here's there's when's where's why's how's a an the and but if or because as until
while of at by for with about against between into through during before after above below to from
up down in out on off over under again further then once here there when where why how all any both
each few more most other some such no nor not only own same so than too very
""".split())

# Lucene's EnglishAnalyzer default stop set (33 words).
LUCENE_STOP = set("""
a an and are as at be but by for if in into is it no not of on or such that the their then there
these they this to was will with
""".split())


class Porter:
    """M. F. Porter, An algorithm for suffix stripping, Program 14(3), 1980: steps 1a to 5b."""

    def cons(self, w, i):
        c = w[i]
        if c in 'aeiou':
            return False
        if c == 'y':
            return i == 0 or not self.cons(w, i - 1)
        return True

    def m(self, s):
        """The measure of a stem: the number of VC sequences in [C](VC)^m[V]."""
        n, i, L = 0, 0, len(s)
        while i < L and self.cons(s, i):
            i += 1
        while i < L:
            while i < L and not self.cons(s, i):
                i += 1
            if i >= L:
                break
            while i < L and self.cons(s, i):
                i += 1
            n += 1
        return n

    def vowel(self, s):
        return any(not self.cons(s, i) for i in range(len(s)))

    def double_c(self, s):
        return len(s) >= 2 and s[-1] == s[-2] and self.cons(s, len(s) - 1)

    def cvc(self, s):
        L = len(s)
        return L >= 3 and self.cons(s, L - 3) and not self.cons(s, L - 2) and self.cons(s, L - 1) and s[-1] not in 'wxy'

    def rules(self, w, table, cond):
        """The rule with the longest matching suffix fires if its stem meets cond; no other is tried."""
        for suf, rep in table:
            if w.endswith(suf):
                stem = w[:len(w) - len(suf)]
                return stem + rep if cond(stem, suf) else w
        return w

    STEP2 = sorted([('ational', 'ate'), ('tional', 'tion'), ('enci', 'ence'), ('anci', 'ance'), ('izer', 'ize'),
                    ('abli', 'able'), ('alli', 'al'), ('entli', 'ent'), ('eli', 'e'), ('ousli', 'ous'),
                    ('ization', 'ize'), ('ation', 'ate'), ('ator', 'ate'), ('alism', 'al'), ('iveness', 'ive'),
                    ('fulness', 'ful'), ('ousness', 'ous'), ('aliti', 'al'), ('iviti', 'ive'), ('biliti', 'ble')],
                   key=lambda r: -len(r[0]))
    STEP3 = sorted([('icate', 'ic'), ('ative', ''), ('alize', 'al'), ('iciti', 'ic'), ('ical', 'ic'),
                    ('ful', ''), ('ness', '')], key=lambda r: -len(r[0]))
    STEP4 = sorted([(s, '') for s in ['al', 'ance', 'ence', 'er', 'ic', 'able', 'ible', 'ant', 'ement', 'ment',
                                      'ent', 'ion', 'ou', 'ism', 'ate', 'iti', 'ous', 'ive', 'ize']],
                   key=lambda r: -len(r[0]))

    def stem(self, w):
        # step 1a
        if w.endswith('sses'):
            w = w[:-2]
        elif w.endswith('ies'):
            w = w[:-2]
        elif w.endswith('ss'):
            pass
        elif w.endswith('s'):
            w = w[:-1]
        # step 1b
        cut = False
        if w.endswith('eed'):
            if self.m(w[:-3]) > 0:
                w = w[:-1]
        elif w.endswith('ed') and self.vowel(w[:-2]):
            w, cut = w[:-2], True
        elif w.endswith('ing') and self.vowel(w[:-3]):
            w, cut = w[:-3], True
        if cut:
            if w.endswith(('at', 'bl', 'iz')):
                w += 'e'
            elif self.double_c(w) and w[-1] not in 'lsz':
                w = w[:-1]
            elif self.m(w) == 1 and self.cvc(w):
                w += 'e'
        # step 1c
        if w.endswith('y') and self.vowel(w[:-1]):
            w = w[:-1] + 'i'
        w = self.rules(w, self.STEP2, lambda s, _: self.m(s) > 0)
        w = self.rules(w, self.STEP3, lambda s, _: self.m(s) > 0)
        w = self.rules(w, self.STEP4, lambda s, suf: self.m(s) > 1 and (suf != 'ion' or s.endswith(('s', 't'))))
        # step 5a
        if w.endswith('e'):
            s = w[:-1]
            if self.m(s) > 1 or (self.m(s) == 1 and not self.cvc(s)):
                w = s
        # step 5b
        if self.m(w) > 1 and self.double_c(w) and w.endswith('l'):
            w = w[:-1]
        return w


def make_stemmer():
    try:
        from nltk.stem.porter import PorterStemmer
        s = PorterStemmer(mode=PorterStemmer.ORIGINAL_ALGORITHM)
        return s.stem, 'nltk PorterStemmer (ORIGINAL_ALGORITHM)'
    except ImportError:
        return Porter().stem, 'Porter 1980 (this script)'


WORD = re.compile(r'[^\W_]+')


def read_records(path):
    """.I-separated records as {field letter: text}, in file order."""
    recs, cur, field = [], None, None
    with open(path, encoding='utf-8', errors='replace') as f:
        for line in f:
            if line.startswith('.I'):
                cur = {'I': line[2:].strip()}
                recs.append(cur)
                field = None
            elif len(line) >= 2 and line[0] == '.' and line[1] in 'TAWB' and line[2:].strip() == '':
                field = line[1]
                cur[field] = ''
            elif cur is not None and field is not None:
                cur[field] += line
    return recs


def main():
    args = [a for a in sys.argv[1:]]
    opt = {'--stop': 'snowball', '--idf': 'plus1', '--fields': 'tw', '--gain': 'linear', '--qtf': 'count'}
    pos = []
    i = 0
    while i < len(args):
        if args[i] in opt:
            opt[args[i]] = args[i + 1]
            i += 2
        else:
            pos.append(args[i])
            i += 1
    folder = pos[0] if pos else os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'shared', 'data', 'cranfield')
    stop = SNOWBALL_STOP if opt['--stop'] == 'snowball' else LUCENE_STOP
    stem, stemmer_name = make_stemmer()
    cache = {}

    def analyse(text):
        out = []
        for t in WORD.findall(text.lower()):
            if t in stop:
                continue
            s = cache.get(t)
            if s is None:
                s = cache[t] = stem(t)
            out.append(s)
        return out

    t0 = time.perf_counter()
    docs = read_records(os.path.join(folder, 'cran.all.1400'))
    queries = read_records(os.path.join(folder, 'cran.qry'))
    doc_ids = [int(d['I']) for d in docs]
    texts = [' '.join(d.get(f.upper(), '') for f in opt['--fields']) for d in docs]
    tokens = [analyse(t) for t in texts]
    N = len(tokens)
    lengths = [len(t) for t in tokens]
    avgdl = sum(lengths) / N
    postings = {}
    for d, toks in enumerate(tokens):
        tf = {}
        for t in toks:
            tf[t] = tf.get(t, 0) + 1
        for t, c in tf.items():
            postings.setdefault(t, []).append((d, c))

    def idf(df):
        if opt['--idf'] == 'robertson':
            return math.log((N - df + 0.5) / (df + 0.5))
        return math.log(1 + (N - df + 0.5) / (df + 0.5))

    qrels = {}
    with open(os.path.join(folder, 'cranqrel')) as f:
        for line in f:
            p = line.split()
            if len(p) < 3:
                continue
            q, d, code = int(p[0]), int(p[1]), int(p[2])
            gain = GAINS.get(code, 0)
            qrels.setdefault(q, {})[d] = gain
    build_s = time.perf_counter() - t0

    ndcgs, aps, recalls = [], [], []
    for qi, q in enumerate(queries, start=1):
        judged = qrels.get(qi, {})
        nrel = sum(1 for g in judged.values() if g > 0)
        if nrel == 0:
            continue
        qt = analyse(q.get('W', ''))
        if opt['--qtf'] == 'unique':
            qt = list(dict.fromkeys(qt))
        scores = {}
        for t in qt:
            plist = postings.get(t)
            if not plist:
                continue
            w = idf(len(plist))
            for d, c in plist:
                norm = c * (K1 + 1) / (c + K1 * (1 - B + B * lengths[d] / avgdl))
                scores[d] = scores.get(d, 0.0) + w * norm
        ranked = sorted((d for d, s in scores.items() if s > 0), key=lambda d: (-scores[d], doc_ids[d]))
        gains = [judged.get(doc_ids[d], 0) for d in ranked]

        def g(x):
            return (2 ** x - 1) if opt['--gain'] == 'exp' else x

        dcg = sum(g(x) / math.log2(r + 2) for r, x in enumerate(gains[:10]))
        ideal = sorted(judged.values(), reverse=True)[:10]
        idcg = sum(g(x) / math.log2(r + 2) for r, x in enumerate(ideal))
        ndcgs.append(dcg / idcg)
        hits, ap = 0, 0.0
        for r, x in enumerate(gains):
            if x > 0:
                hits += 1
                ap += hits / (r + 1)
        aps.append(ap / nrel)
        recalls.append(sum(1 for x in gains[:100] if x > 0) / nrel)

    mean = lambda xs: sum(xs) / len(xs)
    print(json.dumps({
        'method': 'okapi-bm25-reference', 'k1': K1, 'b': B, 'stemmer': stemmer_name,
        'stopwords': opt['--stop'], 'idf': opt['--idf'], 'fields': opt['--fields'], 'gain': opt['--gain'], 'qtf': opt['--qtf'],
        'queries': len(ndcgs), 'ndcg10': round(mean(ndcgs), 4), 'map': round(mean(aps), 4), 'recall100': round(mean(recalls), 4),
        'build_s': round(build_s, 3),
    }))


if __name__ == '__main__':
    main()
