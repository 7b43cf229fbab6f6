/**
 * BERT's WordPiece tokenizer, from a `vocab.txt` (one token per line, id = line number, as BERT and
 * sentence-transformers models ship it) and the optional `tokenizer_config.json` beside it.
 *
 * Words come from `basicTokenize`; each is then split greedily, longest match first, into vocabulary
 * pieces, every piece after the first looked up with the `##` prefix. A word with no split, or longer
 * than 100 characters, becomes [UNK] as a whole. A text is [CLS] pieces [SEP], truncated to keep
 * `maxLength` tokens in all; a batch is padded with [PAD] to its longest text, with attention_mask 1 on
 * real tokens and token_type_ids all 0 (one segment).
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { KilnError } from '../../core/errors.js';
import { basicTokenize } from './basic-tokenize.js';

export const DEFAULT_MAX_LENGTH = 128;
const MAX_CHARS_PER_WORD = 100;
/** model_max_length above this is a "no limit" placeholder (transformers writes 1e30), not a limit. */
const MAX_SANE_LENGTH = 1 << 20;

export interface SpecialTokens {
  unk: string;
  cls: string;
  sep: string;
  pad: string;
  mask: string;
}

const DEFAULT_SPECIALS: SpecialTokens = { unk: '[UNK]', cls: '[CLS]', sep: '[SEP]', pad: '[PAD]', mask: '[MASK]' };

export interface WordPieceOptions {
  /** Lower-case words (an uncased model); default true, or `do_lower_case` of tokenizer_config.json. */
  lowerCase?: boolean;
  /** Strip accents; default: as lowerCase (BERT's rule), or `strip_accents` of tokenizer_config.json. */
  stripAccents?: boolean;
  /** Tokens per text, [CLS] and [SEP] included; default `model_max_length` of the config, else 128. */
  maxLength?: number;
  specials?: Partial<SpecialTokens>;
}

/** A padded batch, row-major [batch, length]. */
export interface TokenBatch {
  batch: number;
  length: number;
  inputIds: Int32Array;
  attentionMask: Int32Array;
  tokenTypeIds: Int32Array;
}

/** A vocab.txt's text as its token list: one token per line, a final newline does not add an empty token. */
export function parseVocab(text: string): string[] {
  const lines = text.split('\n').map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l));
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  return lines;
}

export class WordPieceTokenizer {
  readonly vocab: ReadonlyMap<string, number>;
  readonly lowerCase: boolean;
  readonly stripAccents: boolean;
  readonly maxLength: number;
  readonly specials: SpecialTokens;
  readonly unkId: number;
  readonly clsId: number;
  readonly sepId: number;
  readonly padId: number;
  private readonly neverSplit: Set<string>;

  /** A tokenizer over `tokens` (index = id); throws INVALID_ARGUMENT naming a missing special token. */
  constructor(tokens: readonly string[], opts: WordPieceOptions = {}) {
    const vocab = new Map<string, number>();
    tokens.forEach((t, i) => vocab.set(t, i));
    this.vocab = vocab;
    this.lowerCase = opts.lowerCase ?? true;
    this.stripAccents = opts.stripAccents ?? this.lowerCase;
    this.maxLength = opts.maxLength ?? DEFAULT_MAX_LENGTH;
    if (!Number.isInteger(this.maxLength) || this.maxLength < 2) {
      throw new KilnError('INVALID_ARGUMENT', `tokenizer maxLength must be an integer >= 2 (room for [CLS] and [SEP]), got ${this.maxLength}`, { path: ['maxLength'] });
    }
    this.specials = { ...DEFAULT_SPECIALS, ...opts.specials };
    const id = (role: keyof SpecialTokens): number => {
      const tok = this.specials[role];
      const i = vocab.get(tok);
      if (i === undefined) throw new KilnError('INVALID_ARGUMENT', `the vocabulary (${tokens.length} tokens) has no ${role} token '${tok}'; a BERT vocab.txt lists [PAD], [UNK], [CLS], [SEP] among its first lines`, { path: ['vocab', role] });
      return i;
    };
    this.unkId = id('unk');
    this.clsId = id('cls');
    this.sepId = id('sep');
    this.padId = id('pad');
    this.neverSplit = new Set(Object.values(this.specials).filter((t) => vocab.has(t)));
  }

  /**
   * Reads `vocab.txt` (a file, or a directory holding it) and `tokenizer_config.json` beside it when
   * present; `opts` override the config. FILE_NOT_FOUND names the path when vocab.txt is missing.
   */
  static fromFiles(path: string, opts: WordPieceOptions = {}): WordPieceTokenizer {
    const isDir = existsSync(path) && statSync(path).isDirectory();
    const vocabPath = isDir ? join(path, 'vocab.txt') : path;
    if (!existsSync(vocabPath)) {
      throw new KilnError('FILE_NOT_FOUND', `no WordPiece vocabulary at ${vocabPath}: expected vocab.txt, one token per line (id = line number), as BERT models ship it`, { path: [vocabPath] });
    }
    const dir = isDir ? path : dirname(vocabPath);
    const config = readTokenizerConfig(join(dir, 'tokenizer_config.json'));
    return new WordPieceTokenizer(parseVocab(readFileSync(vocabPath, 'utf8')), { ...config, ...stripUndefined(opts) });
  }

