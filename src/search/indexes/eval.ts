import { readFileSync } from 'node:fs';
import { KilnError } from '../../core/errors.js';
import { evaluateRuns, type Judgements } from '../metrics.js';
import { loadCranfield } from '../cranfield.js';
import type { SearchIndexHandle, SearchMode } from './open.js';

export interface JudgedQueries {
  queries: { id: string; text: string }[];
  /** Per query (same order), document id -> graded gain (> 0 relevant). */
  judgements: Map<string, number>[];
}

export interface SearchEvalRow {
  mode: SearchMode;
  ndcg10: number;
  map: number;
  recall100: number;
  queries: number;
  p50Ms: number;
  p99Ms: number;
}

/** Queries (`id<TAB>text` per line) and judgements (TREC qrels: `qid 0 docid grade`, or `qid docid grade`). */
export function readJudgedQueries(queriesFile: string, qrelsFile: string): JudgedQueries {
  const read = (f: string): string[] => {
    try { return readFileSync(f, 'utf8').split(/\r?\n/); } catch (e) { throw new KilnError('FILE_NOT_FOUND', `cannot read ${f}: ${(e as Error).message}`, { path: [f] }); }
  };
  const queries = read(queriesFile).map((l, i) => ({ l, i })).filter(({ l }) => l.trim()).map(({ l, i }) => {
    const tab = l.indexOf('\t');
    if (tab <= 0) throw new KilnError('FILE_INVALID', `${queriesFile} line ${i + 1}: expected 'query id<TAB>query text'`, { path: [queriesFile, i + 1] });
    return { id: l.slice(0, tab).trim(), text: l.slice(tab + 1).trim() };
  });
  const byQuery = new Map(queries.map((q) => [q.id, new Map<string, number>()]));
  read(qrelsFile).forEach((l, i) => {
    if (!l.trim()) return;
    const p = l.trim().split(/\s+/);
    if (p.length !== 3 && p.length !== 4) throw new KilnError('FILE_INVALID', `${qrelsFile} line ${i + 1}: expected 'query doc grade' or 'query 0 doc grade' (TREC qrels), got ${p.length} fields`, { path: [qrelsFile, i + 1] });
    const [qid, doc, grade] = p.length === 4 ? [p[0]!, p[2]!, p[3]!] : [p[0]!, p[1]!, p[2]!];
    const g = Number(grade);
    if (!Number.isFinite(g)) throw new KilnError('FILE_INVALID', `${qrelsFile} line ${i + 1}: grade '${grade}' is not a number`, { path: [qrelsFile, i + 1] });
    const m = byQuery.get(qid);
    if (!m) throw new KilnError('FILE_INVALID', `${qrelsFile} line ${i + 1}: query '${qid}' is not in ${queriesFile}`, { path: [qrelsFile, i + 1] });
    m.set(doc, g);
  });
  return { queries, judgements: queries.map((q) => byQuery.get(q.id)!) };
}

/** The Cranfield collection's queries and graded judgements (docs/search.md), ids as strings. */
export function cranfieldQueries(dir: string): JudgedQueries {
  const c = loadCranfield(dir);
  return {
    queries: c.queries.map((q) => ({ id: String(q.id), text: q.text })),
    judgements: c.judgements.map((j) => new Map([...j].map(([d, g]) => [String(d), g]))),
  };
}

/** nDCG@10, MAP and recall@100 of each mode the index has, with query latency (p50 / p99, ms). */
export async function evaluateSearchIndex(handle: SearchIndexHandle, judged: JudgedQueries): Promise<SearchEvalRow[]> {
  const modes: SearchMode[] = handle.hasVector ? ['lexical', 'vector', 'hybrid'] : ['lexical'];
  const rows: SearchEvalRow[] = [];
  for (const mode of modes) {
    const runs: string[][] = [];
    const ms: number[] = [];
    for (const q of judged.queries) {
      const t = performance.now();
      const r = await handle.search({ query: q.text, k: 100, mode });
      ms.push(performance.now() - t);
      runs.push(r.hits.map((h) => h.id));
    }
    const m = evaluateRuns(runs, judged.judgements as Judgements[]);
    ms.sort((a, b) => a - b);
    const at = (p: number): number => ms[Math.min(ms.length - 1, Math.floor(p * ms.length))] ?? NaN;
    rows.push({ mode, ndcg10: m.ndcg, map: m.map, recall100: m.recall, queries: m.queries, p50Ms: at(0.5), p99Ms: at(0.99) });
  }
  return rows;
}
