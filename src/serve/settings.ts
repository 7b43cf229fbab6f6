/**
 * The settings `kiln serve` runs with, weighed as the online store's are: a CLI flag, then the
 * environment ($KILN_SERVE_PORT, $KILN_SERVE_HOST, $KILN_SERVE_MODELS, $KILN_SERVE_EMBEDDINGS, $KILN_DECISION_DURABILITY,
 * $KILN_API_KEYS), then the config's `serve` section, then the default. An empty variable counts as unset.
 * API keys add up: the config's (hashed) and the environment's (plaintext, hashed here).
 * A pure function of its inputs, so each source can be tested alone.
 */
import { KilnError } from '../core/errors.js';
import type { Project } from '../store/index.js';
import { parseEnvApiKeys, type ApiKeyEntry } from './auth.js';
import type { Durability, TrafficSpec } from './types.js';

export interface ServeSettings {
  readonly port: number;
  readonly host: string;
  /** References to serve ('credit@champion'). */
  readonly models: readonly string[];
  /**
   * Embedding space references to serve ('merchants@current'); null: the default, every space the config
   * declares that has a trained version (resolved when the set opens: `defaultEmbeddingRefs`).
   */
  readonly embeddings: readonly string[] | null;
  readonly durability: Durability;
  readonly flushMs: number;
  /** Largest request body in bytes. */
  readonly bodyLimit: number;
  /** Most rows per request. */
  readonly maxBatch: number;
  readonly pollMs: number;
  /** TreeSHAP of each served GBDT version on a worker thread of its own (else on the event loop). */
  readonly shapThread: boolean;
  readonly apiKeys: readonly ApiKeyEntry[];
  readonly traffic: Readonly<Record<string, TrafficSpec>>;
}

/** What the command line gives (undefined: not given). */
export interface ServeFlags {
  readonly port?: number | string | undefined;
  readonly host?: string | undefined;
  /** Comma-separated references, or a list. */
  readonly models?: string | readonly string[] | undefined;
  /** Comma-separated embedding space references, or a list; 'none' serves none. */
  readonly embeddings?: string | readonly string[] | undefined;
  readonly durability?: string | undefined;
  /** false: TreeSHAP on the event loop (`--no-shap-thread`). */
  readonly shapThread?: boolean | undefined;
}

export const SERVE_DEFAULTS = {
  port: 8080, host: '127.0.0.1', durability: 'durable', flushMs: 50, bodyLimit: 1 << 20, maxBatch: 1000, pollMs: 5000, shapThread: true,
} as const;

const set = (v: string | undefined): string | undefined => (v === undefined || v === '' ? undefined : v);

function port(v: number | string, where: string): number {
  const n = typeof v === 'number' ? v : Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65535 || (typeof v === 'string' && !/^\d+$/.test(v.trim()))) {
    throw new KilnError('USAGE', `${where} must be a port number 0..65535; got ${JSON.stringify(v)}`);
  }
  return n;
}

function refs(v: string | readonly string[], where: string): string[] {
  const list = (typeof v === 'string' ? v.split(',') : [...v]).map((s) => s.trim()).filter(Boolean);
  const bad = list.find((r) => !/^[A-Za-z][A-Za-z0-9_.-]*(@[A-Za-z0-9_.-]+)?$/.test(r));
  if (bad !== undefined) throw new KilnError('USAGE', `${where}: '${bad}' is not a model reference; write NAME@ALIAS or NAME@VERSION, e.g. credit@champion`);
  return list;
}

/** Embedding space references; 'none' (alone) is the empty list. */
function spaceRefs(v: string | readonly string[], where: string): string[] {
  const list = (typeof v === 'string' ? v.split(',') : [...v]).map((s) => s.trim()).filter(Boolean);
  if (list.length === 1 && list[0] === 'none') return [];
  const bad = list.find((r) => !/^[A-Za-z][A-Za-z0-9_]*(@[A-Za-z0-9_-]+)?$/.test(r));
  if (bad !== undefined) throw new KilnError('USAGE', `${where}: '${bad}' is not an embedding space reference; write SPACE@ALIAS or SPACE@VERSION, e.g. merchants@current (or 'none')`);
  return list;
}

function durability(v: string, where: string): Durability {
  if (v !== 'durable' && v !== 'buffered') throw new KilnError('USAGE', `${where} must be 'durable' or 'buffered'; got '${v}'`);
  return v;
}

/**
 * The settings, flag > env > config > default.
 * @example const s = serveSettings(project, { port: '9000' }, process.env);
 */
export function serveSettings(project: Project, flags: ServeFlags = {}, env: NodeJS.ProcessEnv = process.env): ServeSettings {
  const cfg = project.config.serve ?? {};
  const envPort = set(env.KILN_SERVE_PORT);
  const envModels = set(env.KILN_SERVE_MODELS);
  const envDur = set(env.KILN_DECISION_DURABILITY);
  const envKeys = set(env.KILN_API_KEYS);
  const envEmbeddings = set(env.KILN_SERVE_EMBEDDINGS);
  const models = flags.models !== undefined ? refs(flags.models, '--models')
    : envModels !== undefined ? refs(envModels, 'KILN_SERVE_MODELS')
      : [...(cfg.models ?? [])];
  const embeddings = flags.embeddings !== undefined ? spaceRefs(flags.embeddings, '--embeddings')
    : envEmbeddings !== undefined ? spaceRefs(envEmbeddings, 'KILN_SERVE_EMBEDDINGS')
      : cfg.embeddings !== undefined ? [...cfg.embeddings] : null;
  const traffic: Record<string, TrafficSpec> = {};
  for (const [name, t] of Object.entries(cfg.traffic ?? {})) {
    traffic[name] = t.share === undefined ? { challenger: t.challenger, mode: t.mode } : { challenger: t.challenger, mode: t.mode, share: t.share };
  }
  return {
    port: flags.port !== undefined ? port(flags.port, '--port') : envPort !== undefined ? port(envPort, 'KILN_SERVE_PORT') : cfg.port ?? SERVE_DEFAULTS.port,
    host: flags.host ?? set(env.KILN_SERVE_HOST) ?? cfg.host ?? SERVE_DEFAULTS.host,
    models,
    embeddings,
    durability: flags.durability !== undefined ? durability(flags.durability, '--durability')
      : envDur !== undefined ? durability(envDur, 'KILN_DECISION_DURABILITY') : cfg.durability ?? SERVE_DEFAULTS.durability,
    flushMs: cfg.flushMs ?? SERVE_DEFAULTS.flushMs,
    bodyLimit: cfg.bodyLimit ?? SERVE_DEFAULTS.bodyLimit,
    maxBatch: cfg.maxBatch ?? SERVE_DEFAULTS.maxBatch,
    pollMs: cfg.pollMs ?? SERVE_DEFAULTS.pollMs,
    shapThread: flags.shapThread ?? cfg.shapThread ?? SERVE_DEFAULTS.shapThread,
    apiKeys: [...(cfg.apiKeys ?? []), ...(envKeys !== undefined ? parseEnvApiKeys(envKeys) : [])],
    traffic,
  };
}
