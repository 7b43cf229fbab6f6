import { z } from 'zod';

const Ident = z.string().min(1, 'expected a column name');

/**
 * A search index over a table's text columns (docs/search.md): BM25F over `fields` (with weights), an
 * optional vector side from a text embedding space over the same ids, and hybrid fusion. `kiln search
 * build NAME` builds it; `kiln search query`, `kiln search eval` and `POST /v1/search/:index` read it.
 */
export const SearchIndexSpecSchema = z.strictObject({
  description: z.string().optional(),
  table: Ident,
  /** The document id column. */
  id: Ident,
  /** Text columns searched, each with a weight (default 1) and its own length normalisation b (default the index's). */
  fields: z.array(z.union([Ident, z.strictObject({ name: Ident, weight: z.number().positive().optional(), b: z.number().min(0).max(1).optional() })])).min(1, 'expected at least one text column'),
  /** Columns returned with each hit (e.g. title, url); default the text fields. */
  store: z.array(Ident).optional(),
  /** Columns a query may filter on ({ filters: { category: 'x' } }). */
  filters: z.array(Ident).optional(),
  /** BM25 saturation (default 1.2) and length normalisation (default 0.75). */
  k1: z.number().positive().max(10).optional(),
  b: z.number().min(0).max(1).optional(),
  stopWords: z.union([z.enum(['english', 'lucene', 'none']), z.array(z.string())]).optional(),
  stemmer: z.enum(['porter', 'none']).optional(),
  /** Documents cut into passages of `length` tokens (`overlap` shared) at build, for retrieval-augmented generation. */
  passages: z.strictObject({ length: z.number().int().min(8).max(4096), overlap: z.number().int().min(0).optional() }).optional(),
  /**
   * The vector side: a text embedding space (trainer text-lsa or text-onnx) whose ids are this index's
   * ids; queries are encoded with that version's encoder. `ref` picks the version (default the space's
   * alias 'current', else its newest).
   */
  vector: z.strictObject({ space: z.string().min(1), ref: z.string().min(1).optional() }).optional(),
  /** How a hybrid query fuses the two lists: reciprocal rank fusion (k 60), or a blend of normalised scores with these weights. */
  hybrid: z.union([z.literal('rrf'), z.strictObject({ lexical: z.number().min(0), vector: z.number().min(0) })]).default('rrf'),
});
export type SearchIndexSpecInput = z.input<typeof SearchIndexSpecSchema>;
export type SearchIndexSpec = z.output<typeof SearchIndexSpecSchema>;
