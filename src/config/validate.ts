import type { z } from 'zod';
import { KilnError, didYouMean } from '../core/errors.js';
import { checkParams } from '../gbdt/spec/index.js';
import { ModelSpecSchema } from './model-spec.js';
import { NatsStreamSourceSchema, RedisStreamSourceSchema, StreamSpecSchema } from './stream-spec.js';
import { KilnConfigSchema, OnlineSpecSchema, ServeSpecSchema, TableSpecSchema, type KilnConfig } from './schema.js';

type Issue = z.core.$ZodIssue;

const KNOWN_KEYS: { match: (path: PropertyKey[]) => boolean; keys: string[] }[] = [
  { match: (p) => p.length === 0, keys: Object.keys(KilnConfigSchema.shape) },
  { match: (p) => p.length === 2 && p[0] === 'tables', keys: Object.keys(TableSpecSchema.shape) },
  { match: (p) => p.length === 4 && p[0] === 'tables' && p[2] === 'columns', keys: ['type', 'required', 'nullable', 'description', 'format'] },
  { match: (p) => p.length === 2 && p[0] === 'models', keys: Object.keys(ModelSpecSchema.shape) },
  { match: (p) => p.length === 1 && p[0] === 'online', keys: Object.keys(OnlineSpecSchema.shape) },
  { match: (p) => p.length === 1 && p[0] === 'metadata', keys: ['url', 'schema'] },
  { match: (p) => p.length === 1 && p[0] === 'serve', keys: Object.keys(ServeSpecSchema.shape) },
  { match: (p) => p.length === 2 && p[0] === 'search', keys: ['description', 'table', 'id', 'fields', 'store', 'filters', 'k1', 'b', 'stopWords', 'stemmer', 'passages', 'vector', 'hybrid'] },
  { match: (p) => p.length === 2 && p[0] === 'recommenders', keys: ['description', 'interactions', 'impressions', 'rankerRows', 'items', 'users', 'generators', 'candidates', 'perGenerator', 'validation', 'ranker', 'earlyStoppingShare', 'base', 'diversity', 'timeWindow', 'seed'] },
  { match: (p) => p.length === 2 && p[0] === 'streams', keys: Object.keys(StreamSpecSchema.shape) },
  { match: (p) => p.length === 3 && p[0] === 'streams' && p[2] === 'redis', keys: Object.keys(RedisStreamSourceSchema.shape) },
  { match: (p) => p.length === 3 && p[0] === 'streams' && p[2] === 'nats', keys: Object.keys(NatsStreamSourceSchema.shape) },
  { match: (p) => p.length === 3 && p[0] === 'streams' && p[2] === 'batch', keys: ['maxEvents', 'maxMs'] },
  { match: (p) => p.length === 2 && p[0] === 'embeddings', keys: ['description', 'entity', 'source', 'trainer', 'dim', 'params', 'minCount', 'metric', 'index', 'attributes', 'align', 'seed'] },
];

/** Validates a raw config object; every problem is reported at once, each with its field path. */
export function validateConfig(raw: unknown, source: string): KilnConfig {
  const parsed = KilnConfigSchema.safeParse(raw);
  const problems: string[] = [];
  if (!parsed.success) {
    for (const issue of parsed.error.issues) problems.push(describeIssue(issue, [], raw));
  } else {
    problems.push(...crossCheck(parsed.data));
  }
  if (problems.length) {
    throw new KilnError(
      'CONFIG_INVALID',
      `${source} is not a valid kiln config (${problems.length} problem${problems.length > 1 ? 's' : ''}):\n${problems.map((p) => `  - ${p}`).join('\n')}`,
      { details: problems },
    );
  }
  return (parsed as { data: KilnConfig }).data;
}

