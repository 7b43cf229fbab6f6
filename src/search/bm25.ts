/**
 * `Bm25Index`: lexical search over documents with several text fields (BM25F, postings.ts states the
 * formula), with passages cut at index time for retrieval-augmented generation, and the per-field scores
 * a re-ranker uses as features. Saved to and loaded from one binary file (bm25-file.ts).
 */
import { Analyzer } from './analyzer.js';
import { buildParts, type Bm25Parts } from './bm25-build.js';
import { readBm25, writeBm25 } from './bm25-file.js';
import {
  checkK, filterPredicate, resolveBm25Options,
  type Bm25Options, type ResolvedBm25Options, type SearchDocument, type SearchFilter, type SearchHits, type SearchId,
} from './options.js';
import { Accumulator, accumulateTerm, avgFieldLengths, fieldNorms, findPosting, idf, type Postings } from './postings.js';
import { TopScores } from './topk.js';

/** One passage found by `searchPassages`. */
export interface PassageHit {
  /** The document's id. */
  id: SearchId;
  /** The passage's row in the index (passages of a document are consecutive, in field and text order). */
  passage: number;
  field: string;
  /** UTF-16 offsets of the passage in the field's text: text.slice(start, end). */
  start: number;
  end: number;
  score: number;
  /** The passage's text, when its field is stored. */
  text?: string;
  /** The document's stored fields, for a prompt to cite. */
  stored: Record<string, string>;
}

/** Lexical scores of given documents for one query (features of a re-ranker). */
export interface DocScores {
  /** BM25F score. */
  total: Float64Array;
  /** Plain BM25 of each field alone (its own length normalisation, idf over documents), by field. */
  perField: Float64Array[];
  /** Share of the query's distinct terms found in the document (0 when the query has no known term). */
  coverage: Float64Array;
  /** Terms in the document (all fields, stop words left out). */
  length: Float64Array;
  /** Distinct terms of the analysed query (known to the index or not). */
  queryTerms: number;
}

interface QueryTerms {
  terms: Int32Array;
  counts: Float64Array;
  distinct: number;
}

export class Bm25Index {
  readonly options: ResolvedBm25Options;
  private readonly parts: Bm25Parts;
  private readonly analyzer: Analyzer;
  private readonly vocab: Map<string, number>;
  private readonly rows: Map<SearchId, number>;
  private readonly norm: Float64Array;
  private readonly passageNorm: Float64Array | null;
  private acc: Accumulator | null = null;
  private passageAcc: Accumulator | null = null;

  private constructor(parts: Bm25Parts) {
    this.parts = parts;
    this.options = parts.options;
    this.analyzer = new Analyzer(parts.options.analyzer);
    this.vocab = new Map(parts.terms.map((t, i) => [t, i]));
    this.rows = new Map(parts.ids.map((id, i) => [id, i]));
    const f = parts.options.fields;
    this.norm = fieldNorms(parts.docs, f.map((x) => x.weight), f.map((x) => x.b));
    this.passageNorm = parts.passages === null ? null : fieldNorms(parts.passages.postings, [1], [parts.options.b]);
  }

  /**
   * Indexes rows of (id, text fields).
   * @example
   * const index = Bm25Index.build(rows, { fields: [{ name: 'title', weight: 2 }, 'body'], passages: { length: 100, overlap: 20 } });
   * const { ids, scores } = index.search('boundary layer transition', 10);
   */
  static build(rows: Iterable<SearchDocument>, options: Bm25Options): Bm25Index {
    return new Bm25Index(buildParts(rows, resolveBm25Options(options)));
  }

  /** Reads an index written by `save`. */
  static load(path: string): Bm25Index {
    return new Bm25Index(readBm25(path));
  }

  /** Writes the index to one file, atomically (a temporary file, then a rename). */
  save(path: string): void {
    writeBm25(path, this.parts);
  }

  get size(): number {
    return this.parts.ids.length;
  }

  get fields(): string[] {
    return this.options.fields.map((f) => f.name);
  }

  get vocabularySize(): number {
    return this.parts.terms.length;
  }

  get passageCount(): number {
    return this.parts.passages?.doc.length ?? 0;
  }

  /** The document ids in index order. */
  get ids(): readonly SearchId[] {
    return this.parts.ids;
  }

  /** Row of a document id, or -1. */
  rowOf(id: SearchId): number {
    return this.rows.get(id) ?? -1;
  }