  /** The word pieces of a text, without [CLS], [SEP] or truncation. */
  tokenize(text: string): string[] {
    const out: string[] = [];
    for (const w of basicTokenize(text, { lowerCase: this.lowerCase, stripAccents: this.stripAccents, neverSplit: this.neverSplit })) this.wordPieces(w, out);
    return out;
  }

  /** Greedy longest-match-first split of one word into pieces (appended to `out`), or [UNK]. */
  private wordPieces(word: string, out: string[]): void {
    if (this.neverSplit.has(word)) {
      out.push(word);
      return;
    }
    const chars = Array.from(word);
    if (chars.length > MAX_CHARS_PER_WORD) {
      out.push(this.specials.unk);
      return;
    }
    const pieces: string[] = [];
    let start = 0;
    while (start < chars.length) {
      let end = chars.length;
      let found: string | null = null;
      while (start < end) {
        const sub = (start > 0 ? '##' : '') + chars.slice(start, end).join('');
        if (this.vocab.has(sub)) {
          found = sub;
          break;
        }
        end--;
      }
      if (found === null) {
        out.push(this.specials.unk);
        return;
      }
      pieces.push(found);
      start = end;
    }
    for (const p of pieces) out.push(p);
  }

  /** Ids of one text: [CLS] pieces [SEP], truncated to `maxLength` (default this.maxLength) tokens. */
  encode(text: string, maxLength = this.maxLength): number[] {
    const ids = [this.clsId];
    const room = maxLength - 2;
    for (const p of this.tokenize(text)) {
      if (ids.length > room) break;
      ids.push(this.vocab.get(p) ?? this.unkId);
    }
    ids.push(this.sepId);
    return ids;
  }

  /** A batch of texts encoded and padded to the longest. */
  encodeBatch(texts: readonly string[], maxLength = this.maxLength): TokenBatch {
    return padBatch(texts.map((t) => this.encode(t, maxLength)), this.padId);
  }
}

/** Rows of ids padded with `padId` to the longest row (or `minLength`); attention_mask 1 on real tokens. */
export function padBatch(rows: readonly (readonly number[])[], padId: number, minLength = 0): TokenBatch {
  const batch = rows.length;
  let length = minLength;
  for (const r of rows) length = Math.max(length, r.length);
  const inputIds = new Int32Array(batch * length).fill(padId);
  const attentionMask = new Int32Array(batch * length);
  for (let b = 0; b < batch; b++) {
    const r = rows[b]!;
    for (let t = 0; t < r.length; t++) {
      inputIds[b * length + t] = r[t]!;
      attentionMask[b * length + t] = 1;
    }
  }
  return { batch, length, inputIds, attentionMask, tokenTypeIds: new Int32Array(batch * length) };
}

function stripUndefined(o: WordPieceOptions): WordPieceOptions {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as WordPieceOptions;
}

/** A special token in tokenizer_config.json: a string, or an AddedToken object with `content`. */
function tokenText(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (v && typeof v === 'object' && typeof (v as { content?: unknown }).content === 'string') return (v as { content: string }).content;
  return undefined;
}

/** The options kiln takes from a tokenizer_config.json (absent file: none). */
export function readTokenizerConfig(path: string): WordPieceOptions {
  if (!existsSync(path)) return {};
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new KilnError('FILE_INVALID', `${path} is not valid JSON (${e instanceof Error ? e.message : String(e)}); fix or remove it`, { path: [path], cause: e });
  }
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw new KilnError('FILE_INVALID', `${path} must hold a JSON object`, { path: [path] });
  const c = raw as Record<string, unknown>;
  const out: WordPieceOptions = {};
  if (typeof c.do_lower_case === 'boolean') out.lowerCase = c.do_lower_case;
  if (typeof c.strip_accents === 'boolean') out.stripAccents = c.strip_accents;
  const max = c.model_max_length;
  if (typeof max === 'number' && Number.isInteger(max) && max >= 2 && max <= MAX_SANE_LENGTH) out.maxLength = max;
  const specials: Partial<SpecialTokens> = {};
  for (const [role, key] of [['unk', 'unk_token'], ['cls', 'cls_token'], ['sep', 'sep_token'], ['pad', 'pad_token'], ['mask', 'mask_token']] as const) {
    const t = tokenText(c[key]);
    if (t !== undefined) specials[role] = t;
  }
  if (Object.keys(specials).length > 0) out.specials = specials;
  return out;
}
