/**
 * Building a BM25 index: rows are analysed field by field, their term ids go to the document postings,
 * and, with passages on, each passage field is cut into windows of `length` tokens that start every
 * `length - overlap` tokens (the last window ends at the field's end; a field with no token has no
 * passage). A passage keeps its document, field and the UTF-16 offsets of its first and last token, and
 * its terms go to a second set of postings over the same vocabulary.
 */
import { KilnError } from '../core/errors.js';
import { Analyzer } from './analyzer.js';
import type { ResolvedBm25Options, SearchDocument, SearchId } from './options.js';
import { PostingsBuilder, type Postings } from './postings.js';

export interface PassageTable {
  postings: Postings;
  /** Document row of each passage. */
  doc: Int32Array;
  /** Field (index into the index's fields) of each passage. */
  field: Uint8Array;
  /** UTF-16 offsets in the field's text: [start, end). */
  start: Int32Array;
  end: Int32Array;
}

/** Everything an index is made of; what save writes and load reads. */
export interface Bm25Parts {
  options: ResolvedBm25Options;
  ids: SearchId[];
  terms: string[];
  docs: Postings;
  passages: PassageTable | null;
  /** Kept text of the stored fields, one entry per document ('' where the field was empty). */
  stored: Record<string, string[]>;
}

function badRow(message: string, path: (string | number)[]): KilnError {
  return new KilnError('SEARCH_DATA_INVALID', message, { path });
}

function checkId(id: unknown, i: number): SearchId {
  if (typeof id === 'string' ? id.length === 0 : !(typeof id === 'number' && Number.isFinite(id))) {
    throw badRow(`rows[${i}].id must be a non-empty string or a finite number, got ${JSON.stringify(id) ?? String(id)}`, ['rows', i, 'id']);
  }
  return id as SearchId;
}

class Growable {
  a = new Int32Array(256);
  n = 0;
  push(v: number): void {
    if (this.n === this.a.length) {
      const b = new Int32Array(this.a.length * 2);
      b.set(this.a);
      this.a = b;
    }
    this.a[this.n++] = v;
  }
  done(): Int32Array {
    return this.a.slice(0, this.n);
  }
}

export function buildParts(rows: Iterable<SearchDocument>, options: ResolvedBm25Options): Bm25Parts {
  const analyzer = new Analyzer(options.analyzer);
  const F = options.fields.length;
  const names = options.fields.map((f) => f.name);
  const vocab = new Map<string, number>();
  const terms: string[] = [];
  const termId = (t: string): number => {
    let id = vocab.get(t);
    if (id === undefined) {
      id = terms.length;
      vocab.set(t, id);
      terms.push(t);
    }
    return id;
  };
  const passageField = names.map((n) => options.passages?.fields.includes(n) ?? false);
  const docs = new PostingsBuilder(F);
  const pp = options.passages === null ? null : new PostingsBuilder(1);
  const pDoc = new Growable();
  const pField = new Growable();
  const pStart = new Growable();
  const pEnd = new Growable();
  const ids: SearchId[] = [];
  const seen = new Map<SearchId, number>();
  const stored: Record<string, string[]> = Object.fromEntries(options.store.map((s) => [s, []]));
  if (rows === null || typeof rows !== 'object' || typeof (rows as Iterable<SearchDocument>)[Symbol.iterator] !== 'function') {
    throw badRow('rows must be an array (or iterable) of { id, fields }', ['rows']);
  }
  let i = 0;
  for (const row of rows) {
    if (row === null || typeof row !== 'object' || row.fields === null || typeof row.fields !== 'object') {
      throw badRow(`rows[${i}] must be { id, fields: { ${names.join(', ')} } }`, ['rows', i]);
    }
    const id = checkId(row.id, i);
    const before = seen.get(id);
    if (before !== undefined) throw badRow(`rows[${i}].id ${JSON.stringify(id)} repeats rows[${before}].id; ids must be unique`, ['rows', i, 'id']);
    seen.set(id, i);
    ids.push(id);
    const perField: Int32Array[] = [];
    for (let f = 0; f < F; f++) {
      const text = row.fields[names[f]!] ?? '';
      if (typeof text !== 'string') throw badRow(`rows[${i}].fields.${names[f]} must be a string (or null), got ${typeof text}`, ['rows', i, 'fields', names[f]!]);
      if (names[f]! in stored) stored[names[f]!]!.push(text);
      if (!passageField[f]) {
        perField.push(Int32Array.from(analyzer.terms(text), termId));
        continue;
      }
      const a = analyzer.analyze(text);
      const tokIds = a.terms.map((t) => (t === null ? -1 : termId(t)));
      perField.push(Int32Array.from(tokIds.filter((t) => t >= 0)));
      const { length, overlap } = options.passages!;
      const n = tokIds.length;
      for (let s = 0; s < n; s += length - overlap) {
        const e = Math.min(s + length, n);
        pp!.add([tokIds.slice(s, e).filter((t) => t >= 0)]);
        pDoc.push(i);
        pField.push(f);
        pStart.push(a.starts[s]!);
        pEnd.push(a.ends[e - 1]!);
        if (e === n) break;
      }
    }
    docs.add(perField);
    i++;
  }
  if (ids.length === 0) throw badRow('rows is empty; an index needs at least one document', ['rows']);
  const passages = pp === null ? null : {
    postings: pp.finish(terms.length),
    doc: pDoc.done(),
    field: Uint8Array.from(pField.done()),
    start: pStart.done(),
    end: pEnd.done(),
  };
  return { options, ids, terms, docs: docs.finish(terms.length), passages, stored };
}
