/**
 * The Cranfield collection (cran.all.1400, cran.qry, cranqrel): 1400 aeronautics abstracts, 225 queries,
 * graded judgements. Records start with `.I id`; fields are `.T` title, `.A` authors, `.B` source, `.W`
 * text (a document's `.W` repeats its title before the abstract).
 *
 * cranqrel numbers queries by their position in cran.qry (1..225), not by their `.I` ids (which run
 * 001..365 with gaps). Its codes (cranqrel.readme, after Cleverdon): 1 a complete answer, 2 high
 * relevance, 3 useful background, 4 minimum interest; and -1, which the readme does not define: every
 * query has exactly one, and it is the paper the query was written from (Cranfield II's questions were
 * set by the authors of papers in the collection; query 1's -1 document, 486, is "similarity laws for
 * aerothermoelastic testing"). Gains: 1 -> 4, 2 -> 3, 3 -> 2, 4 -> 1, -1 -> 4 (the source paper answers
 * its own question); anything else -> 0. With these gains plain BM25 reaches the nDCG@10 the issue
 * quotes (0.527); treating -1 as not relevant gives 0.373.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { KilnError } from '../core/errors.js';
import type { Judgements } from './metrics.js';
import type { SearchDocument } from './options.js';

export const CRANFIELD_FILES = ['cran.all.1400', 'cran.qry', 'cranqrel'] as const;

/** cranqrel code -> graded gain. */
export const CRANFIELD_GAINS: Readonly<Record<number, number>> = { 1: 4, 2: 3, 3: 2, 4: 1, [-1]: 4 };

export interface CranfieldQuery {
  /** Position in cran.qry, 1..225: the number cranqrel uses. */
  id: number;
  /** The `.I` id in cran.qry. */
  sourceId: string;
  text: string;
}

export interface Cranfield {
  /** Fields: title, abstract (the `.W` text), authors, source. Ids are the `.I` numbers. */
  docs: SearchDocument[];
  queries: CranfieldQuery[];
  /** Judgements of each query, in the order of `queries`. */
  judgements: Judgements[];
}

type Rec = Record<string, string>;

/** `.I`-separated records of a Cranfield file: field letter -> text. */
export function parseCranfieldRecords(text: string): Rec[] {
  const recs: Rec[] = [];
  let cur: Rec | null = null;
  let field: string | null = null;
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  for (const line of lines) {
    if (line.startsWith('.I')) {
      cur = { I: line.slice(2).trim() };
      recs.push(cur);
      field = null;
    } else if (/^\.[TAWB]\s*$/.test(line)) {
      field = line[1]!;
      if (cur !== null) cur[field] = '';
    } else if (cur !== null && field !== null) {
      cur[field] += `${line}\n`;
    }
  }
  return recs;
}

/** True when the folder holds the three Cranfield files. */
export function hasCranfield(dir: string): boolean {
  return CRANFIELD_FILES.every((f) => existsSync(join(dir, f)));
}

/**
 * Reads the collection from a folder.
 * @example const { docs, queries, judgements } = loadCranfield('../shared/data/cranfield');
 */
export function loadCranfield(dir: string, gains: Readonly<Record<number, number>> = CRANFIELD_GAINS): Cranfield {
  for (const f of CRANFIELD_FILES) {
    if (!existsSync(join(dir, f))) throw new KilnError('FILE_NOT_FOUND', `Cranfield: ${join(dir, f)} is missing; the folder needs ${CRANFIELD_FILES.join(', ')}`, { path: [f] });
  }
  const read = (f: string): string => readFileSync(join(dir, f), 'utf8');
  const docs = parseCranfieldRecords(read('cran.all.1400')).map((r): SearchDocument => {
    const id = Number(r.I);
    if (!Number.isInteger(id)) throw new KilnError('FILE_INVALID', `Cranfield: cran.all.1400 has a record '.I ${r.I}' without a number id`, { path: ['cran.all.1400'] });
    return { id, fields: { title: (r.T ?? '').trim(), abstract: (r.W ?? '').trim(), authors: (r.A ?? '').trim(), source: (r.B ?? '').trim() } };
  });
  const queries = parseCranfieldRecords(read('cran.qry')).map((r, i): CranfieldQuery => ({ id: i + 1, sourceId: r.I!, text: (r.W ?? '').trim() }));
  const judged = queries.map(() => new Map<number, number>());
  read('cranqrel').split('\n').forEach((line, i) => {
    const p = line.trim().split(/\s+/);
    if (p.length < 3) return;
    const [q, d, code] = p.map(Number) as [number, number, number];
    if (!Number.isInteger(q) || q < 1 || q > queries.length || !Number.isInteger(d)) {
      throw new KilnError('FILE_INVALID', `Cranfield: cranqrel line ${i + 1} '${line.trim()}' names query ${p[0]} of 1..${queries.length} or a bad document`, { path: ['cranqrel', i + 1] });
    }
    judged[q - 1]!.set(d, gains[code] ?? 0);
  });
  return { docs, queries, judgements: judged };
}
