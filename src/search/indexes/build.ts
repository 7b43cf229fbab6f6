import { existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { KilnError, didYouMean } from '../../core/errors.js';
import type { SearchIndexSpec } from '../../config/index.js';
import type { Project } from '../../store/index.js';
import { quoteIdent as q } from '../../store/index.js';
import { Bm25Index } from '../bm25.js';
import type { SearchDocument } from '../options.js';

/** What `kiln search build` writes beside the BM25 file (`meta.json`). */
export interface SearchIndexMeta {
  format: 'kiln.search-index@1';
  name: string;
  table: string;
  builtAt: string;
  documents: number;
  passages: number;
  vocabulary: number;
  seconds: number;
  /** The spec it was built with (a changed spec needs a rebuild). */
  spec: SearchIndexSpec;
}

/** Per document, in index order: the stored columns (returned with hits) and the filter columns. */
export interface SearchIndexDocs {
  ids: string[];
  stored: Record<string, (string | null)[]>;
  attributes: Record<string, (string | number | boolean | null)[]>;
}

export function searchSpec(project: Project, name: string): SearchIndexSpec {
  const spec = project.config.search[name];
  if (spec) return spec;
  const names = Object.keys(project.config.search);
  const hint = didYouMean(name, names);
  throw new KilnError('SEARCH_INDEX_NOT_FOUND', `no search index '${name}' in ${project.paths.configFile}${hint ? `; did you mean '${hint}'?` : ''} (indexes: ${names.length ? names.join(', ') : 'none; declare one under search: { ... }'})`, { path: ['search', name] });
}

export function searchDir(project: Project, name: string): string {
  return join(project.paths.dataDir, 'search', name);
}

const fieldName = (f: SearchIndexSpec['fields'][number]): string => (typeof f === 'string' ? f : f.name);

/**
 * `kiln search build NAME`: reads the table's id and text columns, builds the BM25F index (and its
 * passages), and replaces the index's folder atomically: queries in flight keep the old one.
 */
export async function buildSearchIndex(project: Project, name: string, opts: { quiet?: boolean } = {}): Promise<SearchIndexMeta> {
  const t0 = performance.now();
  const spec = searchSpec(project, name);
  const store = project.offline;
  const fields = spec.fields.map(fieldName);
  const storedCols = spec.store ?? fields;
  const filterCols = spec.filters ?? [];
  const tables = (await store.all<{ name: string }>(`SELECT table_name AS name FROM information_schema.tables WHERE table_schema = 'main'`)).map((t) => t.name);
  if (!tables.includes(spec.table)) {
    const hint = didYouMean(spec.table, tables);
    throw new KilnError('TABLE_NOT_FOUND', `search index '${name}': table '${spec.table}' is not in the offline store${hint ? `; did you mean '${hint}'?` : ''}`, { path: ['search', name, 'table'] });
  }
  const have = (await store.all<{ column_name: string }>(`DESCRIBE ${q(spec.table)}`)).map((c) => c.column_name);
  for (const c of [spec.id, ...fields, ...storedCols, ...filterCols]) {
    if (have.includes(c)) continue;
    const hint = didYouMean(c, have);
    throw new KilnError('CONFIG_INVALID', `search index '${name}': table '${spec.table}' has no column '${c}'${hint ? `; did you mean '${hint}'?` : ''} (columns: ${have.join(', ')})`, { path: ['search', name] });
  }
  const cols = [...new Set([...fields, ...storedCols, ...filterCols])];
  const reader = await store.con.runAndReadAll(`SELECT ${q(spec.id)}::VARCHAR AS __id, ${cols.map((c) => `${q(c)} AS ${q(c)}`).join(', ')} FROM ${q(spec.table)} WHERE ${q(spec.id)} IS NOT NULL ORDER BY rowid`);
  const data = reader.getColumnsJS() as unknown[][];
  const n = reader.currentRowCount;
  const ids = (data[0] ?? []).map(String);
  const seen = new Set<string>();
  for (const id of ids) {
    if (seen.has(id)) throw new KilnError('SEARCH_DATA_INVALID', `search index '${name}': id '${id}' appears twice in '${spec.table}'.${spec.id}; a search index needs one row per document`, { path: ['search', name, 'id'] });
    seen.add(id);
  }
  const col = (c: string): unknown[] => data[1 + cols.indexOf(c)] ?? [];
  const text = (v: unknown): string | null => (v === null || v === undefined ? null : String(v));
  const docs: SearchDocument[] = ids.map((id, i) => ({ id, fields: Object.fromEntries(fields.map((f) => [f, text(col(f)[i])])) }));
  const index = Bm25Index.build(docs, {
    fields: spec.fields.map((f) => (typeof f === 'string' ? f : { name: f.name, ...(f.weight !== undefined ? { weight: f.weight } : {}), ...(f.b !== undefined ? { b: f.b } : {}) })),
    ...(spec.k1 !== undefined ? { k1: spec.k1 } : {}), ...(spec.b !== undefined ? { b: spec.b } : {}),
    analyzer: { ...(spec.stopWords !== undefined ? { stopWords: spec.stopWords } : {}), ...(spec.stemmer !== undefined ? { stemmer: spec.stemmer } : {}) },
    ...(spec.passages ? { passages: spec.passages } : {}),
    store: fields,
  });
  const scalar = (v: unknown): string | number | boolean | null => (v === null || v === undefined ? null : typeof v === 'bigint' ? Number(v) : typeof v === 'number' || typeof v === 'boolean' || typeof v === 'string' ? v : String(v));
  const out: SearchIndexDocs = {
    ids,
    stored: Object.fromEntries(storedCols.map((c) => [c, col(c).map(text)])),
    attributes: Object.fromEntries(filterCols.map((c) => [c, col(c).map(scalar)])),
  };
  const meta: SearchIndexMeta = {
    format: 'kiln.search-index@1', name, table: spec.table, builtAt: new Date().toISOString(), documents: n, passages: index.passageCount,
    vocabulary: index.vocabularySize, seconds: (performance.now() - t0) / 1000, spec,
  };
  const dir = searchDir(project, name);
  const staged = `${dir}.staged-${process.pid}`;
  rmSync(staged, { recursive: true, force: true });
  mkdirSync(staged, { recursive: true });
  try {
    index.save(join(staged, 'index.bm25'));
    writeFileSync(join(staged, 'docs.json'), JSON.stringify(out));
    writeFileSync(join(staged, 'meta.json'), JSON.stringify(meta, null, 2));
    const old = `${dir}.old-${process.pid}`;
    if (existsSync(dir)) renameSync(dir, old);
    renameSync(staged, dir);
    rmSync(old, { recursive: true, force: true });
  } finally {
    rmSync(staged, { recursive: true, force: true });
  }
  if (!opts.quiet) process.stderr.write(`search ${name}: ${n} documents, ${index.passageCount} passages, ${index.vocabularySize} terms in ${meta.seconds.toFixed(1)}s\n`);
  return meta;
}
