import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isKilnError } from '../../../src/core/errors.js';
import { basicTokenize, parseVocab, WordPieceTokenizer } from '../../../src/embeddings/text/index.js';

// id = position: [PAD] 0, [UNK] 1, [CLS] 2, [SEP] 3, [MASK] 4, un 5, ##want 6, ##ed 7, want 8, wa 9, ...
const VOCAB = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', 'un', '##want', '##ed', 'want', 'wa', ',', 'runn', '##ing', 'the', '##s', 'hello', '!',
  'cafe', 'café', '東', '京', 'tower', '$', '5', 'a', '##a', 'Hello', 'b', 'c'];
const id = (t: string): number => VOCAB.indexOf(t);
const uncased = new WordPieceTokenizer(VOCAB);
const cased = new WordPieceTokenizer(VOCAB, { lowerCase: false });

const dirs: string[] = [];
function dirWith(files: Record<string, string>): string {
  const d = mkdtempSync(join(tmpdir(), 'kiln-tok-'));
  dirs.push(d);
  for (const [name, text] of Object.entries(files)) writeFileSync(join(d, name), text);
  return d;
}
afterAll(() => { for (const d of dirs) rmSync(d, { recursive: true, force: true }); });

describe('basic tokenisation', () => {
  it('lower-cases, strips accents, splits punctuation and spaces CJK ideographs', () => {
    const o = { lowerCase: true, stripAccents: true };
    expect(basicTokenize('UNwant\u00E9d,running', o)).toEqual(['unwanted', ',', 'running']);
    expect(basicTokenize('  Hello!!World  ', o)).toEqual(['hello', '!', '!', 'world']);
    expect(basicTokenize('東京tower', o)).toEqual(['東', '京', 'tower']);
    expect(basicTokenize('$5 a+b', o)).toEqual(['$', '5', 'a', '+', 'b']);
    expect(basicTokenize("l'été — déjà", o)).toEqual(['l', "'", 'ete', '—', 'deja']);
  });

  it('drops control and format characters and NUL; any Unicode space separates words', () => {
    const o = { lowerCase: true, stripAccents: true };
    expect(basicTokenize('a\u0000b\u200Bc\uFFFDd', o)).toEqual(['abcd']);
    expect(basicTokenize('a\u00A0b\tc\r\nd\u3000e', o)).toEqual(['a', 'b', 'c', 'd', 'e']);
  });

  it('keeps case and accents for a cased model, and special tokens whole', () => {
    expect(basicTokenize('Café DÉJÀ', { lowerCase: false, stripAccents: false })).toEqual(['Café', 'DÉJÀ']);
    expect(basicTokenize('say [MASK] now', { lowerCase: true, stripAccents: true, neverSplit: new Set(['[MASK]']) })).toEqual(['say', '[MASK]', 'now']);
    expect(basicTokenize('say [MASK] now', { lowerCase: true, stripAccents: true })).toEqual(['say', '[', 'mask', ']', 'now']);
  });
});