  /** The analysed query: term ids known to the index with their counts. */
  private queryTerms(query: string): QueryTerms {
    const counts = new Map<number, number>();
    const all = this.analyzer.terms(typeof query === 'string' ? query : String(query));
    for (const t of all) {
      const id = this.vocab.get(t);
      if (id !== undefined) counts.set(id, (counts.get(id) ?? 0) + 1);
    }
    return { terms: Int32Array.from(counts.keys()), counts: Float64Array.from(counts.values()), distinct: new Set(all).size };
  }

  private rank(p: Postings, norm: Float64Array, acc: Accumulator, q: QueryTerms, k: number, keep: ((row: number) => boolean) | undefined): { rows: Int32Array; scores: Float64Array } {
    const n = p.nUnits;
    for (let i = 0; i < q.terms.length; i++) {
      const t = q.terms[i]!;
      accumulateTerm(p, norm, this.options.k1, t, idf(p.termPtr[t + 1]! - p.termPtr[t]!, n) * q.counts[i]!, acc);
    }
    const top = new TopScores(Math.min(k, n));
    for (let i = 0; i < acc.size; i++) {
      const u = acc.touched[i]!;
      if (keep === undefined || keep(u)) top.push(acc.score[u]!, u);
    }
    acc.reset();
    return top.sorted();
  }

  /**
   * The k best documents for a query (only documents with at least one query term), best first; ties
   * by index order. `filter` keeps documents by id.
   */
  search(query: string, k: number, filter?: SearchFilter): SearchHits {
    checkK(k);
    const pred = filterPredicate(filter);
    const ids = this.parts.ids;
    this.acc ??= new Accumulator(this.size);
    const r = this.rank(this.parts.docs, this.norm, this.acc, this.queryTerms(query), k, pred && ((u) => pred(ids[u]!)));
    return { ids: Array.from(r.rows, (u) => ids[u]!), scores: r.scores };
  }

  /** The k best passages (plain BM25 over passages), with their document, field, offsets and stored text. */
  searchPassages(query: string, k: number, filter?: SearchFilter): PassageHit[] {
    checkK(k);
    const P = this.parts.passages;
    if (P === null) return [];
    const pred = filterPredicate(filter);
    const ids = this.parts.ids;
    this.passageAcc ??= new Accumulator(P.doc.length);
    const r = this.rank(P.postings, this.passageNorm!, this.passageAcc, this.queryTerms(query), k, pred && ((u) => pred(ids[P.doc[u]!]!)));
    return Array.from(r.rows, (u, i) => {
      const doc = P.doc[u]!;
      const field = this.options.fields[P.field[u]!]!.name;
      const stored: Record<string, string> = {};
      for (const [name, texts] of Object.entries(this.parts.stored)) stored[name] = texts[doc]!;
      const hit: PassageHit = { id: ids[doc]!, passage: u, field, start: P.start[u]!, end: P.end[u]!, score: r.scores[i]!, stored };
      const text = this.parts.stored[field]?.[doc];
      if (text !== undefined) hit.text = text.slice(hit.start, hit.end);
      return hit;
    });
  }

  /** BM25F, per-field BM25, query coverage and length of the given documents (-1 rows: all zero). */
  scoreDocs(query: string, ids: readonly SearchId[]): DocScores {
    const q = this.queryTerms(query);
    const p = this.parts.docs;
    const F = p.nFields;
    const { k1 } = this.options;
    const avg = avgFieldLengths(p);
    const n = ids.length;
    const out: DocScores = {
      total: new Float64Array(n), perField: this.fields.map(() => new Float64Array(n)), coverage: new Float64Array(n), length: new Float64Array(n), queryTerms: q.distinct,
    };
    for (let j = 0; j < n; j++) {
      const u = this.rowOf(ids[j]!);
      if (u < 0) continue;
      for (let f = 0; f < F; f++) out.length[j]! += p.len[u * F + f]!;
      let matched = 0;
      for (let i = 0; i < q.terms.length; i++) {
        const t = q.terms[i]!;
        const at = findPosting(p, t, u);
        if (at < 0) continue;
        matched++;
        const w = idf(p.termPtr[t + 1]! - p.termPtr[t]!, p.nUnits) * q.counts[i]!;
        let x = 0;
        for (let f = 0; f < F; f++) {
          const tf = p.tf[at * F + f]!;
          x += tf * this.norm[u * F + f]!;
          if (tf === 0) continue;
          const b = this.options.fields[f]!.b;
          const rel = p.len[u * F + f]! / avg[f]!;
          out.perField[f]![j]! += (w * tf * (k1 + 1)) / (tf + k1 * (1 - b + b * rel));
        }
        out.total[j]! += (w * (k1 + 1) * x) / (k1 + x);
      }
      out.coverage[j] = q.distinct > 0 ? matched / q.distinct : 0;
    }
    return out;
  }
}