function crossCheck(cfg: KilnConfig): string[] {
  const out: string[] = [];
  for (const [name, t] of Object.entries(cfg.tables)) {
    if (!t.columns) continue;
    const cols = Object.keys(t.columns);
    for (const field of ['timestamp', 'key'] as const) {
      const col = t[field];
      if (col !== undefined && !cols.includes(col)) {
        const hint = didYouMean(col, cols);
        out.push(`tables.${name}.${field}: column '${col}' is not among the declared columns (${cols.join(', ')})${hint ? `; did you mean '${hint}'?` : ''}`);
      }
    }
    const ts = t.timestamp !== undefined ? t.columns[t.timestamp] : undefined;
    const tsType = typeof ts === 'string' ? ts : ts?.type;
    if (tsType !== undefined && tsType !== 'timestamp') {
      out.push(`tables.${name}.columns.${t.timestamp}: the timestamp column must have type 'timestamp', not '${tsType}'`);
    }
  }
  for (const [name, s] of Object.entries(cfg.streams ?? {})) {
    if (s.redis && s.nats) out.push(`streams.${name}: declares both redis and nats; a stream reads exactly one source: keep one of them`);
    else if (!s.redis && !s.nats) out.push(`streams.${name}: declares no source; add redis: { stream: '...' } (a Redis stream) or nats: { stream: '...' } (a NATS JetStream stream)`);
    else if (s.nats && s.claimIdleMs !== undefined) out.push(`streams.${name}.claimIdleMs: applies to Redis streams only; for NATS set nats.ackWaitMs (how long a delivered, unacked message waits before it is delivered again)`);
  }
  const spaces = Object.keys(cfg.embeddings);
  for (const [name, s] of Object.entries(cfg.search)) {
    if (s.vector && !cfg.embeddings[s.vector.space]) {
      const hint = didYouMean(s.vector.space, spaces);
      out.push(`search.${name}.vector.space: no embedding space '${s.vector.space}'${hint ? `; did you mean '${hint}'?` : ''} (spaces: ${spaces.length ? spaces.join(', ') : 'none'})`);
    }
  }
  for (const [name, r] of Object.entries(cfg.recommenders)) {
    const gens = r.generators.map((g) => g.name ?? g.kind);
    const dup = gens.find((g, i) => gens.indexOf(g) !== i);
    if (dup) out.push(`recommenders.${name}.generators: two generators are named '${dup}'; give one a name`);
    if (r.impressions && !r.interactions.time) out.push(`recommenders.${name}.impressions: impressions need interactions.time too (the ranker's generators are fitted on what came before the first impression)`);
    if (r.rankerRows && r.rankerRows !== 'held-out' && !r.impressions) out.push(`recommenders.${name}.rankerRows: '${r.rankerRows}' needs an impressions table`);
    if (r.users?.maxAgeSeconds !== undefined) out.push(`recommenders.${name}.users.maxAgeSeconds: only items' values are reused between requests (a user's are read at each request); remove it`);
    if (r.items?.maxAgeSeconds !== undefined && r.items.features === undefined) out.push(`recommenders.${name}.items.maxAgeSeconds: applies to items.features, which is not declared`);
    if (r.base && !gens.includes(r.base.generator)) out.push(`recommenders.${name}.base.generator: '${r.base.generator}' is not one of the generators (${gens.join(', ')})`);
    if (r.diversity && !r.items?.categorical.includes(r.diversity.column)) {
      out.push(`recommenders.${name}.diversity.column: '${r.diversity.column}' is not among items.categorical (${r.items?.categorical.join(', ') || 'none declared'})`);
    }
  }
  for (const [name, m] of Object.entries(cfg.models)) {
    m.embeddings.forEach((e, i) => {
      if (cfg.embeddings[e.space]) return;
      const hint = didYouMean(e.space, spaces);
      out.push(`models.${name}.embeddings.${i}.space: no embedding space '${e.space}'${hint ? `; did you mean '${hint}'?` : ''} (spaces: ${spaces.length ? spaces.join(', ') : "none; declare one under embeddings: { ... }"})`);
    });
    const prefixes = m.embeddings.map((e) => e.prefix ?? e.space);
    const dup = prefixes.find((p, i) => prefixes.indexOf(p) !== i);
    if (dup) out.push(`models.${name}.embeddings: two entries would both name their columns '${dup}_*'; give one a prefix`);
  }
  for (const [name, m] of Object.entries(cfg.models)) {
    // Each parameter against the GBDT's own table (names, types, ranges), now rather than at `kiln train`.
    // Rules between parameters wait for training, where the pipeline's defaults are merged in.
    for (const issue of checkParams(m.params).issues) out.push(`models.${name}.params.${issue.param}: ${issue.message}`);
    if (!('testFrom' in m.split)) continue;
    const { trainFrom, validFrom, testFrom, testTo } = m.split;
    const order: [string, string | undefined][] = [['trainFrom', trainFrom], ['validFrom', validFrom], ['testFrom', testFrom], ['testTo', testTo]];
    const given = order.filter((o): o is [string, string] => o[1] !== undefined);
    for (let i = 1; i < given.length; i++) {
      const [a, av] = given[i - 1]!;
      const [b, bv] = given[i]!;
      if (!(av < bv)) out.push(`models.${name}.split: ${a} (${av}) must be before ${b} (${bv}); the train, validation and test windows must be in this order, non-empty and not overlapping`);
    }
  }
  return out;
}