describe('WordPiece', () => {
  it('splits greedily, longest match first, with ## continuations', () => {
    expect(uncased.tokenize('UNwant\u00E9d,running')).toEqual(['un', '##want', '##ed', ',', 'runn', '##ing']);
    expect(uncased.tokenize('wanted wants')).toEqual(['want', '##ed', 'want', '##s']);
    // 'wa' matches first but leaves 'nt', which has no piece; the longest match 'want' is taken instead.
    expect(uncased.tokenize('want')).toEqual(['want']);
  });

  it('makes a whole word [UNK] when any part has no piece', () => {
    expect(uncased.tokenize('unwantedx the')).toEqual(['[UNK]', 'the']);
    expect(uncased.tokenize('xyz')).toEqual(['[UNK]']);
  });

  it('makes a word over 100 characters [UNK]; 100 is still split', () => {
    expect(uncased.tokenize('a'.repeat(100))).toEqual(['a', ...Array<string>(99).fill('##a')]);
    expect(uncased.tokenize(`${'a'.repeat(101)} b`)).toEqual(['[UNK]', 'b']);
  });

  it('cased: no lower-casing, accents kept', () => {
    expect(cased.tokenize('Hello hello HELLO')).toEqual(['Hello', 'hello', '[UNK]']);
    expect(cased.tokenize('café cafe')).toEqual(['café', 'cafe']);
    expect(uncased.tokenize('Café')).toEqual(['cafe']);
  });

  it('wraps in [CLS] ... [SEP] and truncates to maxLength tokens', () => {
    expect(uncased.encode('the runnings')).toEqual([2, id('the'), id('runn'), id('##ing'), id('##s'), 3]);
    expect(uncased.encode('')).toEqual([2, 3]);
    expect(uncased.encode('a b c a b c', 5)).toEqual([2, id('a'), id('b'), id('c'), 3]);
    expect(uncased.encode('a b c', 2)).toEqual([2, 3]);
    const short = new WordPieceTokenizer(VOCAB, { maxLength: 4 });
    expect(short.encode('a b c')).toEqual([2, id('a'), id('b'), 3]);
  });

  it('pads a batch to its longest text, with attention_mask and zero token_type_ids', () => {
    const b = uncased.encodeBatch(['the', 'a b c', '']);
    expect(b.batch).toBe(3);
    expect(b.length).toBe(5);
    expect(Array.from(b.inputIds)).toEqual([2, id('the'), 3, 0, 0, 2, id('a'), id('b'), id('c'), 3, 2, 3, 0, 0, 0]);
    expect(Array.from(b.attentionMask)).toEqual([1, 1, 1, 0, 0, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0]);
    expect(Array.from(b.tokenTypeIds)).toEqual(new Array(15).fill(0));
  });

  it('reads vocab.txt (CRLF too) and tokenizer_config.json beside it; options override the config', () => {
    expect(parseVocab('a\r\nb\r\n\r\nc\n')).toEqual(['a', 'b', '', 'c']);
    const d = dirWith({
      'vocab.txt': `${VOCAB.join('\r\n')}\r\n`,
      'tokenizer_config.json': JSON.stringify({ do_lower_case: false, model_max_length: 4, unk_token: { content: '[UNK]' } }),
    });
    const t = WordPieceTokenizer.fromFiles(d);
    expect(t.lowerCase).toBe(false);
    expect(t.maxLength).toBe(4);
    expect(t.vocab.get('c')).toBe(VOCAB.length - 1);
    expect(t.tokenize('Hello hello')).toEqual(['Hello', 'hello']);
    expect(t.encode('a b c')).toEqual([2, id('a'), id('b'), 3]);
    expect(WordPieceTokenizer.fromFiles(join(d, 'vocab.txt'), { lowerCase: true, maxLength: 6 }).encode('HELLO a b c d')).toEqual([2, id('hello'), id('a'), id('b'), id('c'), 3]);
    // transformers writes 1e30 for "no limit": not a length.
    const huge = dirWith({ 'vocab.txt': VOCAB.join('\n'), 'tokenizer_config.json': '{"model_max_length": 1e30}' });
    expect(WordPieceTokenizer.fromFiles(huge).maxLength).toBe(128);
  });

  it('says what is missing: the vocabulary file, a special token, a sane maxLength, valid config JSON', () => {
    const empty = dirWith({});
    expect(() => WordPieceTokenizer.fromFiles(empty)).toThrow(/no WordPiece vocabulary at .*vocab\.txt/);
    try {
      WordPieceTokenizer.fromFiles(empty);
    } catch (e) {
      expect(isKilnError(e, 'FILE_NOT_FOUND')).toBe(true);
    }
    expect(() => new WordPieceTokenizer(['[PAD]', '[UNK]', '[SEP]'])).toThrow(/no cls token '\[CLS\]'/);
    expect(() => new WordPieceTokenizer(VOCAB, { maxLength: 1 })).toThrow(/maxLength must be an integer >= 2/);
    const broken = dirWith({ 'vocab.txt': VOCAB.join('\n'), 'tokenizer_config.json': '{ nope' });
    expect(() => WordPieceTokenizer.fromFiles(broken)).toThrow(/tokenizer_config\.json is not valid JSON/);
  });
});
