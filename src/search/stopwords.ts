/**
 * English stop-word lists, by name. `english` is the Snowball English list (Porter's, 2001: pronouns,
 * auxiliaries, articles, conjunctions, prepositions, their contractions), the default; `lucene` is the
 * 33 words of Lucene's EnglishAnalyzer; `none` keeps every word. Contractions stay in the list as
 * written: the tokeniser splits on the apostrophe, so they only match where a caller's own tokens keep it.
 */
const SNOWBALL_ENGLISH = `
i me my myself we our ours ourselves you your yours yourself yourselves he him his himself she her
hers herself it its itself they them their theirs themselves what which who whom this that these
those am is are was were be been being have has had having do does did doing would should could
ought i'm you're he's she's it's we're they're i've you've we've they've i'd you'd he'd she'd we'd
they'd i'll you'll he'll she'll we'll they'll isn't aren't wasn't weren't hasn't haven't hadn't
doesn't don't didn't won't wouldn't shan't shouldn't can't cannot couldn't mustn't let's that's
who's what's here's there's when's where's why's how's a an the and but if or because as until
while of at by for with about against between into through during before after above below to from
up down in out on off over under again further then once here there when where why how all any both
each few more most other some such no nor not only own same so than too very`;

const LUCENE_ENGLISH = `
a an and are as at be but by for if in into is it no not of on or such that the their then there
these they this to was will with`;

const words = (s: string): ReadonlySet<string> => new Set(s.split(/\s+/).filter((w) => w.length > 0));

export const STOP_WORD_LISTS = {
  english: words(SNOWBALL_ENGLISH),
  lucene: words(LUCENE_ENGLISH),
  none: new Set<string>() as ReadonlySet<string>,
} as const satisfies Record<string, ReadonlySet<string>>;

export type StopWordListName = keyof typeof STOP_WORD_LISTS;

/** The Snowball English stop words (the default list). */
export const ENGLISH_STOP_WORDS: ReadonlySet<string> = STOP_WORD_LISTS.english;