function pathText(path: PropertyKey[]): string {
  return path.length ? path.map(String).join('.') : '(top level)';
}

function valueAt(root: unknown, path: PropertyKey[]): unknown {
  let v: unknown = root;
  for (const k of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<PropertyKey, unknown>)[k];
  }
  return v;
}

function show(v: unknown): string {
  if (v === undefined) return 'nothing';
  const s = JSON.stringify(v);
  return s === undefined ? String(v) : s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

function describeIssue(issue: Issue, prefix: PropertyKey[], root: unknown): string {
  const path = [...prefix, ...issue.path];
  const where = pathText(path);
  const got = valueAt(root, path);
  switch (issue.code) {
    case 'unrecognized_keys': {
      const known = KNOWN_KEYS.find((k) => k.match(path))?.keys ?? [];
      return issue.keys
        .map((key) => {
          const hint = didYouMean(key, known);
          return `${path.length ? `${where}.` : ''}${key}: unknown field${hint ? `; did you mean '${hint}'?` : ''}${known.length ? ` (allowed: ${known.join(', ')})` : ''}`;
        })
        .join('\n  - ');
    }
    case 'invalid_union': {
      // Prefer the branch that got furthest into the value; at the same depth list what each accepts.
      const branches = issue.errors.filter((b) => b.length > 0);
      const deepest = Math.max(...branches.map((b) => b[0]!.path.length));
      if (deepest > 0) {
        const best = branches.find((b) => b[0]!.path.length === deepest)!;
        return best.map((i) => describeIssue(i, path, root)).join('\n  - ');
      }
      const expected = branches.map((b) => expectation(b[0]!)).join(', or ');
      return `${where}: expected ${expected}; got ${show(got)}`;
    }
    case 'invalid_key':
      return `${where}: the name ${JSON.stringify(String(path[path.length - 1]))} is not allowed: ${issue.issues.map((i) => i.message).join('; ')}`;
    case 'invalid_type':
      if (got === undefined) return `${where}: required field is missing (expected ${issue.expected})`;
      return `${where}: expected ${issue.expected}; got ${show(got)}`;
    case 'invalid_value':
      return `${where}: expected one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}; got ${show(got)}`;
    default:
      return `${where}: ${issue.message}; got ${show(got)}`;
  }
}

function expectation(issue: Issue): string {
  if (issue.code === 'invalid_value') return `one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
  if (issue.code === 'invalid_type') return `${issue.expected === 'object' ? 'an object' : issue.expected}`;
  return issue.message;
}
